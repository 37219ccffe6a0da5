using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>
/// FreeBSD's process descriptors emulated with pidfds: clone3 (through the C helper) creates the
/// child, pidfs inodes identify it behind any descriptor number, waitid(P_PIDFD) reaps it, and the
/// <see cref="ExitReactor"/> gives kill-on-close and asynchronous waits.
/// </summary>
internal sealed unsafe class LinuxBackend : ProcdescBackend
{

    private readonly ChildTable _table;
    private readonly SpawnerThread _spawner = new();

    private LinuxBackend(ChildTable table) => _table = table;

    internal override string Name => "linux-pidfd";

    internal override IReadOnlyList<HostFeature> ProbeFeatures() => LinuxFeatures.Probe();

    /// <summary>The backend, or null with the reason when this kernel cannot carry it.</summary>
    internal static LinuxBackend? TryCreate(out string? why)
    {
        why = null;
        int self = pidfd_open(Libc.getpid(), 0);
        if (self < 0)
        {
            why = $"pidfd_open failed (errno {Marshal.GetLastPInvokeError()}): Linux 5.3 or later is needed";
            return null;
        }
        LinuxStat.Identity(self, out ulong pidfsDevice, out ulong selfInode);
        Libc.close(self);
        int probe = Libc.eventfd(0, 0x80000);
        LinuxStat.Identity(probe, out ulong anonDevice, out ulong anonInode);
        Libc.close(probe);
        if (anonDevice == pidfsDevice && anonInode == selfInode)
        {
            why = "pidfds share one anonymous inode on this kernel: pidfs (Linux 6.9 or later) is needed to identify them";
            return null;
        }
        var table = new ChildTable(pidfsDevice, AnchorFloor());
        table.Reactor = new ExitReactor(table);
        return new LinuxBackend(table);
    }

    internal override int PdFork(out int fd, int flags, PdChild child)
    {
        fd = -1;

        bool daemon = (flags & PdSyscall.PD_DAEMON) != 0;
        int pidfd, pid, error;
        long startTime;
        using (var request = new SpawnRequestBlock(child))
        {
            startTime = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
            if (daemon)
            {
                error = NativeSpawn.Spawn(request.Request, &pidfd, &pid);
            }
            else
            {
                // Kill-on-close when this whole process ends: the child gets SIGKILL when its
                // creating thread dies, so it is created by the thread that lives as long as we do.
                request.Request->DeathSignal = (int)Signum.SIGKILL;
                request.Request->ExpectedParent = Libc.getpid();
                error = _spawner.Spawn(request.Request, out pidfd, out pid);
            }
        }
        if (error != 0)
            return LastError.Fail(error);

        LinuxStat.Identity(pidfd, out _, out ulong inode);
        if ((flags & PdSyscall.PD_CLOEXEC) == 0)
            Libc.fcntl(pidfd, Libc.F_SETFD, 0); // pidfds are born close-on-exec; FreeBSD's are not
        int anchor = HighDescriptors.Duplicate(pidfd, _table.AnchorFloor);
        if (anchor < 0)
        {
            error = Marshal.GetLastPInvokeError();
            Abandon(pidfd);
            return LastError.Fail(error);
        }
        var record = new ChildRecord(inode, pid, anchor, createdHere: true, daemon, startTime, Libc.getuid(), Libc.getgid());
        _table.Register(record, pidfd);
        fd = pidfd;
        return pid;
    }

    internal override int PdGetPid(int fd, out int pid)
    {
        pid = 0;
        if (_table.Resolve(fd, out PidfdLease lease, out int errno) != DescriptorKind.Procdesc)
            return LastError.Fail(errno != 0 ? errno : (int)Errno.EBADF);
        pid = lease.Record.Pid;
        lease.Dispose();
        // A pidfd from elsewhere whose process was reaped before the library saw it: the kernel
        // no longer knows its pid.
        return pid > 0 ? 0 : LastError.Fail(Errno.ESRCH);
    }

