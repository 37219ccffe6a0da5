using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using Procdesc.Numbering;

namespace Procdesc.Backends.FreeBsd;

/// <summary>
/// FreeBSD: the kernel's own process descriptors. pdgetpid and pdkill are libc's; pdwait is libc's
/// on 15.1 and emulated with wait6 before; pdwait4 is pdwait's wait4-shaped twin; poll, fstat and
/// kill-on-close (at close and at the holder's death, counting every copy in every process) are
/// the kernel's. Only creation goes through the C helper, and the library keeps one thing per
/// child: its PD_DAEMON flag and, once reaped, its exit status for every later waiter, in the
/// shared store (<see cref="PidBook"/>: keyed by pid, evicted by census once no descriptor names it).
/// </summary>
internal sealed unsafe class FreeBsdBackend : ProcdescBackend
{
    private const int EWOULDBLOCK = FreeBsdWaits.EWOULDBLOCK;

    // The PD_DAEMON flag and the kept exit status of each child, by pid. The kernel keeps nothing
    // after a reap.
    private readonly PidBook _book;
    private readonly KeptExits _exits;

    // Held around every object-layer take of a status (always WNOHANG) and every store into
    // the kept statuses, so that a waiter who finds the child already reaped (ESRCH) finds the status
    // its reaper kept: with several threads blocked in pdwait on one child, the losers would
    // otherwise wake with ESRCH before the winner has stored it. Never held while blocking.
    private readonly object _reapGate = new();

    private readonly KqueueReactor _reactor;

    internal FreeBsdBackend()
    {
        NativePollfd[] scratch = OpenNumbersByPoll.NewScratch();
        _exits = new KeptExits();
        _book = new PidBook(_exits, () => PidBook.PidsBehindOpenDescriptors(PidOf, scratch));
        _reactor = new KqueueReactor(OnExit);
    }

    /// <summary>The pid behind a process descriptor, or 0.</summary>
    private static int PidOf(int fd)
    {
        int pid;
        return FreeBsdLibc.pdgetpid(fd, &pid) == 0 ? pid : 0;
    }

    internal override string Name => FreeBsdWaits.NativePdwait ? "freebsd-native" : "freebsd-native (pdwait emulated with wait6)";

    internal override IReadOnlyList<HostFeature> ProbeFeatures() =>
    [
        new("pdwait", FreeBsdWaits.NativePdwait, FreeBsdWaits.NativePdwait
            ? "libc exports pdwait (FreeBSD 15.1+): used for pdwait and pdwait4"
            : "no pdwait in libc: emulated with wait6(P_PID, pdgetpid(fd))"),
        new("pdrfork", FreeBsdWaits.PdrforkThread != null, FreeBsdWaits.PdrforkThread != null
            ? "libc exports pdrfork_thread (FreeBSD 15.1+): pdfork is pdrfork(RFSPAWN), vfork-like, cost independent of the heap"
            : "no pdrfork_thread in libc: pdfork(2) copies the address space (cost grows with the heap)"),
        new("EVFILT_PROCDESC", true, "kqueue EVFILT_PROCDESC/NOTE_EXIT (FreeBSD 9+): WaitAsync"),
        new("cap_enter", true, "Capsicum capability mode: workers enter it (cap_enter) once the runtime has started; PdChild.WithSandbox is refused (EOPNOTSUPP: capability mode cannot cross execve)"),
    ];

    internal override SandboxLevel SelfSandbox => SandboxLevel.CapabilityMode;

    /// <summary>cap_enter(2): every thread of the process at once, for good.</summary>
    internal override int EnterSandbox() => FreeBsdLibc.cap_enter() == 0 ? 0 : LastError.FailFromLastPInvoke();

    internal override int PdFork(out int fd, int flags, PdChild child)
    {
        fd = -1;
        // Capability mode does not cross execve (the program's loader opens files by path): a
        // FreeBSD program enters it itself. Refused, never run unsandboxed.
        if (child.Sandbox is not null)
            return LastError.Fail(Errno.EOPNOTSUPP);
        int pd, pid, error;
        using (var request = new SpawnRequestBlock(child))
        {
            request.Request->PdFlags = flags;
            request.Request->PdrforkThread = FreeBsdWaits.PdrforkThread;
            error = NativeSpawn.Spawn(request.Request, &pd, &pid);
        }
        if (error != 0)
            return LastError.Fail(error);
        _book.Created(pid, (flags & (int)PdFlags.Daemon) != 0);
        fd = pd;
        return pid;
    }

