using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>How an attempt to get a pidfd for a child ended.</summary>
internal enum HandleOutcome
{
    /// <summary>A pidfd that names the child (checked by its pidfs inode).</summary>
    Acquired,
    /// <summary>Nothing can name the child any more: it was reaped elsewhere (and its pid perhaps reused).</summary>
    Gone,
    /// <summary>Not now (EMFILE, ENFILE, ENOMEM…: errno set): try again once resources are back.</summary>
    Unavailable,
}

/// <summary>A pidfd the library acts on for one child: the child's <see cref="ChildRecord.Held"/>
/// descriptor, or a temporary one closed by <see cref="Dispose"/>.</summary>
internal readonly struct ChildHandle(OwnDescriptors own, int fd, FileIdentity identity, bool temporary) : IDisposable
{
    internal int Fd { get; } = fd;

    public void Dispose()
    {
        if (temporary)
            own.Close(Fd, identity);
    }
}

/// <summary>
/// Gets the library a pidfd for a child when it must act without the caller's number — in the
/// background (the reactor reaping, killing on last close), or after a blocked wait whose number
/// was closed meanwhile. In order: the descriptor the library holds for the child; a snapshot
/// (an atomic F_DUPFD_CLOEXEC, placed high) of a caller's number, kept only if its inode is the
/// child's; pidfd_open of the cached pid, kept only if its inode is the child's (so a recycled pid
/// is never mistaken for it). Never a number's word for it without checking.
/// </summary>
internal sealed class ChildHandles(ulong pidfsDevice, OwnDescriptors own, CopyCensus census)
{
    /// <summary>A pidfd for <paramref name="record"/>; with <paramref name="hold"/> it becomes the
    /// record's <see cref="ChildRecord.Held"/> descriptor (kept until the child is reaped).</summary>
    internal HandleOutcome Acquire(ChildRecord record, bool hold, out ChildHandle handle, out int errno)
    {
        handle = default;
        errno = 0;
        lock (record.Gate)
        {
            if (record.Held >= 0)
            {
                if (own.StillOurs(record.Held, HeldIdentity(record)))
                {
                    handle = new ChildHandle(own, record.Held, HeldIdentity(record), temporary: false);
                    return HandleOutcome.Acquired;
                }
                own.Close(record.Held, HeldIdentity(record)); // swept: forgotten, never closed
                record.Held = -1;
            }
        }

        int fd = -1;
        FileIdentity identity = default;
        int known = record.KnownNumber;
        if (known >= 0)
            fd = Snapshot(known, record, out identity, out errno);
        if (fd < 0 && !IsShortage(errno))
        {
            int copy = census.FindCallerCopy(record.Inode, out _);
            if (copy >= 0)
                fd = Snapshot(copy, record, out identity, out errno);
        }
        if (fd < 0 && !IsShortage(errno))
        {
            if (record.Pid <= 0)
                return HandleOutcome.Gone;
            fd = own.Adopt(pidfd_open(record.Pid, 0), out identity);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (fd >= 0 && (identity.Device != pidfsDevice || identity.Inode != record.Inode))
            {
                own.Close(fd, identity); // the pid belongs to another process now
                return HandleOutcome.Gone;
            }
            if (fd < 0 && errno is (int)Errno.ESRCH or (int)Errno.EINVAL)
                return HandleOutcome.Gone;
        }
        if (fd < 0)
            return HandleOutcome.Unavailable;

        if (hold)
        {
            lock (record.Gate)
            {
                if (record.Held < 0)
                {
                    record.Held = fd;
                    handle = new ChildHandle(own, fd, identity, temporary: false);
                    return HandleOutcome.Acquired;
                }
            }
        }
        handle = new ChildHandle(own, fd, identity, temporary: true);
        return HandleOutcome.Acquired;
    }

    /// <summary>Makes <paramref name="fd"/> (a caller's copy the caller is closing) the record's held
    /// descriptor, by an atomic copy placed high; false with errno when no descriptor is free.</summary>
    internal bool HoldCopyOf(int fd, ChildRecord record, out int errno)
    {
        errno = 0;
        lock (record.Gate)
        {
            if (record.Held >= 0 && own.StillOurs(record.Held, HeldIdentity(record)))
                return true;
            int copy = Snapshot(fd, record, out FileIdentity identity, out errno);
            if (copy < 0)
                return false;
            record.Held = copy;
            return true;
        }
    }

    /// <summary>Lets go of the record's held descriptor (the child is reaped or needs none).</summary>
    internal void Release(ChildRecord record)
    {
        lock (record.Gate)
        {
            own.Close(record.Held, HeldIdentity(record));
            record.Held = -1;
        }
    }

    /// <summary>The file a held descriptor refers to: a pidfd of the record's process (checked when taken).</summary>
    private FileIdentity HeldIdentity(ChildRecord record) => new(pidfsDevice, record.Inode);

    /// <summary>True when <paramref name="fd"/> names the record's process now.</summary>
    internal bool Names(int fd, ChildRecord record) =>
        LinuxStat.TryIdentity(fd, out FileIdentity id) && id.Device == pidfsDevice && id.Inode == record.Inode && !own.IsOwn(fd, id);

    private int Snapshot(int fd, ChildRecord record, out FileIdentity identity, out int errno)
    {
        int copy = own.Duplicate(fd, out identity);
        errno = copy < 0 ? Marshal.GetLastPInvokeError() : 0;
        if (copy >= 0 && (identity.Device != pidfsDevice || identity.Inode != record.Inode))
        {
            own.Close(copy, identity); // the number names something else now
            return -1;
        }
        return copy;
    }

    /// <summary>The errors that mean "not now": the work is kept and retried.</summary>
    internal static bool IsShortage(int errno) =>
        errno is (int)Errno.EMFILE or (int)Errno.ENFILE or (int)Errno.ENOMEM or (int)Errno.EAGAIN or (int)Errno.ENOSPC;
}
