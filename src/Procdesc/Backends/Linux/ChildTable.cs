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

    internal Reaper Reaper { get; set; } = null!;

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
    /// Finds (or, for a pidfd the library did not make, adopts) the record the number names, and
    /// leases its anchor: the caller must call <see cref="ChildRecord.EndLease"/> when done.
    /// </summary>
    internal DescriptorKind Resolve(int fd, out ChildRecord? record, out int errno)
    {
        record = null;
        DescriptorKind kind = Classify(fd, out ulong inode, out errno);
        if (kind != DescriptorKind.Procdesc)
        {
            NoteNumberNames(fd, null);
            return kind;
        }
        while (true)
        {
            if (!_byInode.TryGetValue(inode, out record))
            {
                record = Adopt(fd, inode, out errno);
                if (record is null)
                    return DescriptorKind.NotOpen;
            }
            if (record.TryLease())
                break;
            // Dropped an instant ago (its last known copy went away) while this number still names
            // the process, e.g. a fresh pidfd_open copy: start over with a new record.
            _byInode.TryRemove(new KeyValuePair<ulong, ChildRecord>(inode, record));
        }
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

    /// <summary>The number was closed through the library: the child may have lost its last copy.</summary>
    internal void NoteClosed(int fd, ChildRecord record)
    {
        _lastSeenByFd.TryRemove(new KeyValuePair<int, ChildRecord>(fd, record));
        Reaper.CheckCopies(record);
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
            Reaper.CheckCopies(before);
        }
        else if (now is not null)
        {
            _lastSeenByFd[fd] = now;
        }
    }

    /// <summary>Makes a record for a pidfd from elsewhere (inherited, received, pidfd_open).</summary>
    private ChildRecord? Adopt(int fd, ulong inode, out int errno)
    {
        errno = 0;
        int anchor = Libc.fcntl(fd, Libc.F_DUPFD_CLOEXEC, AnchorFloor);
        if (anchor < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        ProcessFacts facts = ProcessFacts.Read(anchor);
        var adopted = new ChildRecord(inode, facts.Pid, anchor, createdHere: false, daemon: true,
            facts.StartTimeUnixNs, facts.Uid, facts.Gid);
        ChildRecord winner = _byInode.GetOrAdd(inode, adopted);
        if (!ReferenceEquals(winner, adopted))
            adopted.Drop();
        return winner;
    }
}
