using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>What a descriptor number names right now.</summary>
internal enum DescriptorKind { NotOpen, NotProcdesc, Procdesc }

/// <summary>
/// Answers "which child does this descriptor number name now?" from the kernel, never from memory:
/// the tier's <see cref="PidfdIdentity"/> (one fstat on pidfs kernels) gives the key that identifies
/// the process whatever number it sits under (dup copies, pidfd_open copies, numbers reused after a
/// close behind the library's back).
/// </summary>
internal sealed class ChildTable
{
    // Both tables under one lock, held only for lookups and updates (never across a system call):
    // compact tables (8 bytes a slot) instead of ConcurrentDictionary nodes (40-48 bytes a child).
    private readonly Lock _gate = new();
    private readonly RecordsByKey _byKey = new();
    // The record each number was last seen naming: when a number turns out to name something else,
    // the old child may have lost its last descriptor behind the library's back.
    private readonly RecordsByNumber _lastSeenByFd = new();
    private readonly ReleaseCandidates _candidates;

    /// <param name="identity">How this kernel tells processes apart.</param>
    /// <param name="own">The library's own descriptors.</param>
    /// <param name="candidates">Where children that may have lost their last copy are queued.</param>
    internal ChildTable(PidfdIdentity identity, OwnDescriptors own, ReleaseCandidates candidates)
    {
        Identity = identity;
        Own = own;
        _candidates = candidates;
    }

    /// <summary>How this kernel tells processes apart behind descriptor numbers.</summary>
    internal PidfdIdentity Identity { get; }

    /// <summary>The library's own descriptors: never the caller's to use or close.</summary>
    internal OwnDescriptors Own { get; }

    /// <summary>Classifies a number without adopting anything; the key is set for a procdesc (0 when
    /// the tier cannot tell which process). The library's own descriptors count as not open: they
    /// are not the caller's.</summary>
    internal DescriptorKind Classify(int fd, out ulong key, out int errno)
    {
        key = 0;
        errno = 0;
        if (fd < 0)
        {
            errno = (int)Errno.EBADF;
            return DescriptorKind.NotOpen;
        }
        DescriptorKind kind = Identity.KeyOf(fd, out key, out errno);
        if (kind != DescriptorKind.NotOpen && Own.IsOwn(fd))
        {
            errno = (int)Errno.EBADF;
            return DescriptorKind.NotOpen;
        }
        return kind;
    }

    /// <summary>
    /// The record of the process the number names now (adopting a pidfd the library did not make).
    /// The caller's thread then acts on the number itself: if another thread of the caller's
    /// closes and reuses it meanwhile, the call reaches what the number names when it runs — as a
    /// FreeBSD system call would.
    /// </summary>
    internal DescriptorKind Resolve(int fd, out ChildRecord record, out int errno)
    {
        record = null!;
        DescriptorKind kind = Classify(fd, out ulong key, out errno);
        if (kind != DescriptorKind.Procdesc)
        {
            NoteNumberNames(fd, null);
            if (errno == 0)
                errno = (int)Errno.EBADF; // not a procdesc: EBADF for every call but pdwait (EINVAL)
            return kind;
        }
        if (key == 0 && Identity.ReapsAtLastClose && LastSeen(fd) is { } before
            && before.CreatedHere && !before.ZombieKept && IsGone(before))
        {
            // Owner tags: the file's process is reaped and its tag went with it. The number was the
            // child's and the child is gone (a foreign waiter took it, §10 L1): the number still
            // names it, as far as anyone can tell — what FreeBSD would answer for it is its own.
            record = before;
            return DescriptorKind.Procdesc;
        }
        if (key == 0 || !TryGet(key, out ChildRecord? found))
        {
            // Not made here (or not tagged): learn what the kernel still knows of it, through the
            // caller's number, and file it under its key if the tier can give it one.
            ProcessFacts facts = ProcessFacts.Read(fd);
            if (key == 0)
                key = facts.Pid > 0 ? AdoptUntagged(fd, facts.Pid) : 0;
            if (key != 0 && TryGet(key, out found))
            {
                // A pidfd_open copy of a child this table knows.
            }
            else
            {
                found = new ChildRecord(key, Identity.KeysNeverReused, facts.Pid, createdHere: false, daemon: true, facts.StartTimeUnixNs);
                if (key != 0)
                {
                    lock (_gate)
                        found = _byKey.GetOrAdd(found);
                }
            }
        }
        record = found!;
        NoteNumberNames(fd, record);
        return DescriptorKind.Procdesc;
    }

    /// <summary>Registers a child pdfork made under the number <paramref name="fd"/>.</summary>
    internal void Register(ChildRecord record, int fd)
    {
        // Another thread may have looked at the new number first and adopted it as a foreign
        // pidfd: the library's own record wins.
        lock (_gate)
            _byKey.Set(record);
        NoteNumberNames(fd, record);
    }

    /// <summary>The number was closed through the library: the process it named, and the one it
    /// was last seen naming if that differs, may have lost their last copy.</summary>
    internal void NoteClosed(int fd, ChildRecord? record)
    {
        ChildRecord? before;
        lock (_gate)
            before = _lastSeenByFd.Remove(fd);
        if (before is not null && !ReferenceEquals(before, record))
            _candidates.Add(before);
        if (record is not null)
        {
            if (record.KnownNumber == fd)
                record.KnownNumber = -1;
            _candidates.Add(record);
        }
    }

