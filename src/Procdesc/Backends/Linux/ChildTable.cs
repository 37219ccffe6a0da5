using System.Collections.Concurrent;
using System.Runtime.InteropServices;
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

    internal ChildTable(ulong pidfsDevice, int anchorFloor)
    {
        PidfsDevice = pidfsDevice;
        AnchorFloor = anchorFloor;
    }

    /// <summary>st_dev of every pidfd (pidfs, Linux 6.9+).</summary>
    internal ulong PidfsDevice { get; }

    /// <summary>Anchors are placed at or above this number, away from the numbers callers expect.</summary>
    internal int AnchorFloor { get; }

    internal ExitReactor Reactor { get; set; } = null!;

    /// <summary>Classifies a number without adopting anything; the inode is set for a procdesc.</summary>
    internal DescriptorKind Classify(int fd, out ulong inode, out int errno)
    {
        inode = 0;
        errno = 0;
        if (fd < 0)
        {
            errno = (int)Mono.Unix.Native.Errno.EBADF;
            return DescriptorKind.NotOpen;
        }
        if (LinuxStat.Identity(fd, out ulong dev, out inode) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return DescriptorKind.NotOpen;
        }
        return dev == PidfsDevice ? DescriptorKind.Procdesc : DescriptorKind.NotProcdesc;
    }

    /// <summary>
    /// Finds the record of the process the number names (adopting a pidfd the library did not
    /// make) and a pidfd that keeps naming it for the call; the caller disposes the lease.
    /// </summary>
    internal DescriptorKind Resolve(int fd, out PidfdLease lease, out int errno)
    {
        lease = default;
        DescriptorKind kind = Classify(fd, out ulong inode, out errno);
        if (kind != DescriptorKind.Procdesc)
        {
            NoteNumberNames(fd, null);
            return kind;
        }
        if (_byInode.TryGetValue(inode, out ChildRecord? record) && record.CreatedHere && record.TryLease())
        {
            lease = new PidfdLease(record, record.Anchor, temporary: false);
            NoteNumberNames(fd, record);
            return DescriptorKind.Procdesc;
        }

        // Not made here (or dropped an instant ago): work on a private duplicate, checked to name
        // the same process as the number did a moment ago.
        int copy = HighDescriptors.Duplicate(fd, AnchorFloor);
        if (copy < 0 || LinuxStat.Identity(copy, out ulong dev, out ulong copyInode) != 0 || dev != PidfsDevice || copyInode != inode)
        {
            errno = copy < 0 ? Marshal.GetLastPInvokeError() : (int)Mono.Unix.Native.Errno.EBADF;
            if (copy >= 0)
                Libc.close(copy);
            return DescriptorKind.NotOpen;
        }
        if (record is null || record.CreatedHere)
        {
            if (record is not null)
                _byInode.TryRemove(new KeyValuePair<ulong, ChildRecord>(inode, record)); // dropped
            ProcessFacts facts = ProcessFacts.Read(copy);
            record = _byInode.GetOrAdd(inode, new ChildRecord(inode, facts.Pid, anchor: -1, createdHere: false,
                daemon: true, facts.StartTimeUnixNs, facts.Uid, facts.Gid));
        }
        lease = new PidfdLease(record, copy, temporary: true);
        NoteNumberNames(fd, record);
        return DescriptorKind.Procdesc;
    }

    /// <summary>Registers a child pdfork made under the number <paramref name="fd"/>.</summary>
    internal void Register(ChildRecord record, int fd)
    {
        _byInode.AddOrUpdate(record.Inode, record, (_, adoptedMeanwhile) =>
        {
            // Another thread looked at the new number before this registration and adopted it as
            // a foreign pidfd: the library's own record wins.
            adoptedMeanwhile.Drop();
            return record;
        });
        NoteNumberNames(fd, record);
    }

    /// <summary>The number was closed through the library: the process it named, and the one it
    /// was last seen naming if that differs, may have lost their last copy.</summary>
    internal void NoteClosed(int fd, ChildRecord? record)
    {
        if (_lastSeenByFd.TryRemove(fd, out ChildRecord? before) && !ReferenceEquals(before, record))
            Reactor.CheckCopies(before);
        if (record is not null)
            Reactor.CheckCopies(record);
    }

    /// <summary>Removes a record that has no descriptor left and needs no reaping.</summary>
    internal void Forget(ChildRecord record)
    {
        _byInode.TryRemove(new KeyValuePair<ulong, ChildRecord>(record.Inode, record));
        record.Drop();
    }

    /// <summary>True when <paramref name="fd"/> is the library's private anchor for <paramref name="inode"/>.</summary>
    internal bool IsAnchor(int fd, ulong inode) => _byInode.TryGetValue(inode, out var r) && r.Anchor == fd;

    internal bool TryGet(ulong inode, out ChildRecord? record) => _byInode.TryGetValue(inode, out record);

    private void NoteNumberNames(int fd, ChildRecord? now)
    {
        if (fd < 0)
            return;
        if (_lastSeenByFd.TryGetValue(fd, out ChildRecord? before))
        {
            if (ReferenceEquals(before, now))
                return;
            // The number was closed behind the library's back (close, dup2 over it) and reused.
            if (now is null)
                _lastSeenByFd.TryRemove(new KeyValuePair<int, ChildRecord>(fd, before));
            else
                _lastSeenByFd[fd] = now;
            Reactor.CheckCopies(before);
        }
        else if (now is not null)
        {
            _lastSeenByFd[fd] = now;
        }
    }
}
