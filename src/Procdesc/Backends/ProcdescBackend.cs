using Mono.Unix.Native;
using Procdesc.Interop;

namespace Procdesc.Backends;

/// <summary>
/// One operating system's implementation of the C-shaped calls. Every method follows the C
/// convention: a result ≥ 0, or -1 after <see cref="LastError.Fail(int)"/>; none throws for an
/// operating-system error. Arguments are already checked by <see cref="PdSyscall"/>: no nulls, no
/// unknown pdfork flags or wait options, pdwait with a reporting option, signals in range.
/// Backends never build an exception: errno is turned into one by the object layer only.
/// </summary>
internal abstract class ProcdescBackend
{
    /// <summary>A short name for reports ("linux-pidfd", …).</summary>
    internal abstract string Name { get; }

    /// <summary>The optional features this backend looks for, probed safely, in a fixed order.</summary>
    internal abstract IReadOnlyList<HostFeature> ProbeFeatures();

    internal abstract int PdFork(out int fd, int flags, PdChild child);
    internal abstract int PdGetPid(int fd, out int pid);
    internal abstract int PdKill(int fd, int nativeSignal);
    internal abstract int PdWait4(int fd, out int status, PdWaitOptions options, out Rusage rusage);
    internal abstract int PdWait(int fd, out int status, PdWaitOptions options, out WaitRusage wrusage, out PdSigInfo info);
    internal abstract int Close(int fd);
    internal abstract int Poll(Pollfd[] fds, int timeout);
    internal abstract int FStat(int fd, out Stat stat);

    /// <summary>What <see cref="PdChild.WithSandbox"/> enforces on this host; <see cref="SandboxLevel.None"/>
    /// where the host refuses such a child (pdfork: EOPNOTSUPP).</summary>
    internal virtual SandboxLevel ChildSandbox => SandboxLevel.None;

    /// <summary>What this process can enter itself, every thread at once, after it has started:
    /// FreeBSD's capability mode. None on Linux, where Landlock binds one thread only.</summary>
    internal virtual SandboxLevel SelfSandbox => SandboxLevel.None;

    /// <summary>Enters <see cref="SelfSandbox"/> for good: 0, or -1 (EOPNOTSUPP where there is none).</summary>
    internal virtual int EnterSandbox() => LastError.Fail(Errno.EOPNOTSUPP);

    /// <summary>dup(2) as F_DUPFD, or F_DUPFD_CLOEXEC: a copy at the lowest free number. A copy
    /// needs no bookkeeping: every call finds the child behind whatever number it is given.</summary>
    internal int Dup(int fd, bool closeOnExec)
    {
        int copy = Libc.fcntl(fd, closeOnExec ? Libc.F_DUPFD_CLOEXEC : Libc.F_DUPFD, 0);
        return copy >= 0 ? copy : LastError.FailFromLastPInvoke();
    }

    /// <summary>Whether <paramref name="fd"/> is close-on-exec: 1 or 0, or -1 with errno.</summary>
    internal int IsCloseOnExec(int fd)
    {
        int flags = Libc.fcntl(fd, Libc.F_GETFD, 0);
        return flags < 0 ? LastError.FailFromLastPInvoke() : (flags & Libc.FD_CLOEXEC) != 0 ? 1 : 0;
    }

    // The exit watch: the one primitive the object layer (ProcessDescriptor) needs beyond the
    // C-shaped calls. Same convention: -1 with errno, no exception for an operating-system error.

    /// <summary>The pid of a child this library made, behind any copy of its descriptor, and whether
    /// it was made with PD_DAEMON; -1 with EBADF for anything else.</summary>
    internal abstract int ChildOf(int fd, out int pid, out bool daemon);

    /// <summary>
    /// The child's exit status: 1 with <paramref name="status"/> once it has exited (reaping it if
    /// nobody has; the status is kept for every later caller on every copy), 0 while it runs
    /// (only when <paramref name="block"/> is false), -1 with errno (ECHILD: reaped with no status kept).
    /// </summary>
    internal abstract int TakeExit(int fd, bool block, out ExitStatus status);

    /// <summary>
    /// Reports the child's exit to <paramref name="watcher"/> (the status <see cref="TakeExit"/>
    /// gives, or an errno), from one background thread that watches every child — at once, on this
    /// thread, if it is known already. 0 once the watch is placed; -1 with errno (EBADF; ECHILD for
    /// a process this library did not make), and then the watcher gets no report.
    /// </summary>
    internal abstract int WatchExit(int fd, ExitWatcher watcher);

    /// <summary>
    /// The object layer is disposing <paramref name="fd"/> while calls may still be blocked on it
    /// (they keep the descriptor open until they return): a child made without PD_DAEMON that no
    /// other copy keeps is killed now, so that those calls return its SIGKILL status. The object
    /// layer says whether one of its own waits is blocked; the backend knows of blocked C-shaped
    /// calls. Never fails.
    /// </summary>
    internal abstract void KillBeforeDispose(int fd, bool objectLayerWaitBlocked);
}
