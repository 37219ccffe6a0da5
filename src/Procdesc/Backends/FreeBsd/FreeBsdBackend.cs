using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using Procdesc.Numbering;

namespace Procdesc.Backends.FreeBsd;

/// <summary>
/// FreeBSD: the kernel's own process descriptors. pdgetpid and pdkill are libc's; pdwait is libc's
/// on 15.1 and emulated with wait6 before; pdwait4 is pdwait's wait4-shaped twin; poll, fstat and
/// kill-on-close (at close and at the holder's death, counting every copy in every process) are
/// the kernel's. Only creation goes through the C helper, and only the object layer keeps state:
/// the exit status of each child it reaped, for every later waiter.
/// </summary>
internal sealed unsafe class FreeBsdBackend : ProcdescBackend
{
    private const int EWOULDBLOCK = FreeBsdWaits.EWOULDBLOCK;

    // The exit status of each child the library reaped (object layer, pdwait4 or pdwait), by pid;
    // a pid the library hands out again (pdfork) drops the old entry. The kernel keeps nothing
    // after a reap.
    private readonly ConcurrentDictionary<int, ExitStatus> _keptByPid = new();

    // Held around every object-layer take of a status (always WNOHANG) and every store into
    // _keptByPid, so that a waiter who finds the child already reaped (ESRCH) finds the status
    // its reaper kept: with several threads blocked in pdwait on one child, the losers would
    // otherwise wake with ESRCH before the winner has stored it. Never held while blocking.
    private readonly object _reapGate = new();
    private readonly ConcurrentDictionary<int, bool> _daemonByPid = new();

    private readonly KqueueReactor _reactor;

    internal FreeBsdBackend() => _reactor = new KqueueReactor(this);

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
    ];

    internal override int PdFork(out int fd, int flags, PdChild child)
    {
        fd = -1;
        int pd, pid, error;
        using (var request = new SpawnRequestBlock(child))
        {
            request.Request->PdFlags = flags;
            request.Request->PdrforkThread = FreeBsdWaits.PdrforkThread;
            error = NativeSpawn.Spawn(request.Request, &pd, &pid);
        }
        if (error != 0)
            return LastError.Fail(error);
        _keptByPid.TryRemove(pid, out _);
        _daemonByPid[pid] = (flags & PdSyscall.PD_DAEMON) != 0;
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
            _keptByPid[pid] = new ExitStatus(pid, status, usage);
    }

    internal override int Close(int fd)
    {
        if (Libc.close(fd) != 0)
            return LastError.FailFromLastPInvoke();
        _reactor.Forget(fd);
        return 0;
    }

    internal override int Poll(Pollfd[] fds, int timeout)
    {
        int count = fds.Length;
        Span<NativePollfd> native = count <= 64 ? stackalloc NativePollfd[count] : new NativePollfd[count];
        for (int i = 0; i < count; i++)
            native[i] = new NativePollfd { Fd = fds[i].fd, Events = FreeBsdPollEvents.ToNative((short)fds[i].events) };
        int ready;
        fixed (NativePollfd* p = native)
            ready = Libc.poll(p, (ulong)count, timeout);
        if (ready < 0)
            return LastError.FailFromLastPInvoke();
        for (int i = 0; i < count; i++)
            fds[i].revents = (PollEvents)FreeBsdPollEvents.FromNative(native[i].Revents, (short)fds[i].events);
        return ready;
    }

    internal override int FStat(int fd, out Stat stat) =>
        FreeBsdStat.Full(fd, out stat) == 0 ? 0 : LastError.FailFromLastPInvoke();

    internal override int Describe(int fd, out int pid, out PdFlags flags)
    {
        flags = PdFlags.None;
        if (PdGetPid(fd, out pid) != 0)
            return -1;
        int fdFlags = Libc.fcntl(fd, Libc.F_GETFD, 0);
        if (fdFlags < 0)
            return LastError.FailFromLastPInvoke();
        if (_daemonByPid.TryGetValue(pid, out bool daemon) && daemon)
            flags |= PdFlags.Daemon;
        if ((fdFlags & Libc.FD_CLOEXEC) != 0)
            flags |= PdFlags.CloExec;
        return 0;
    }

    internal override int GetExit(int fd, bool block, out ExitStatus status)
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
                        _keptByPid[pid] = status;
                        return 1;
                    }
                } while (errno == (int)Errno.EINTR);
                if (errno == (int)Errno.ESRCH)
                    return _keptByPid.TryGetValue(pid, out status) ? 1 : LastError.Fail(Errno.ECHILD);
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
        if (!_daemonByPid.TryGetValue(pid, out bool daemon) || !daemon)
            FreeBsdLibc.pdkill(fd, 9);
    }

    internal override int HasExited(int fd)
    {
        var probe = new NativePollfd { Fd = fd, Events = Libc.POLLIN };
        if (Libc.poll(&probe, 1, 0) < 0)
            return LastError.FailFromLastPInvoke();
        if ((probe.Revents & Libc.POLLNVAL) != 0)
            return LastError.Fail(Errno.EBADF);
        return (probe.Revents & Libc.POLLHUP) != 0 ? 1 : 0;
    }

    internal override Task<ExitStatus> WaitForExitAsync(int fd, CancellationToken cancellation)
    {
        int r = GetExit(fd, block: false, out ExitStatus status);
        if (r == 1)
            return Task.FromResult(status);
        if (r < 0)
            return Task.FromException<ExitStatus>(ProcessDescriptorException.FromLastError("pdwait"));
        return _reactor.WaitForExit(fd, cancellation);
    }
}
