using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>How one attempt to take a status from a child ended.</summary>
internal enum WaitOutcome
{
    /// <summary>A status was reported (and, for an end without WNOWAIT, the child reaped).</summary>
    Reported,
    /// <summary>Nothing to report yet (WNOHANG semantics).</summary>
    NothingYet,
    /// <summary>The child is gone: reaped through the library, or elsewhere with no status kept.</summary>
    Gone,
    /// <summary>The kernel refused for another reason (errno set): e.g. not this process's child.</summary>
    Failed,
}

/// <summary>A reported status in the kernel's terms (siginfo plus rusage).</summary>
internal struct WaitReport
{
    public int Pid;
    public int Code;
    /// <summary>The exit code, or the host's signal number.</summary>
    public int Status;
    public uint Uid;
    public NativeRusage Usage;
    public bool UsageMissing;

    /// <summary>What a waitid that reported something gave.</summary>
    internal static WaitReport From(in LinuxSiginfo info, in NativeRusage usage) =>
        new() { Pid = info.Pid, Code = info.Code, Status = info.Status, Uid = info.Uid, Usage = usage };

    /// <summary>The wait(2) status word the host's own wait4 would have produced.</summary>
    internal readonly int ToStatusWord() => Code switch
    {
        CLD_EXITED => (Status & 0xff) << 8,
        CLD_KILLED => Status & 0x7f,
        CLD_DUMPED => (Status & 0x7f) | 0x80,
        CLD_STOPPED or CLD_TRAPPED => ((Status & 0xff) << 8) | 0x7f,
        CLD_CONTINUED => 0xffff,
        _ => 0,
    };

    internal readonly Rusage ToRusage() => UsageMissing ? Rusage.Missing : Usage.ToRusage();
}

/// <summary>
/// Waiting on a child without ever giving one status to two callers. Statuses are consumed under
/// the record's lock with WNOHANG, and blocking happens outside the lock with WNOWAIT, which only
/// learns that something is there — except for the common blocking wait for the exit alone, which
/// one thread at a time makes in a single consuming waitid (<see cref="ConsumeBlocking"/>) and
/// publishes under the lock as it returns. So when several threads wait on one child, exactly one
/// takes the status and the others find <see cref="ChildRecord.Reaped"/> set.
/// </summary>
internal static unsafe class ChildWaits
{
    /// <summary>One non-blocking attempt through <paramref name="pidfd"/> (which names the record's
    /// process); <paramref name="linuxOptions"/> are host wait bits. With
    /// <paramref name="reapAtLastClose"/> (<see cref="PidfdIdentity.ReapsAtLastClose"/>) an exit is
    /// taken without the kernel's reap, which <see cref="ReapKeptZombie"/> does later.</summary>
    internal static WaitOutcome TryConsume(ChildRecord record, int pidfd, int linuxOptions, bool reapAtLastClose, KeptExits exits, out WaitReport report, out int errno)
    {
        report = default;
        errno = 0;
        lock (record.Gate)
        {
            if (record.Reaped)
                return WaitOutcome.Gone;
            bool keepZombie = reapAtLastClose && (linuxOptions & (WEXITED | WNOWAIT)) == WEXITED;
            LinuxSiginfo info;
            NativeRusage usage;
            int r;
            if (keepZombie && (linuxOptions & (WSTOPPED | WCONTINUED)) != 0)
            {
                // WNOWAIT would leave a stop or continue report to be reported again: take those
                // first, as usual, then the exit without the reap.
                r = Attempt(record, pidfd, linuxOptions & ~WEXITED, out info, out usage, out errno);
                if (r == 0 && info.Pid != 0)
                {
                    report = WaitReport.From(info, usage);
                    return WaitOutcome.Reported;
                }
            }
            r = Attempt(record, pidfd, keepZombie ? (linuxOptions & ~(WSTOPPED | WCONTINUED)) | WNOWAIT : linuxOptions, out info, out usage, out errno);

            if (r < 0 && errno == (int)Errno.ECHILD && record.Consuming)
            {
                // Not outside the library, perhaps: a blocking wait has just taken the status and
                // publishes it as soon as its waitid returns.
                AwaitPublication(record);
                if (record.Reaped)
                    return WaitOutcome.Gone;
            }
            if (r < 0)
            {
                if (errno != (int)Errno.ECHILD || !record.CreatedHere)
                    return WaitOutcome.Failed;
                // Our child, yet not waitable: it was reaped outside the library (§10 L1), or by
                // the kernel at its exit (CLONE_AUTOREAP, a kernel-killed child).
                if (record.KernelKills)
                    AwaitKernelReap(pidfd);
                if ((linuxOptions & WEXITED) != 0 && ProcessFacts.TryKeptExitStatus(pidfd, out int kept))
                {
                    report = FromStatusWord(record, kept);
                    if ((linuxOptions & WNOWAIT) == 0)
                        MarkReaped(record, report, exits);
                    return WaitOutcome.Reported;
                }
                record.Reaped = true;
                return WaitOutcome.Gone;
            }
            if (info.Pid == 0)
                return WaitOutcome.NothingYet;

            report = WaitReport.From(info, usage);
            if (info.Code is CLD_EXITED or CLD_KILLED or CLD_DUMPED && (linuxOptions & WNOWAIT) == 0)
            {
                MarkReaped(record, report, exits);
                record.ZombieKept = keepZombie;
            }
            return WaitOutcome.Reported;
        }
    }

