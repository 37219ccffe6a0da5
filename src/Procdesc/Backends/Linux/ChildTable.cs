using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;

namespace Procdesc.Backends.Linux;

/// <summary>What a descriptor number names right now.</summary>
internal enum DescriptorKind { NotOpen, NotProcdesc, Procdesc }

/// <summary>
/// Answers "which child does this descriptor number name now?" from the kernel, never from memory:
/// one fstat gives the pidfs inode, which identifies the process whatever number it sits under
/// (dup copies, pidfd_open copies, numbers reused after a close behind the library's back).
/// </summary>
internal sealed class ChildTable
{
    private readonly ConcurrentDictionary<ulong, ChildRecord> _byInode = new();
    // The record each number was last seen naming: when a number turns out to name something else,
    // the old child may have lost its last descriptor behind the library's back.
    private readonly ConcurrentDictionary<int, ChildRecord> _lastSeenByFd = new();
    private readonly ReleaseCandidates _candidates;

    internal ChildTable(ulong pidfsDevice, OwnDescriptors own, ReleaseCandidates candidates)
    {
        PidfsDevice = pidfsDevice;
        Own = own;
        _candidates = candidates;
    }

    /// <summary>st_dev of every pidfd (pidfs, Linux 6.9+).</summary>
    internal ulong PidfsDevice { get; }

    /// <summary>The library's own descriptors: never the caller's to use or close.</summary>
    internal OwnDescriptors Own { get; }

    /// <summary>Classifies a number without adopting anything; the inode is set for a procdesc.
    /// The library's own descriptors count as not open: they are not the caller's.</summary>
    internal DescriptorKind Classify(int fd, out ulong inode, out int errno)
    {
        inode = 0;
        errno = 0;
        if (fd < 0 || !LinuxStat.TryIdentity(fd, out FileIdentity id))
        {
            errno = fd < 0 ? (int)Errno.EBADF : Marshal.GetLastPInvokeError();
            return DescriptorKind.NotOpen;
        }
        if (Own.IsOwn(fd, id))
        {
            errno = (int)Errno.EBADF;
            return DescriptorKind.NotOpen;
        }
        inode = id.Inode;
        return id.Device == PidfsDevice ? DescriptorKind.Procdesc : DescriptorKind.NotProcdesc;
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
        DescriptorKind kind = Classify(fd, out ulong inode, out errno);
        if (kind != DescriptorKind.Procdesc)
        {
            NoteNumberNames(fd, null);
            if (errno == 0)
                errno = (int)Errno.EBADF; // not a procdesc: EBADF for every call but pdwait (EINVAL)
            return kind;
        }
        if (!_byInode.TryGetValue(inode, out ChildRecord? found))
        {
            // Not made here: learn what the kernel still knows of it, through the caller's number.
            ProcessFacts facts = ProcessFacts.Read(fd);
            found = _byInode.GetOrAdd(inode, new ChildRecord(inode, facts.Pid, createdHere: false,
                daemon: true, facts.StartTimeUnixNs, facts.Uid, facts.Gid));
        }
        record = found;
        NoteNumberNames(fd, record);
        return DescriptorKind.Procdesc;
    }

    /// <summary>Registers a child pdfork made under the number <paramref name="fd"/>.</summary>
    internal void Register(ChildRecord record, int fd)
    {
        // Another thread may have looked at the new number first and adopted it as a foreign
        // pidfd: the library's own record wins.
        _byInode[record.Inode] = record;
        NoteNumberNames(fd, record);
    }

    /// <summary>The number was closed through the library: the process it named, and the one it
    /// was last seen naming if that differs, may have lost their last copy.</summary>
    internal void NoteClosed(int fd, ChildRecord? record)
    {
        if (_lastSeenByFd.TryRemove(fd, out ChildRecord? before) && !ReferenceEquals(before, record))
            _candidates.Add(before);
        if (record is not null)
        {
            if (record.KnownNumber == fd)
                record.KnownNumber = -1;
            _candidates.Add(record);
        }
    }

    /// <summary>Removes a record that has no descriptor left and needs no reaping.</summary>
    internal void Forget(ChildRecord record) =>
        _byInode.TryRemove(new KeyValuePair<ulong, ChildRecord>(record.Inode, record));

    internal bool TryGet(ulong inode, out ChildRecord? record) => _byInode.TryGetValue(inode, out record);

    /// <summary>After the library found its own descriptors swept: every number it remembers is
    /// checked, and a child whose number no longer names it may have lost its last copy.</summary>
    internal void AuditNumbers()
    {
        foreach ((int fd, ChildRecord record) in _lastSeenByFd)
        {
            bool stillNames = Classify(fd, out ulong inode, out _) == DescriptorKind.Procdesc && inode == record.Inode;
            if (!stillNames && _lastSeenByFd.TryRemove(new KeyValuePair<int, ChildRecord>(fd, record)))
                _candidates.Add(record);
        }
    }

    private void NoteNumberNames(int fd, ChildRecord? now)
    {
        if (fd < 0)
            return;
        if (now is not null)
            now.KnownNumber = fd;
        if (_lastSeenByFd.TryGetValue(fd, out ChildRecord? before))
        {
            if (ReferenceEquals(before, now))
                return;
            // The number was closed behind the library's back (close, dup2 over it) and reused.
            if (now is null)
                _lastSeenByFd.TryRemove(new KeyValuePair<int, ChildRecord>(fd, before));
            else
                _lastSeenByFd[fd] = now;
            _candidates.Add(before);
        }
        else if (now is not null)
        {
            _lastSeenByFd[fd] = now;
        }
    }
}