    internal override int PdKill(int fd, int nativeSignal)
    {
        if (_table.Resolve(fd, out PidfdLease lease, out int errno) != DescriptorKind.Procdesc)
            return LastError.Fail(errno != 0 ? errno : (int)Errno.EBADF);
        using (lease)
        {
            // Through the leased pidfd, never the caller's number: it names this process and no other.
            return pidfd_send_signal(lease.Pidfd, nativeSignal) == 0 ? 0 : LastError.FailFromLastPInvoke();
        }
    }

    internal override int PdWait4(int fd, out int status, PdWaitOptions options, out Rusage rusage)
    {
        status = 0;
        rusage = default;
        if (_table.Resolve(fd, out PidfdLease lease, out int errno) != DescriptorKind.Procdesc)
            return LastError.Fail(errno != 0 ? errno : (int)Errno.EBADF);
        using (lease)
        {
            switch (ChildWaits.Wait(lease.Record, lease.Pidfd, ToLinuxOptions(options) | WEXITED, out WaitReport report, out errno))
            {
                case WaitOutcome.Reported:
                    status = report.ToStatusWord();
                    rusage = report.ToRusage();
                    return report.Pid;
                case WaitOutcome.NothingYet:
                    return 0;
                case WaitOutcome.Gone:
                    return LastError.Fail(Errno.ECHILD);
                default:
                    return LastError.Fail(errno);
            }
        }
    }

    internal override int PdWait(int fd, out int status, PdWaitOptions options, out WaitRusage wrusage, out PdSigInfo info)
    {
        status = 0;
        wrusage = default;
        info = default;
        DescriptorKind kind = _table.Resolve(fd, out PidfdLease lease, out int errno);
        if (kind == DescriptorKind.NotOpen)
            return LastError.Fail(errno != 0 ? errno : (int)Errno.EBADF);
        if (kind == DescriptorKind.NotProcdesc)
            return LastError.Fail(Errno.EINVAL);
        using (lease)
        {
            switch (ChildWaits.Wait(lease.Record, lease.Pidfd, ToLinuxOptions(options), out WaitReport report, out errno))
            {
                case WaitOutcome.Reported:
                    var numbering = Numbering.HostNumbering.Current;
                    status = report.ToStatusWord();
                    wrusage = new WaitRusage(report.ToRusage(), report.UsageMissing ? Rusage.Missing : default);
                    int detail = report.Code == CLD_EXITED ? report.Status : (int)numbering.SignalFromNative(report.Status);
                    info = new PdSigInfo(Signum.SIGCHLD, report.Code, report.Pid, (int)report.Uid, detail);
                    return 0;
                case WaitOutcome.NothingYet:
                    return LastError.Fail(Errno.EAGAIN);
                case WaitOutcome.Gone:
                    return LastError.Fail(Errno.ESRCH);
                default:
                    return LastError.Fail(errno);
            }
        }
    }

    internal override int Close(int fd)
    {
        ChildRecord? record = null;
        if (_table.Classify(fd, out ulong inode, out _) == DescriptorKind.Procdesc)
            _table.TryGet(inode, out record);
        if (record is not null && record.Anchor == fd)
            return LastError.Fail(Errno.EBADF); // the library's private copy is not the caller's to close
        if (Libc.close(fd) != 0)
            return LastError.FailFromLastPInvoke();
        _table.NoteClosed(fd, record);
        return 0;
    }

