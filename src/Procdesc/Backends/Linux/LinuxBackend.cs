using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>
/// FreeBSD's process descriptors emulated with pidfds: clone3 (through the C helper) creates the
/// child, pidfs inodes identify it behind any descriptor number, waitid(P_PIDFD) reaps it, and the
/// <see cref="ExitReactor"/> gives kill-on-close and asynchronous waits. While the caller holds a
/// child's descriptor the library holds none of its own for it (one descriptor per live child).
/// </summary>
internal sealed unsafe class LinuxBackend : ProcdescBackend
{
    private readonly ChildTable _table;
    private readonly ChildHandles _handles;
    private readonly CopyCensus _census;
    private readonly ReleaseCandidates _candidates;
    private readonly ExitReactor _reactor;
    private readonly SpawnerThread _spawner = new();
    private readonly ParentHelper _parent;
    private readonly KeptExits _exits = new();

    private LinuxBackend(PidfdIdentity identity)
    {
        Identity = identity;
        var own = new OwnDescriptors(fd => (identity.TryIdentity(fd, out FileIdentity id), id));
        var reactorHandles = new ReactorHandles(own);
        _candidates = new ReleaseCandidates(reactorHandles);
        _census = new CopyCensus(identity, own);
        _table = new ChildTable(identity, own, _candidates);
        _handles = new ChildHandles(identity, own, _census, _table);
        _parent = new ParentHelper(own, _spawner);
        _reactor = new ExitReactor(_table, _handles, _census, reactorHandles, _candidates, _exits);
    }

    /// <summary>What the library knows of a child (tests put it in their failure messages).</summary>
    internal string Diagnose(int pid) => _table.Diagnose(pid)
        + $"; last background error: {ExitReactor.LastBackgroundError?.Message ?? "none"}";

    /// <summary>Entries in the kept-status store (tests check that they do not outlive their children).</summary>
    internal int KeptExitCount => _exits.Count;

    /// <summary>Records in the child table (tests check that they do not outlive their children).</summary>
    internal int RecordCount => _table.Count;

    /// <summary>The kernel tier's way of naming processes behind descriptor numbers (contract §12).</summary>
    internal PidfdIdentity Identity { get; }

    internal override string Name => Identity is PidfsIdentity ? "linux-pidfd" : "linux-pidfd (no pidfs)";