    /// <summary>Removes a record that has no descriptor left and needs no reaping.</summary>
    internal void Forget(ChildRecord record)
    {
        lock (_gate)
            _byKey.Remove(record);
    }

    internal bool TryGet(ulong key, out ChildRecord? record)
    {
        lock (_gate)
            return _byKey.TryGet(key, out record);
    }

    /// <summary>The record <paramref name="fd"/> was last seen naming, or null.</summary>
    private ChildRecord? LastSeen(int fd)
    {
        lock (_gate)
            return _lastSeenByFd.Get(fd);
    }

    /// <summary>Records in the table (tests count them to see that none outlives its child).</summary>
    internal int Count
    {
        get
        {
            lock (_gate)
                return _byKey.Count;
        }
    }

    /// <summary>What the table knows of the child with <paramref name="pid"/> (a diagnostic for tests' messages).</summary>
    internal string Diagnose(int pid) => string.Join("; ", Records().Where(r => r.Pid == pid).Select(r =>
        $"record key {r.Key} reaped {r.Reaped} zombie kept {r.ZombieKept} released {r.Released} killed {r.Killed} held {r.Held} in flight {r.InFlight} release when idle {r.ReleaseWhenIdle} known number {r.KnownNumber}"))
        ;

    /// <summary>After the library found its own descriptors swept: every number it remembers is
    /// checked, and a child whose number no longer names it may have lost its last copy.</summary>
    internal void AuditNumbers()
    {
        List<(int Fd, ChildRecord Record)> seen;
        lock (_gate)
            seen = _lastSeenByFd.Snapshot();
        foreach ((int fd, ChildRecord record) in seen)
        {
            bool stillNames = Classify(fd, out ulong key, out _) == DescriptorKind.Procdesc && key == record.Key;
            bool removed;
            lock (_gate)
                removed = !stillNames && _lastSeenByFd.Remove(fd, record);
            if (removed)
                _candidates.Add(record);
        }
    }

    private List<ChildRecord> Records()
    {
        lock (_gate)
            return _byKey.Snapshot();
    }

    /// <summary>
    /// A pidfd the tier could not key (owner tags: one the library did not make). Its pid names a
    /// child this table knows only if that child is not reaped (the zombie holds the pid): then the
    /// file is tagged like the child's own. Otherwise it is filed under its pid as a foreign pidfd.
    /// </summary>
    private ulong AdoptUntagged(int fd, int pid) => Identity.Adopt(fd, pid);

    private void NoteNumberNames(int fd, ChildRecord? now)
    {
        if (fd < 0)
            return;
        if (now is not null)
            now.KnownNumber = fd;
        ChildRecord? before;
        lock (_gate)
        {
            before = _lastSeenByFd.Get(fd);
            if (ReferenceEquals(before, now))
                return;
            // Before non-null: the number was closed behind the library's back (close, dup2 over it) and reused.
            if (now is null)
                _lastSeenByFd.Remove(fd);
            else
                _lastSeenByFd.Set(fd, now);
        }
        if (before is not null)
            _candidates.Add(before);
    }

    /// <summary>
    /// A fresh pidfd_open of the record's cached pid: is it the record's process? With pidfs its
    /// inode says. With owner tags nothing in the file says, but the pid cannot belong to another
    /// process while the record's child is not reaped (the zombie holds it), which the library
    /// knows unless a foreign waiter took it (§10 L1): it must still be this process's child, the
    /// table's record for that pid, and have started when the record's child did.
    /// </summary>
    internal bool IsProcessOf(int fresh, ChildRecord record)
    {
        if (!Identity.ReapsAtLastClose)
            return Identity.KeyOf(fresh, out ulong key, out _) == DescriptorKind.Procdesc && key == record.Key;
        if (!record.CreatedHere || !TryGet(record.Key, out ChildRecord? current) || !ReferenceEquals(current, record))
            return false;
        unsafe
        {
            LinuxSiginfo info;
            const int Any = WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT;
            if (record.Parent is { } parent ? parent.Waitid(record.Pid, Any, out info, out _, out _) != 0
                : waitid(P_PIDFD, fresh, &info, Any | __WALL, null) != 0)
                return false; // not this process's (or the helper's) child: the pid was reaped elsewhere and reused
        }
        long started = ProcessFacts.Read(fresh).StartTimeUnixNs;
        if (started != 0 && Math.Abs(started - record.StartTimeUnixNs) > 2_000_000_000)
            return false; // a younger process that has the pid now
        return Identity.Adopt(fresh, record.Pid) == record.Key;
    }

    /// <summary>True when the record's process is gone for good: no pidfd_open of its pid gives it back.</summary>
    internal bool IsGone(ChildRecord record)
    {
        if (record.Pid <= 0)
            return true;
        int opened = pidfd_open(record.Pid, 0);
        if (opened < 0)
            return Marshal.GetLastPInvokeError() is (int)Errno.ESRCH or (int)Errno.EINVAL;
        bool same = IsProcessOf(opened, record);
        Libc.CloseKeepingErrno(opened);
        return !same;
    }
}