    internal override int Poll(Pollfd[] fds, int timeout)
    {
        const short POLLIN = 1, POLLHUP = 0x10;
        int count = fds.Length;
        Span<NativePollfd> native = count <= 64 ? stackalloc NativePollfd[count] : new NativePollfd[count];
        Span<bool> isProcdesc = count <= 64 ? stackalloc bool[count] : new bool[count];
        for (int i = 0; i < count; i++)
        {
            // A pidfd reports exit as POLLIN (and POLLIN|POLLHUP once reaped); FreeBSD reports
            // POLLHUP alone, whatever was asked for. Ask for POLLIN, answer POLLHUP.
            isProcdesc[i] = fds[i].fd >= 0 && _table.Classify(fds[i].fd, out _, out _) == DescriptorKind.Procdesc;
            native[i] = new NativePollfd { Fd = fds[i].fd, Events = isProcdesc[i] ? POLLIN : (short)fds[i].events };
        }
        int ready;
        fixed (NativePollfd* p = native)
            ready = Libc.poll(p, (ulong)count, timeout);
        if (ready < 0)
            return LastError.FailFromLastPInvoke();
        for (int i = 0; i < count; i++)
        {
            short revents = native[i].Revents;
            if (isProcdesc[i] && (revents & (POLLIN | POLLHUP)) != 0)
                revents = (short)((revents & ~(POLLIN | POLLHUP)) | POLLHUP);
            fds[i].revents = (PollEvents)revents;
        }
        return ready;
    }

    internal override int FStat(int fd, out Stat stat)
    {
        stat = default;
        DescriptorKind kind = _table.Resolve(fd, out PidfdLease lease, out int errno);
        if (kind == DescriptorKind.NotOpen)
            return LastError.Fail(errno != 0 ? errno : (int)Errno.EBADF);
        if (kind == DescriptorKind.NotProcdesc)
            return LinuxStat.Full(fd, out stat) == 0 ? 0 : LastError.FailFromLastPInvoke();
        using (lease)
        {
            stat = ProcdescStat(lease.Record, lease.Pidfd);
            return 0;
        }
    }

    internal override int Describe(int fd, out int pid, out PdFlags flags)
    {
        pid = 0;
        flags = PdFlags.None;
        if (_table.Resolve(fd, out PidfdLease lease, out int errno) != DescriptorKind.Procdesc)
            return LastError.Fail(errno != 0 ? errno : (int)Errno.EBADF);
        using (lease)
        {
            if (!lease.Record.CreatedHere)
                return LastError.Fail(Errno.EBADF); // not a child of this library: nothing to own
            int fdFlags = Libc.fcntl(fd, Libc.F_GETFD, 0);
            if (fdFlags < 0)
                return LastError.FailFromLastPInvoke();
            pid = lease.Record.Pid;
            flags = (lease.Record.Daemon ? PdFlags.Daemon : 0) | ((fdFlags & Libc.FD_CLOEXEC) != 0 ? PdFlags.CloExec : 0);
            return 0;
        }
    }

    internal override int GetExit(int fd, bool block, out ExitStatus status)
    {
        status = default;
        if (_table.Resolve(fd, out PidfdLease lease, out int errno) != DescriptorKind.Procdesc)
            return LastError.Fail(errno != 0 ? errno : (int)Errno.EBADF);
        using (lease)
        {
            ChildRecord record = lease.Record;
            WaitOutcome outcome = record.Final is not null ? WaitOutcome.Gone
                : block ? ChildWaits.Wait(record, lease.Pidfd, WEXITED, out _, out errno)
                : ChildWaits.TryConsume(record, lease.Pidfd, WEXITED, out _, out errno);
            if (record.Final is { } final)
            {
                status = final.Value;
                return 1;
            }
            return outcome switch
            {
                WaitOutcome.NothingYet => 0,
                WaitOutcome.Failed => LastError.Fail(errno),
                _ => LastError.Fail(Errno.ECHILD),
            };
        }
    }

    internal override int HasExited(int fd)
    {
        if (_table.Resolve(fd, out PidfdLease lease, out int errno) != DescriptorKind.Procdesc)
            return LastError.Fail(errno != 0 ? errno : (int)Errno.EBADF);
        using (lease)
        {
            if (lease.Record.Final is not null || lease.Record.Reaped)
                return 1;
            var probe = new NativePollfd { Fd = lease.Pidfd, Events = 1 };
            return Libc.poll(&probe, 1, 0) < 0 ? LastError.FailFromLastPInvoke() : (probe.Revents & 1) != 0 ? 1 : 0;
        }
    }