    /// <summary>
    /// An auto-reaped child leaves its parent's wait list at exit, and its pidfd polls readable
    /// then, a moment before the kernel's reap records the exit status for PIDFD_GET_INFO; the
    /// reap ends with POLLHUP. Bounded: the reap follows the exit in the same kernel path.
    /// </summary>
    private static void AwaitKernelReap(int pidfd)
    {
        var probe = new NativePollfd { Fd = pidfd, Events = 0 }; // POLLHUP is reported unasked
        for (int i = 0; i < 50; i++)
        {
            probe.Revents = 0;
            if (Libc.poll(&probe, 1, 100) < 0 && Marshal.GetLastPInvokeError() != (int)Errno.EINTR)
                return;
            if ((probe.Revents & (Libc.POLLHUP | Libc.POLLNVAL)) != 0)
                return;
        }
    }

    private static int Attempt(ChildRecord record, int pidfd, int options, out LinuxSiginfo info, out NativeRusage usage, out int errno)
    {
        if (record.Parent is { } parent)
            return parent.Waitid(record.Pid, options | WNOHANG, out info, out usage, out errno);
        int r;
        do
        {
            LinuxSiginfo i = default;
            NativeRusage u = default;
            r = waitid(P_PIDFD, pidfd, &i, options | WNOHANG | __WALL, &u);
            errno = r < 0 ? Marshal.GetLastPInvokeError() : 0;
            (info, usage) = (i, u);
        } while (r < 0 && errno == (int)Errno.EINTR);
        return r;
    }

    /// <summary>The kernel's reap of a zombie whose status the library took already (the last
    /// descriptor is gone). False with errno when it must be tried again (EINTR aside, never).</summary>
    internal static bool ReapKeptZombie(ChildRecord record, int pidfd)
    {
        lock (record.Gate)
        {
            if (!record.ZombieKept)
                return true;
            int r = Attempt(record, pidfd, WEXITED, out _, out _, out int errno);
            // Reaped, or gone already (a foreign waiter took it: §10 L1).
            if (r == 0 || errno == (int)Errno.ECHILD)
                record.ZombieKept = false;
            return !record.ZombieKept;
        }
    }

    /// <summary>The status is consumed: C-shaped waits now answer ECHILD/ESRCH, object-layer waits this status.</summary>
    private static void MarkReaped(ChildRecord record, in WaitReport report, KeptExits exits)
    {
        record.Reaped = true;
        exits.Keep(record.ExitKey, new ExitStatus(report.Pid, report.ToStatusWord(), report.ToRusage()));
    }

    /// <summary>Blocks until the child has something matching <paramref name="linuxOptions"/> to
    /// report, or is gone; consumes nothing. The call holds the file, whatever happens to the number.</summary>
    internal static void BlockUntilReportable(ChildRecord record, int pidfd, int linuxOptions)
    {
        if (record.Parent is { } parent)
        {
            // The helper blocks for it (on a thread of its own); its zombie keeps the pid its own.
            parent.Waitid(record.Pid, (linuxOptions & ~WNOHANG) | WNOWAIT, out _, out _, out _);
            return;
        }
        LinuxSiginfo info = default;
        waitid(P_PIDFD, pidfd, &info, (linuxOptions & ~WNOHANG) | WNOWAIT | __WALL, null);
    }

    /// <summary>
    /// Takes a status through the caller's <paramref name="fd"/>, blocking unless WNOHANG is set.
    /// A blocking call counts as a reference to the child (<see cref="ChildRecord.InFlight"/>), as
    /// FreeBSD's blocked pdwait holds the file, and blocks on a pidfd of the library's for the child.
    /// </summary>
    internal static WaitOutcome Wait(ChildRecord record, int fd, int linuxOptions, ChildHandles handles,
        ReleaseCandidates candidates, KeptExits exits, out WaitReport report, out int errno)
    {
        if (CanConsumeBlocking(record, linuxOptions, handles))
        {
            WaitOutcome taken = ConsumeBlocking(record, fd, linuxOptions, candidates, exits, out report, out errno);
            if (taken != WaitOutcome.NothingYet)
                return taken;
        }
        WaitOutcome outcome = TryConsume(record, fd, linuxOptions, handles.ReapsAtLastClose, exits, out report, out errno);
        if (outcome != WaitOutcome.NothingYet || (linuxOptions & WNOHANG) != 0)
            return outcome;
        record.BeginInFlight();
        ChildHandle own = default;
        try
        {
            // Block on a pidfd of the library's (its held one, or a checked snapshot of the caller's
            // number), so that the status is taken from this child even if the number is closed
            // and reused meanwhile — by another thread, or by Dispose, which kills the child to end
            // this very wait. Without a free descriptor, the caller's number, checked after the block.
            int current = fd;
            switch (handles.Acquire(record, hold: false, out own, out errno))
            {
                case HandleOutcome.Acquired:
                    current = own.Fd;
                    break;
                case HandleOutcome.Gone:
                    lock (record.Gate)
                        record.Reaped = true;
                    return WaitOutcome.Gone;
            }
            while (true)
            {
                BlockUntilReportable(record, current, linuxOptions);
                if (current == fd && !handles.Names(fd, record))
                {
                    switch (handles.Acquire(record, hold: false, out own, out errno))
                    {
                        case HandleOutcome.Gone:
                            // Reaped meanwhile (by another waiter, or outside the library).
                            lock (record.Gate)
                                record.Reaped = true;
                            return WaitOutcome.Gone;
                        case HandleOutcome.Unavailable:
                            return WaitOutcome.Failed;
                    }
                    current = own.Fd;
                }
                outcome = TryConsume(record, current, linuxOptions, handles.ReapsAtLastClose, exits, out report, out errno);
                if (outcome != WaitOutcome.NothingYet)
                    return outcome;
            }
        }
        finally
        {
            own.Dispose();
            if (record.EndInFlight())
                candidates.Add(record); // the caller's last copy was closed while this call held the child
        }
    }

