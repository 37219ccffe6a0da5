using System.Collections.Concurrent;
using Mono.Unix.Native;
using Procdesc.Numbering;

namespace Procdesc.Backends;

/// <summary>
/// The one kept-status store and waiter set of both backends. Every object-layer wait on any copy
/// of a child's descriptor gets the status the library reaped it with, however it was reaped (a
/// C-shaped pdwait4, an object-layer wait, the background); pending <see cref="ExitWatcher"/>s
/// are completed the moment the status is kept. Keys are the backend's (Linux: the child record's
/// id, never reused; FreeBSD: the pid, replaced when pdfork hands it out again).
/// </summary>
/// <remarks>
/// An entry lives only while a descriptor may still ask for it: the backend evicts it when the
/// child's last descriptor is gone (<see cref="Evict"/>, or <see cref="EvictAllBut"/> after a
/// census of the open descriptors). Entries are made lazily: a live child nobody waits for
/// asynchronously has none, unless the backend must remember its PD_DAEMON flag (FreeBSD).
/// </remarks>
internal sealed class KeptExits
{
    private sealed class Entry
    {
        internal bool HasStatus, Daemon;
        internal ExitStatus Status;
        internal List<ExitWatcher>? Watchers;
        internal bool Evicted;
    }

    private readonly ConcurrentDictionary<ulong, Entry> _entries = new();

    /// <summary>Entries held now (children with a kept status, a pending watcher or a noted flag).</summary>
    internal int Count => _entries.Count;

    /// <summary>A new child under <paramref name="key"/>; an older entry under it (a reused pid) goes.</summary>
    internal void Created(ulong key, bool daemon)
    {
        if (_entries.TryRemove(key, out Entry? old))
            Close(old);
        _entries[key] = new Entry { Daemon = daemon };
    }

    /// <summary>Whether the child was noted as made with PD_DAEMON (<see cref="Created"/>).</summary>
    internal bool IsDaemon(ulong key) => _entries.TryGetValue(key, out Entry? e) && e.Daemon;

    /// <summary>The library reaped the child with <paramref name="status"/>: kept for every later
    /// waiter; pending watchers are completed now.</summary>
    internal void Keep(ulong key, in ExitStatus status)
    {
        while (true)
        {
            Entry entry = _entries.GetOrAdd(key, static _ => new Entry());
            List<ExitWatcher>? watchers;
            lock (entry)
            {
                if (entry.Evicted)
                    continue; // evicted meanwhile: a fresh entry
                entry.HasStatus = true;
                entry.Status = status;
                watchers = entry.Watchers;
                entry.Watchers = null;
            }
            if (watchers is not null)
                foreach (ExitWatcher watcher in watchers)
                    watcher.Exited(status);
            return;
        }
    }

    /// <summary>The kept status of the child, if the library reaped it.</summary>
    internal bool TryGet(ulong key, out ExitStatus status)
    {
        status = default;
        if (!_entries.TryGetValue(key, out Entry? entry))
            return false;
        lock (entry)
        {
            status = entry.Status;
            return entry.HasStatus;
        }
    }

    /// <summary>
    /// Adds a watcher for the child's exit. False when the status is kept already: then the
    /// watcher has been completed with it here, on the calling thread.
    /// </summary>
    internal bool Watch(ulong key, ExitWatcher watcher)
    {
        while (true)
        {
            Entry entry = _entries.GetOrAdd(key, static _ => new Entry());
            lock (entry)
            {
                if (entry.Evicted)
                    continue;
                if (!entry.HasStatus)
                {
                    watcher.HeldBy(this, key);
                    (entry.Watchers ??= []).Add(watcher);
                    return true;
                }
            }
            watcher.Exited(entry.Status);
            return false;
        }
    }

    /// <summary>Whether a watcher waits for the child.</summary>
    internal bool HasWatchers(ulong key)
    {
        if (!_entries.TryGetValue(key, out Entry? entry))
            return false;
        lock (entry)
            return entry.Watchers is { Count: > 0 };
    }

    /// <summary>The child is gone and no status will be kept (reaped elsewhere with none left):
    /// pending watchers fail with <paramref name="nativeErrno"/>; a kept status is left as it is.</summary>
    internal void FailWatchers(ulong key, int nativeErrno)
    {
        if (!_entries.TryGetValue(key, out Entry? entry))
            return;
        List<ExitWatcher>? watchers;
        lock (entry)
        {
            watchers = entry.Watchers;
            entry.Watchers = null;
        }
        Fail(watchers, nativeErrno);
    }

    /// <summary>The child's last descriptor is gone: its entry goes; a watcher still pending fails
    /// with ECHILD (nobody is left to take the status for it).</summary>
    internal void Evict(ulong key)
    {
        if (_entries.TryRemove(key, out Entry? entry))
            Close(entry);
    }

    /// <summary>Evicts every entry whose key is not in <paramref name="present"/> (a census of the
    /// children that still have a descriptor); returns how many are left.</summary>
    internal int EvictAllBut(IReadOnlySet<ulong> present)
    {
        foreach (ulong key in _entries.Keys)
            if (!present.Contains(key))
                Evict(key);
        return _entries.Count;
    }

    /// <summary>Removes a watcher that was withdrawn (<see cref="ExitWatcher.Withdraw"/>).</summary>
    internal void Unwatch(ulong key, ExitWatcher watcher)
    {
        if (_entries.TryGetValue(key, out Entry? entry))
            lock (entry)
                entry.Watchers?.Remove(watcher);
    }

    private static void Close(Entry entry)
    {
        List<ExitWatcher>? watchers;
        lock (entry)
        {
            entry.Evicted = true;
            watchers = entry.Watchers;
            entry.Watchers = null;
        }
        Fail(watchers, HostNumbering.Current.ErrnoToNative(Errno.ECHILD));
    }

    private static void Fail(List<ExitWatcher>? watchers, int nativeErrno)
    {
        if (watchers is null)
            return;
        foreach (ExitWatcher watcher in watchers)
            watcher.Failed(nativeErrno);
    }
}