    internal override IReadOnlyList<HostFeature> ProbeFeatures() => LinuxFeatures.Probe(Identity);

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
        bool waitidKnowsPidfds;
        LinuxSiginfo info;
        // Not this process's child: ECHILD where waitid knows P_PIDFD (5.4+), EINVAL where not.
        waitidKnowsPidfds = waitid(P_PIDFD, self, &info, WEXITED | WNOHANG, null) != 0 && Marshal.GetLastPInvokeError() == (int)Errno.ECHILD;
        Libc.close(self);
        if (!waitidKnowsPidfds)
        {
            why = "waitid(P_PIDFD) is missing: Linux 5.4 or later is needed";
            return null;
        }
        int probe = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        LinuxStat.Identity(probe, out ulong anonDevice, out ulong anonInode);
        Libc.close(probe);
        bool pidfs = anonDevice != pidfsDevice || anonInode != selfInode; // else every pidfd shares one anonymous inode
        // PROCDESC_LINUX_TIER=no-pidfs runs the older kernels' tier on a pidfs kernel (for its tests).
        bool forced = Environment.GetEnvironmentVariable("PROCDESC_LINUX_TIER") == "no-pidfs";
        PidfdIdentity identity = pidfs && !forced ? new PidfsIdentity(pidfsDevice) : new OwnerTagIdentity(anonDevice, anonInode, anyInode: pidfs);
        BackgroundWarmUp.Run();
        return new LinuxBackend(identity);
    }

    internal override SandboxLevel ChildSandbox => LandlockSandbox.Reachable;

    internal override int PdFork(out int fd, int flags, PdChild child)
    {
        fd = -1;

        bool daemon = (flags & (int)PdFlags.Daemon) != 0;
        bool kernelKills = child.KernelKillOnClose; // never with PD_DAEMON (PdSyscall checked)
        int pidfd = -1, pid = 0, error;
        long startTime = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        // A foreign reaper is known (pid 1, SIGCHLD ignored): the helper parent's child (§10 L1) —
        // or a direct one where no helper can be started, unless PROCDESC_LINUX_PARENT=helper. A
        // kernel-killed child needs none: the kernel reaps it, and no wait(-1) ever sees it.
        ParentHelper? parent = !kernelKills && ParentHelper.Wanted ? _parent : null;
        // The sandbox's ruleset is built here, where a failure is an errno and nothing is started.
        int ruleset = -1;
        error = child.Sandbox is { } policy ? LandlockSandbox.Build(child, policy, out ruleset) : 0;
        if (error == 0)
        {
            error = parent is null ? (int)Errno.ENOSYS : parent.Spawn(child, SpawnRequestBlock.EnvironmentOf(child), daemon, ruleset, out pidfd, out pid);
            if (parent is null || (error == (int)Errno.ENOSYS && !ParentHelper.Forced))
            {
                parent = null;
                error = SpawnDirect(child, daemon, kernelKills, ruleset, out pidfd, out pid);
            }
        }
        if (ruleset >= 0)
            Libc.CloseKeepingErrno(ruleset);
        if (error != 0)
            return LastError.Fail(error);

        ulong key = Identity.Adopt(pidfd, pid);
        if ((flags & (int)PdFlags.CloExec) == 0)
            Libc.fcntl(pidfd, Libc.F_SETFD, 0); // pidfds are born close-on-exec; FreeBSD's are not
        // The caller's descriptor is the only one: the library takes its own only when it must act
        // without the caller (after the last close).
        ChildRecord record = parent is null
            ? new ChildRecord(key, Identity.KeysNeverReused, pid, createdHere: true, daemon, startTime, kernelKills)
            : new HelperChildRecord(key, Identity.KeysNeverReused, pid, daemon, startTime, parent);
        _table.Register(record, pidfd);
        fd = pidfd;
        return pid;
    }

    /// <summary>Creates the child as this process's own: 0 or a positive errno.</summary>
    private int SpawnDirect(PdChild child, bool daemon, bool kernelKills, int sandboxRuleset, out int pidfd, out int pid)
    {
        using var request = new SpawnRequestBlock(child);
        request.Request->SandboxRuleset = sandboxRuleset;
        request.Request->NoNewPrivs = child.Sandbox is null ? 0 : 1;
        if (kernelKills)
        {
            // The kernel kills the child when the last reference to its pidfd's file goes — this
            // process's end included (its descriptors close) — so no death signal, and no thread
            // rule: created inline. EOPNOTSUPP where the kernel lacks the flags.
            request.Request->CloneFlags = CLONE_AUTOREAP | CLONE_NNP | CLONE_PIDFD_AUTOKILL;
        }
        else if (!daemon)
        {
            // Kill-on-close when this whole process ends: the child gets SIGKILL when its creating
            // thread dies, so it is created by the thread that lives as long as we do.
            request.Request->DeathSignal = (int)Signum.SIGKILL;
            request.Request->ExpectedParent = Environment.ProcessId;
            return _spawner.Spawn(request.Request, out pidfd, out pid);
        }
        int fd, p;
        int error = NativeSpawn.Spawn(request.Request, &fd, &p);
        (pidfd, pid) = (fd, p);
        return error;
    }

    internal override int PdGetPid(int fd, out int pid)
    {
        pid = 0;
        if (_table.Resolve(fd, out ChildRecord record, out int errno) != DescriptorKind.Procdesc)
            return LastError.Fail(errno);
        pid = record.Pid;
        // A pidfd from elsewhere whose process was reaped before the library saw it: the kernel
        // no longer knows its pid.
        return pid > 0 ? 0 : LastError.Fail(Errno.ESRCH);
    }

    internal override int PdKill(int fd, int nativeSignal)
    {
        if (_table.Resolve(fd, out ChildRecord record, out int errno) != DescriptorKind.Procdesc)
            return LastError.Fail(errno);
        if (record.ZombieKept)
            return LastError.Fail(Errno.ESRCH); // reaped through the library; the kernel's reap waits for the last close
        // The number names this child now (checked by its inode): the signal goes through it.
        return pidfd_send_signal(fd, nativeSignal) == 0 ? 0 : LastError.FailFromLastPInvoke();
    }

    internal override int PdWait4(int fd, out int status, PdWaitOptions options, out Rusage rusage)
    {
        status = 0;
        rusage = default;
        if (_table.Resolve(fd, out ChildRecord record, out int errno) != DescriptorKind.Procdesc)
            return LastError.Fail(errno);
        switch (ChildWaits.Wait(record, fd, ToLinuxOptions(options) | WEXITED, _handles, _candidates, _exits, out WaitReport report, out errno))
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

    internal override int PdWait(int fd, out int status, PdWaitOptions options, out WaitRusage wrusage, out PdSigInfo info)
    {
        status = 0;
        wrusage = default;
        info = default;
        DescriptorKind kind = _table.Resolve(fd, out ChildRecord record, out int errno);
        if (kind == DescriptorKind.NotOpen)
            return LastError.Fail(errno);
        if (kind == DescriptorKind.NotProcdesc)
            return LastError.Fail(Errno.EINVAL);
        switch (ChildWaits.Wait(record, fd, ToLinuxOptions(options), _handles, _candidates, _exits, out WaitReport report, out errno))
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

    internal override int Close(int fd)
    {
        ChildRecord? record = null;
        if (fd >= 0 && _table.Own.IsOwn(fd))
            return LastError.Fail(Errno.EBADF); // one of the library's own descriptors: not the caller's to close
        if (fd >= 0 && Identity.KeyOf(fd, out ulong key, out _) == DescriptorKind.Procdesc && key != 0)
            _table.TryGet(key, out record);
        // A child still to be killed or reaped (a kept zombie included) may need the library's own copy.
        if (record is { CreatedHere: true } && (!record.Reaped || record.ZombieKept))
            KeepHoldOf(fd, record);
        if (Libc.close(fd) != 0)
            return LastError.FailFromLastPInvoke();
        if (record is { ZombieKept: true })
            ReapIfLastCopy(record);
        _table.NoteClosed(fd, record);
        return 0;
    }

    /// <summary>
    /// N1 (no pidfs): the child's status was taken and its zombie kept for its descriptors' sake.
    /// If that was the last one, the zombie goes now, as on FreeBSD after pdwait4 and close, rather
    /// than a moment later from the background. Costs one census per such close.
    /// </summary>
    private void ReapIfLastCopy(ChildRecord record)
    {
        if (record.InFlight > 0)
            return;
        HashSet<ulong>? copied = _census.CallerKeys(-1, out _);
        if (copied is null || copied.Contains(record.Key))
            return;
        if (_handles.Acquire(record, hold: true, out ChildHandle handle, out _) == HandleOutcome.Acquired)
            ChildWaits.ReapKeptZombie(record, handle.Fd);
    }

    /// <summary>
    /// The caller is closing a copy of a child that is not reaped yet: if it is the last copy, the
    /// library will have to kill (unless PD_DAEMON) and reap the child without the caller. It takes
    /// its own copy now, placed high, before the number is freed — taking one later would hold the
    /// lowest free number, which the caller's next open must get. Without a free descriptor for
    /// that copy, a last copy is acted on at once through the caller's number: killed now, reaped
    /// once a descriptor is free again.
    /// </summary>
    private void KeepHoldOf(int fd, ChildRecord record)
    {
        if (_handles.HoldCopyOf(fd, record, out int errno) || !ChildHandles.IsShortage(errno))
            return;
        if (!record.KillOnLastClose || record.Reaped || record.InFlight > 0)
            return;
        HashSet<ulong>? copied = _census.CallerKeys(fd, out _);
        if (copied is not null && !copied.Contains(record.Key))
        {
            lock (record.Gate)
            {
                if (!record.Killed && !record.Reaped && pidfd_send_signal(fd, (int)Signum.SIGKILL) == 0)
                    record.Killed = true;
            }
        }
    }

    internal override void KillBeforeDispose(int fd, bool objectLayerWaitBlocked)
    {
        if (_table.Resolve(fd, out ChildRecord record, out _) != DescriptorKind.Procdesc)
            return;
        // A kernel-killed child too: the blocked call's copy of its file keeps the kernel from
        // killing it at this close (a copy in another process is not seen here: it dies anyway).
        if (!(record.KillOnLastClose || record.KernelKills) || record.Reaped || (!objectLayerWaitBlocked && record.InFlight == 0))
            return; // no call holds the child: the close that follows does what FreeBSD's does
        HashSet<ulong>? copied = _census.CallerKeys(fd, out _);
        if (copied is null || copied.Contains(record.Key))
            return; // another copy keeps the child (or the census cannot tell: the close decides)
        lock (record.Gate)
        {
            if (!record.Killed && !record.Reaped && pidfd_send_signal(fd, (int)Signum.SIGKILL) == 0)
                record.Killed = true;
        }
    }

    internal override int Poll(Pollfd[] fds, int timeout)
    {
        int count = fds.Length;
        Span<NativePollfd> native = count <= 64 ? stackalloc NativePollfd[count] : new NativePollfd[count];
        Span<bool> isProcdesc = count <= 64 ? stackalloc bool[count] : new bool[count];
        for (int i = 0; i < count; i++)
        {
            // A pidfd reports exit as POLLIN (and POLLIN|POLLHUP once reaped); FreeBSD reports
            // POLLHUP alone, whatever was asked for. Ask for POLLIN, answer POLLHUP.
            isProcdesc[i] = fds[i].fd >= 0 && _table.Classify(fds[i].fd, out _, out _) == DescriptorKind.Procdesc;
            native[i] = new NativePollfd { Fd = fds[i].fd, Events = isProcdesc[i] ? Libc.POLLIN : (short)fds[i].events };
        }
        int ready = PollCall.Run(native, timeout);
        if (ready < 0)
            return -1;
        for (int i = 0; i < count; i++)
        {
            short revents = native[i].Revents;
            if (isProcdesc[i] && (revents & (Libc.POLLIN | Libc.POLLHUP)) != 0)
                revents = (short)((revents & ~(Libc.POLLIN | Libc.POLLHUP)) | Libc.POLLHUP);
            fds[i].revents = (PollEvents)revents;
        }
        return ready;
    }

    internal override int FStat(int fd, out Stat stat)
    {
        stat = default;
        DescriptorKind kind = _table.Resolve(fd, out ChildRecord record, out int errno);
        if (kind == DescriptorKind.NotOpen)
            return LastError.Fail(errno);
        if (kind == DescriptorKind.NotProcdesc)
            return LinuxStat.Full(fd, out stat) == 0 ? 0 : LastError.FailFromLastPInvoke();
        stat = ProcdescStat(record, fd);
        return 0;
    }

    internal override int ChildOf(int fd, out int pid, out bool daemon)
    {
        pid = 0;
        daemon = false;
        if (_table.Resolve(fd, out ChildRecord record, out int errno) != DescriptorKind.Procdesc)
            return LastError.Fail(errno);
        if (!record.CreatedHere)
            return LastError.Fail(Errno.EBADF); // not a child of this library: nothing to own
        pid = record.Pid;
        daemon = record.Daemon;
        return 0;
    }

    internal override int TakeExit(int fd, bool block, out ExitStatus status)
    {
        if (_table.Resolve(fd, out ChildRecord record, out int errno) != DescriptorKind.Procdesc)
        {
            status = default;
            return LastError.Fail(errno);
        }
        WaitOutcome outcome = _exits.TryGet(record.ExitKey, out status) ? WaitOutcome.Gone
            : ChildWaits.Wait(record, fd, WEXITED | (block ? 0 : WNOHANG), _handles, _candidates, _exits, out _, out errno);
        if (_exits.TryGet(record.ExitKey, out status))
            return 1;
        return outcome switch
        {
            WaitOutcome.NothingYet => 0,
            WaitOutcome.Failed => LastError.Fail(errno),
            _ => LastError.Fail(Errno.ECHILD),
        };
    }

    internal override int WatchExit(int fd, ExitWatcher watcher)
    {
        if (_table.Resolve(fd, out ChildRecord record, out int errno) != DescriptorKind.Procdesc)
            return LastError.Fail(errno);
        if (!record.CreatedHere)
            return LastError.Fail(Errno.ECHILD);
        _reactor.Watch(record, fd, watcher);
        return 0;
    }

    /// <summary>What FreeBSD's procdesc fstat reports (contract §8).</summary>
    private static Stat ProcdescStat(ChildRecord record, int pidfd)
    {
        var stat = new Stat { st_mode = FilePermissions.S_IFREG };
        bool reaped = record.Reaped;
        bool exited = reaped;
        if (!reaped)
        {
            var probe = new NativePollfd { Fd = pidfd, Events = Libc.POLLIN };
            Libc.poll(&probe, 1, 0);
            exited = (probe.Revents & Libc.POLLIN) != 0;
            reaped = (probe.Revents & Libc.POLLHUP) != 0;
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
}