    /// <summary>
    /// Whether a blocking wait may take the status in one consuming waitid: it waits for the exit
    /// alone (a stop or continue report is consumed under the lock, as WNOWAIT asks nothing be
    /// consumed), of a direct child the kernel reaps at that waitid (not the helper parent's, not a
    /// kept zombie's tier, not an auto-reaped kernel-killed child).
    /// </summary>
    private static bool CanConsumeBlocking(ChildRecord record, int linuxOptions, ChildHandles handles) =>
        (linuxOptions & (WNOHANG | WNOWAIT | WSTOPPED | WCONTINUED)) == 0
        && record.CreatedHere && !record.KernelKills && record.Parent is null && !handles.ReapsAtLastClose;

    /// <summary>
    /// The blocking wait for an exit in one consuming waitid on the caller's <paramref name="fd"/>:
    /// the kernel resolves the number to the child when the call starts and keeps the child, not the
    /// number, for the length of the wait, so a close or reuse of the number meanwhile (Dispose on
    /// another thread, which kills the child to end this wait) changes nothing; the call counts as
    /// a reference to the child (<see cref="ChildRecord.InFlight"/>), as FreeBSD's blocked pdwait
    /// holds the file. One thread at a time (<see cref="ChildRecord.Consuming"/>), which publishes
    /// the status under the lock as the call returns. <see cref="WaitOutcome.NothingYet"/>: not
    /// taken here — another thread is making this wait, or the kernel answered something the usual
    /// protocol settles (ECHILD: reaped outside the library; EBADF...).
    /// </summary>
    private static WaitOutcome ConsumeBlocking(ChildRecord record, int fd, int linuxOptions, ReleaseCandidates candidates,
        KeptExits exits, out WaitReport report, out int errno)
    {
        report = default;
        errno = 0;
        lock (record.Gate)
        {
            if (record.Reaped)
                return WaitOutcome.Gone;
            if (record.Consuming)
                return WaitOutcome.NothingYet;
            record.Consuming = true;
        }
        record.BeginInFlight();
        int r = -1;
        LinuxSiginfo info = default;
        NativeRusage usage = default;
        WaitOutcome outcome = WaitOutcome.NothingYet;
        try
        {
            do
            {
                r = waitid(P_PIDFD, fd, &info, linuxOptions | __WALL, &usage);
                errno = r < 0 ? Marshal.GetLastPInvokeError() : 0;
            } while (r < 0 && errno == (int)Errno.EINTR);
        }
        finally
        {
            lock (record.Gate)
            {
                if (r == 0 && info.Pid != 0)
                {
                    report = WaitReport.From(info, usage);
                    MarkReaped(record, report, exits);
                    outcome = WaitOutcome.Reported;
                }
                else if (record.Reaped)
                {
                    outcome = WaitOutcome.Gone; // another waiter took the status first
                }
                record.Consuming = false;
                Monitor.PulseAll(record.Gate);
            }
            if (record.EndInFlight())
                candidates.Add(record); // the caller's last copy was closed while this call held the child
        }
        return outcome;
    }

    /// <summary>Under the record's lock: until the thread in <see cref="ConsumeBlocking"/> has published
    /// what its waitid returned (it does so the moment the call returns).</summary>
    private static void AwaitPublication(ChildRecord record)
    {
        while (record.Consuming)
            Monitor.Wait(record.Gate, 1000);
    }

    private static WaitReport FromStatusWord(ChildRecord record, int status)
    {
        int signal = status & 0x7f;
        // The kernel's kept status carries no uid: the real uid this process gives its children.
        var report = new WaitReport { Pid = record.Pid, Uid = Libc.getuid(), UsageMissing = true };
        if (signal == 0)
            (report.Code, report.Status) = (CLD_EXITED, (status >> 8) & 0xff);
        else
            (report.Code, report.Status) = ((status & 0x80) != 0 ? CLD_DUMPED : CLD_KILLED, signal);
        return report;
    }
}