    internal override Task<ExitStatus> WaitForExitAsync(int fd, CancellationToken cancellation)
    {
        if (_table.Resolve(fd, out PidfdLease lease, out int errno) != DescriptorKind.Procdesc)
            return Task.FromException<ExitStatus>(new ProcessDescriptorException("wait", (Errno)(errno != 0 ? errno : (int)Errno.EBADF), errno != 0 ? errno : (int)Errno.EBADF));
        using (lease)
        {
            if (!lease.Record.CreatedHere)
                return Task.FromException<ExitStatus>(new ProcessDescriptorException("wait", Errno.ECHILD, (int)Errno.ECHILD));
            return _table.Reactor.WaitForExit(lease.Record, cancellation);
        }
    }

    /// <summary>What FreeBSD's procdesc fstat reports (contract §8).</summary>
    private static Stat ProcdescStat(ChildRecord record, int pidfd)
    {
        var stat = new Stat { st_mode = FilePermissions.S_IFREG };
        bool reaped = record.Reaped;
        bool exited = reaped;
        if (!reaped)
        {
            var probe = new NativePollfd { Fd = pidfd, Events = 1 };
            Libc.poll(&probe, 1, 0);
            exited = (probe.Revents & 1) != 0;
            reaped = (probe.Revents & 0x10) != 0;
        }
        if (reaped || !ProcessFacts.TryCredentials(pidfd, record.Pid, out uint uid, out uint gid))
            return stat;
        if (!exited)
            stat.st_mode |= FilePermissions.S_IRWXU;
        stat.st_uid = uid;
        stat.st_gid = gid;
        stat.st_atime = stat.st_mtime = stat.st_ctime = record.StartTimeUnixNs / 1_000_000_000;
        stat.st_atime_nsec = stat.st_mtime_nsec = stat.st_ctime_nsec = record.StartTimeUnixNs % 1_000_000_000;
        return stat;
    }

    /// <summary>FreeBSD's wait bits (PdWaitOptions) as Linux's.</summary>
    internal static int ToLinuxOptions(PdWaitOptions options)
    {
        int linux = 0;
        if ((options & PdWaitOptions.WNOHANG) != 0) linux |= WNOHANG;
        if ((options & (PdWaitOptions.WUNTRACED | PdWaitOptions.WTRAPPED)) != 0) linux |= WSTOPPED;
        if ((options & PdWaitOptions.WCONTINUED) != 0) linux |= WCONTINUED;
        if ((options & PdWaitOptions.WNOWAIT) != 0) linux |= WNOWAIT;
        if ((options & PdWaitOptions.WEXITED) != 0) linux |= WEXITED;
        return linux;
    }

    /// <summary>A child that cannot be tracked is not left behind: kill, reap, close.</summary>
    private static void Abandon(int pidfd)
    {
        pidfd_send_signal(pidfd, (int)Signum.SIGKILL);
        LinuxSiginfo info;
        while (waitid(P_PIDFD, pidfd, &info, WEXITED | __WALL, null) < 0
               && Marshal.GetLastPInvokeError() == (int)Errno.EINTR)
        {
        }
        Libc.close(pidfd);
    }

    /// <summary>Anchors sit high, so the numbers a caller expects (lowest free) stay free; capped by RLIMIT_NOFILE.</summary>
    private static int AnchorFloor()
    {
        ulong* limits = stackalloc ulong[2];
        if (Libc.getrlimit(Libc.RLIMIT_NOFILE, limits) != 0)
            return 3;
        return (int)Math.Clamp(limits[0] / 4, 3, 1024);
    }
}