    internal override int PdGetPid(int fd, out int pid)
    {
        int p = 0;
        int r = FreeBsdLibc.pdgetpid(fd, &p);
        pid = p;
        return r == 0 ? 0 : LastError.FailFromLastPInvoke();
    }

    internal override int PdKill(int fd, int nativeSignal)
    {
        return FreeBsdLibc.pdkill(fd, nativeSignal) == 0 ? 0 : LastError.FailFromLastPInvoke();
    }

    internal override int PdWait4(int fd, out int status, PdWaitOptions options, out Rusage rusage)
    {
        status = 0;
        rusage = default;
        int pid;
        if (FreeBsdLibc.pdgetpid(fd, &pid) != 0)
            return LastError.FailFromLastPInvoke(); // EBADF, for anything but a procdesc (§4)
        NativeRusage* wrusage = stackalloc NativeRusage[2];
        int r = FreeBsdWaits.Wait(fd, (int)(options | PdWaitOptions.WEXITED), out status, wrusage, out FreeBsdSiginfo si, out int errno);
        if (r == 0)
        {
            rusage = wrusage[0].ToRusage();
            Keep(pid, options, si.Code, status, rusage);
            return pid;
        }
        if (errno == EWOULDBLOCK)
            return 0;
        return LastError.Fail(errno == (int)Errno.ESRCH ? (int)Errno.ECHILD : errno);
    }

    internal override int PdWait(int fd, out int status, PdWaitOptions options, out WaitRusage wrusage, out PdSigInfo info)
    {
        wrusage = default;
        info = default;
        status = 0;
        NativeRusage* usage = stackalloc NativeRusage[2];
        if (FreeBsdWaits.Wait(fd, (int)options, out status, usage, out FreeBsdSiginfo si, out int errno) != 0)
            return LastError.Fail(errno);
        wrusage = new WaitRusage(usage[0].ToRusage(), usage[1].ToRusage());
        Keep(si.Pid, options, si.Code, status, wrusage.Self);
        int detail = si.Code == PdSigInfo.CLD_EXITED ? si.Status : (int)HostNumbering.Current.SignalFromNative(si.Status);
        info = new PdSigInfo(HostNumbering.Current.SignalFromNative(si.Signo), si.Code, si.Pid, (int)si.Uid, detail);
        return 0;
    }

    /// <summary>A C-shaped call reaped the child: later object-layer waits get this status, as on
    /// Linux (the C-shaped calls themselves answer ECHILD/ESRCH, as FreeBSD does).</summary>
    private void Keep(int pid, PdWaitOptions options, int code, int status, Rusage usage)
    {
        if ((options & PdWaitOptions.WNOWAIT) != 0 || code is not (PdSigInfo.CLD_EXITED or PdSigInfo.CLD_KILLED or PdSigInfo.CLD_DUMPED))
            return;
        lock (_reapGate)
            _exits.Keep((ulong)pid, new ExitStatus(pid, status, usage));
    }

    internal override int Close(int fd)
    {
        if (Libc.close(fd) != 0)
            return LastError.FailFromLastPInvoke();
        // The kernel dropped the exit watch placed through this number: if no other number
        // watches the child, its watchers cannot be told (the kernel kills, unless PD_DAEMON,
        // and reaps it if this was the last copy; the status is lost with it).
        if (_reactor.Forget(fd, out ulong pid))
            _exits.FailWatchers(pid, (int)Errno.ECHILD);
        _book.Closed();
        return 0;
    }

    internal override int Poll(Pollfd[] fds, int timeout)
    {
        int count = fds.Length;
        Span<NativePollfd> native = count <= 64 ? stackalloc NativePollfd[count] : new NativePollfd[count];
        for (int i = 0; i < count; i++)
            native[i] = new NativePollfd { Fd = fds[i].fd, Events = FreeBsdPollEvents.ToNative((short)fds[i].events) };
        int ready = PollCall.Run(native, timeout);
        if (ready < 0)
            return -1;
        for (int i = 0; i < count; i++)
            fds[i].revents = (PollEvents)FreeBsdPollEvents.FromNative(native[i].Revents, (short)fds[i].events);
        return ready;
    }

