using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>How an attempt to get a pidfd for a child ended.</summary>
internal enum HandleOutcome
{
    /// <summary>A pidfd that names the child (checked by the tier's <see cref="PidfdIdentity"/>).</summary>
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
/// (an atomic F_DUPFD_CLOEXEC, placed high) of a caller's number, kept only if it names the child
/// (<see cref="PidfdIdentity"/>); pidfd_open of the cached pid, kept only if it is the child's
/// process (so a recycled pid is never mistaken for it). Never a number's word for it without checking.
/// </summary>
internal sealed class ChildHandles(PidfdIdentity identity, OwnDescriptors own, CopyCensus census, ChildTable table)
{
    /// <summary>The tier's reap rule (<see cref="PidfdIdentity.ReapsAtLastClose"/>).</summary>
    internal bool ReapsAtLastClose => identity.ReapsAtLastClose;

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
                if (own.IsOwn(record.Held))
                {
                    handle = new ChildHandle(own, record.Held, default, temporary: false);
                    return HandleOutcome.Acquired;
                }
                own.Close(record.Held); // swept: forgotten, never closed
                record.Held = -1;
            }
        }

        int fd = -1;
        FileIdentity identity = default;
        int known = record.KnownNumber;
        // A copy of a kernel-killed child's file, held, would keep the child alive: such a hold is
        // a pidfd_open of it (another file), never a snapshot of a caller's number.
        bool snapshots = !(hold && record.KernelKills);
        if (known >= 0 && snapshots)
            fd = Snapshot(known, record, out identity, out errno);
        if (fd < 0 && !IsShortage(errno) && snapshots)
        {
            int copy = census.FindCallerCopy(record.Key, out _);
            if (copy >= 0)
                fd = Snapshot(copy, record, out identity, out errno);
        }
        if (fd < 0 && !IsShortage(errno))
        {
            if (record.Pid <= 0)
                return HandleOutcome.Gone;
            int opened = pidfd_open(record.Pid, 0);
            errno = opened < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (opened >= 0 && !table.IsProcessOf(opened, record))
            {
                Libc.CloseKeepingErrno(opened); // the pid belongs to another process now
                return HandleOutcome.Gone;
            }
            fd = own.Adopt(opened, out identity);
            if (fd < 0 && opened >= 0)
                errno = Marshal.GetLastPInvokeError();
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
            if (record.Held >= 0 && own.IsOwn(record.Held))
                return true;
            if (record.KernelKills && HoldOpened(record, out errno))
                return true;
            if (record.KernelKills && IsShortage(errno))
                return false;
            // A kernel-killed child whose pid no longer opens is dead: a copy keeps nothing alive.
            int copy = Snapshot(fd, record, out FileIdentity identity, out errno);
            if (copy < 0)
                return false;
            record.Held = copy;
            return true;
        }
    }

    /// <summary>
    /// The held descriptor of a kernel-killed child: pidfd_open of its pid, placed high — a file of
    /// its own, which the kernel's kill-on-last-close does not count. Made while the caller's number
    /// still names the child, so the pid is the child's unless the child is dead (reaped by the
    /// kernel) and the pid reused, which the identity check sees. False with errno 0 when the
    /// child is dead; with errno on a shortage.
    /// </summary>
    private bool HoldOpened(ChildRecord record, out int errno)
    {
        int opened = pidfd_open(record.Pid, 0);
        errno = opened < 0 ? Marshal.GetLastPInvokeError() : 0;
        if (opened < 0)
        {
            if (!IsShortage(errno))
                errno = 0;
            return false;
        }
        if (identity.KeyOf(opened, out ulong key, out _) != DescriptorKind.Procdesc || key != record.Key)
        {
            Libc.CloseKeepingErrno(opened); // the pid is another process's now
            return false;
        }
        int fd = own.Adopt(opened, out _);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        if (fd < 0)
            return false;
        record.Held = fd;
        return true;
    }

    /// <summary>Lets go of the record's held descriptor (the child is reaped or needs none).</summary>
    internal void Release(ChildRecord record)
    {
        lock (record.Gate)
        {
            own.Close(record.Held);
            record.Held = -1;
        }
    }

    /// <summary>True when <paramref name="fd"/> names the record's process now.</summary>
    internal bool Names(int fd, ChildRecord record) =>
        identity.KeyOf(fd, out ulong key, out _) == DescriptorKind.Procdesc && key == record.Key && !own.IsOwn(fd);

    private int Snapshot(int fd, ChildRecord record, out FileIdentity made, out int errno)
    {
        int copy = own.Duplicate(fd, out made);
        errno = copy < 0 ? Marshal.GetLastPInvokeError() : 0;
        if (copy >= 0 && (identity.KeyOf(copy, out ulong key, out _) != DescriptorKind.Procdesc || key != record.Key))
        {
            own.Close(copy, made); // the number names something else now
            return -1;
        }
        return copy;
    }

    /// <summary>The errors that mean "not now": the work is kept and retried.</summary>
    internal static bool IsShortage(int errno) =>
        errno is (int)Errno.EMFILE or (int)Errno.ENFILE or (int)Errno.ENOMEM or (int)Errno.EAGAIN or (int)Errno.ENOSPC;
}