    internal override int FStat(int fd, out Stat stat) =>
        FreeBsdStat.Full(fd, out stat) == 0 ? 0 : LastError.FailFromLastPInvoke();

    internal override int ChildOf(int fd, out int pid, out bool daemon)
    {
        daemon = false;
        if (PdGetPid(fd, out pid) != 0)
            return -1;
        daemon = _exits.IsDaemon((ulong)pid);
        return 0;
    }

    internal override int TakeExit(int fd, bool block, out ExitStatus status)
    {
        status = default;
        int pid;
        if (FreeBsdLibc.pdgetpid(fd, &pid) != 0)
            return LastError.FailFromLastPInvoke();
        NativeRusage* usage = stackalloc NativeRusage[2];
        var probe = new NativePollfd { Fd = fd, Events = Libc.POLLIN };
        while (true)
        {
            int errno;
            lock (_reapGate)
            {
                int r;
                do
                {
                    r = FreeBsdWaits.Wait(fd, FreeBsdLibc.WEXITED | FreeBsdLibc.WNOHANG, out int raw, usage, out _, out errno);
                    if (r == 0)
                    {
                        status = new ExitStatus(pid, raw, usage[0].ToRusage());
                        _exits.Keep((ulong)pid, status);
                        return 1;
                    }
                } while (errno == (int)Errno.EINTR);
                if (errno == (int)Errno.ESRCH)
                    return _exits.TryGet((ulong)pid, out status) ? 1 : LastError.Fail(Errno.ECHILD);
                if (errno != EWOULDBLOCK)
                    return LastError.Fail(errno);
            }
            if (!block)
                return 0;
            // Sleep outside the gate until the child has exited: a process descriptor polls
            // POLLHUP from then on (sys_procdesc.c, procdesc_poll), whatever events are asked for,
            // and the wait that follows finds the zombie (kern_wait6 takes the child's proc lock,
            // which exit1 holds until PRS_ZOMBIE is set).
            probe.Revents = 0;
            if (Libc.poll(&probe, 1, -1) < 0 && Marshal.GetLastPInvokeError() != (int)Errno.EINTR)
                return LastError.FailFromLastPInvoke();
        }
    }

    /// <summary>
    /// The kernel kills on the last close of the file, and a blocked object-layer wait keeps the
    /// descriptor open until it returns; so Dispose kills a non-daemon child itself when such a
    /// wait is blocked on it. Unlike the kernel's rule, this does not look for other copies
    /// (FreeBSD offers no cheap census of them), and a blocked C-shaped call alone keeps the child,
    /// as the kernel does. Not run here: no FreeBSD machine is reachable.
    /// </summary>
    internal override void KillBeforeDispose(int fd, bool objectLayerWaitBlocked)
    {
        int pid;
        if (!objectLayerWaitBlocked || FreeBsdLibc.pdgetpid(fd, &pid) != 0)
            return;
        if (!_exits.IsDaemon((ulong)pid))
            FreeBsdLibc.pdkill(fd, FreeBsdLibc.SIGKILL);
    }

    internal override int WatchExit(int fd, ExitWatcher watcher)
    {
        int r = TakeExit(fd, block: false, out ExitStatus status);
        if (r < 0)
            return -1;
        if (r == 1)
        {
            watcher.Exited(status);
            return 0;
        }
        int pid = PidOf(fd);
        if (_exits.Watch((ulong)pid, watcher) && !_reactor.Watch(fd, (ulong)pid, out int errno))
        {
            watcher.Withdraw();
            return LastError.Fail(errno);
        }
        return 0;
    }

    /// <summary>The reactor saw the child behind <paramref name="fd"/> exit: reap it through the
    /// library's one path, which keeps the status and reports it to every watcher.</summary>
    private void OnExit(int fd, ulong pid)
    {
        if (TakeExit(fd, block: false, out _) < 0)
            _exits.FailWatchers(pid, Marshal.GetLastPInvokeError());
    }
}
