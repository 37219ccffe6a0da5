using Mono.Unix.Native;
using Procdesc.Backends;
using Procdesc.Numbering;

namespace Procdesc;

/// <summary>
/// FreeBSD's process-descriptor calls, shaped like C so that ported code reads like the original:
/// every call returns -1 on failure and sets errno — <see cref="System.Runtime.InteropServices.Marshal.GetLastPInvokeError"/>
/// holds the host's number, <see cref="GetLastError"/> the canonical one — and none throws for an
/// operating-system error. FreeBSD runs the native system calls; Linux emulates them with pidfds.
/// Use it with <c>using static Procdesc.PdSyscall;</c>.
/// </summary>
public static class PdSyscall
{
    /// <summary>pdfork flag: the child survives the close of its last descriptor (no kill-on-close).</summary>
    public const int PD_DAEMON = (int)PdFlags.Daemon;

    /// <summary>pdfork flag: the new descriptor is close-on-exec.</summary>
    public const int PD_CLOEXEC = (int)PdFlags.CloExec;

    // The contract's argument checks (§1, §3, §4, §5) are the same on every system and come
    // before any descriptor is looked at: they are made here, once, for every backend.
    private const int KnownPdforkFlags = PD_DAEMON | PD_CLOEXEC;
    private const PdWaitOptions KnownWaitOptions = PdWaitOptions.WNOHANG | PdWaitOptions.WUNTRACED
        | PdWaitOptions.WCONTINUED | PdWaitOptions.WNOWAIT | PdWaitOptions.WEXITED | PdWaitOptions.WTRAPPED;
    private const PdWaitOptions ReportingWaitOptions = PdWaitOptions.WEXITED | PdWaitOptions.WUNTRACED
        | PdWaitOptions.WCONTINUED | PdWaitOptions.WTRAPPED;

    /// <summary>The name of the backend in use ("linux-pidfd", "linux-pidfd (no pidfs)" on Linux 5.4 – 6.8,
    /// "freebsd-native", or "unsupported: …").</summary>
    public static string Backend => HostBackend.Current.Name;

    /// <summary>
    /// Creates a child that runs <paramref name="child"/> and a process descriptor for it. Unlike
    /// FreeBSD's pdfork it returns only in the parent, after the child has exec'd (vfork-like);
    /// an exec failure is reported here, with no child left behind.
    /// </summary>
    /// <param name="fd">The new descriptor: the lowest free number; -1 on failure.</param>
    /// <param name="flags"><see cref="PD_DAEMON"/> and/or <see cref="PD_CLOEXEC"/>; others give EINVAL, and so does
    /// PD_DAEMON with <see cref="PdChild.WithKernelKillOnClose"/>.</param>
    /// <param name="child">What the child executes.</param>
    /// <returns>The child's pid, or -1 with errno (EINVAL, the exec's errno, EAGAIN, ENOMEM, EMFILE…;
    /// EOPNOTSUPP for <see cref="PdChild.WithKernelKillOnClose"/> on a Linux kernel before 7.1).</returns>
    public static int pdfork(out int fd, int flags, PdChild child)
    {
        ArgumentNullException.ThrowIfNull(child);
        // A daemon is never killed on close, so kill-on-close by the kernel cannot apply to it.
        if ((flags & ~KnownPdforkFlags) != 0 || (child.KernelKillOnClose && (flags & PD_DAEMON) != 0))
        {
            fd = -1;
            return LastError.Fail(Errno.EINVAL);
        }
        return HostBackend.Current.PdFork(out fd, flags, child);
    }

    /// <summary>The pid of the process behind <paramref name="fd"/>, cached at creation: it stays
    /// available after the child exits and after it is reaped.</summary>
    /// <returns>0, or -1 with EBADF when <paramref name="fd"/> is not an open process descriptor.</returns>
    public static int pdgetpid(int fd, out int pid) => HostBackend.Current.PdGetPid(fd, out pid);

    /// <summary>Sends <paramref name="signal"/> to the process behind <paramref name="fd"/>, and never
    /// to another process, even once its pid has been recycled.</summary>
    /// <returns>0 (also for a zombie, and for signal 0 as a permission check), or -1 with EINVAL (bad
    /// signal, checked first), EBADF, ESRCH (already reaped) or EPERM.</returns>
    public static int pdkill(int fd, Signum signal)
    {
        int native = HostNumbering.Current.SignalToNative(signal);
        return pdkill(fd, native < 0 ? -1 : native);
    }

    /// <summary><see cref="pdkill(int, Signum)"/> with the host's own signal number, for numbers
    /// <see cref="Signum"/> cannot name (realtime signals).</summary>
    public static int pdkill(int fd, int nativeSignal) =>
        nativeSignal < 0 || nativeSignal > HostNumbering.Current.MaxSignal
            ? LastError.Fail(Errno.EINVAL)
            : HostBackend.Current.PdKill(fd, nativeSignal);

    /// <summary>
    /// POSIX.1-2024's str2sig, for the signal numbers <see cref="pdkill(int, int)"/> takes: a name
    /// without "SIG" in upper case ("TERM", "USR1"; this host's own such as FreeBSD's "INFO"), a
    /// realtime signal as "RTMIN", "RTMIN+n", "RTMAX-n" or "RTMAX" (Linux: 34–64, as glibc programs
    /// see them; FreeBSD: 65–126), or a decimal number up to the host's largest signal.
    /// </summary>
    /// <returns>0 with <paramref name="signum"/> set, or -1 with EINVAL for a name or number this host does not have.</returns>
    public static int str2sig(string str, out int signum)
    {
        ArgumentNullException.ThrowIfNull(str);
        return SignalNameTable.TryParse(str, out signum) ? 0 : LastError.Fail(Errno.EINVAL);
    }

    /// <summary>POSIX.1-2024's sig2str: the name of this host's signal <paramref name="signum"/> without
    /// "SIG" ("TERM"; realtime signals "RTMIN+2", "RTMAX-1", counted from the nearer end).</summary>
    /// <returns>0 with <paramref name="str"/> set, or -1 with EINVAL (and "") for a number without a name.</returns>
    public static int sig2str(int signum, out string str) =>
        SignalNameTable.TryName(signum, out str) ? 0 : LastError.Fail(Errno.EINVAL);

    /// <summary>
    /// wait4 for the process behind <paramref name="fd"/> (the call FreeBSD documented, contract §4):
    /// WEXITED is implied; the child is reaped when an exit is reported.
    /// </summary>
    /// <returns>The child's pid with <paramref name="status"/> (decode with the W* helpers) and
    /// <paramref name="rusage"/>; 0 with WNOHANG while nothing is to report; -1 with ECHILD once
    /// reaped, EBADF, or EINVAL (unknown option bits).</returns>
    public static int pdwait4(int fd, out int status, PdWaitOptions options, out Rusage rusage)
    {
        if ((options & ~KnownWaitOptions) == 0)
            return HostBackend.Current.PdWait4(fd, out status, options, out rusage);
        status = 0;
        rusage = default;
        return LastError.Fail(Errno.EINVAL);
    }

    /// <summary>FreeBSD 15.1's pdwait (contract §5): WEXITED is not implied.</summary>
    /// <returns>0 with everything filled; -1 with EINVAL (no reporting option, unknown bits, or a
    /// descriptor that is not a procdesc), EWOULDBLOCK (WNOHANG, nothing to report), ESRCH (already
    /// reaped) or EBADF.</returns>
    public static int pdwait(int fd, out int status, PdWaitOptions options, out WaitRusage wrusage, out PdSigInfo info)
    {
        if ((options & ~KnownWaitOptions) == 0 && (options & ReportingWaitOptions) != 0)
            return HostBackend.Current.PdWait(fd, out status, options, out wrusage, out info);
        status = 0;
        wrusage = default;
        info = default;
        return LastError.Fail(Errno.EINVAL); // WEXITED is not implied (§5)
    }

    /// <summary>close(2) that keeps FreeBSD's kill-on-close: when the last descriptor of a child made
    /// without <see cref="PD_DAEMON"/> closes, the child is sent SIGKILL and reaped in the background.
    /// Returns before the child is dead.</summary>
    public static int close(int fd) => HostBackend.Current.Close(fd);

    /// <summary>poll(2) where process descriptors report POLLHUP (and only that) once the child has
    /// exited; other descriptors are reported exactly as poll(2) does.</summary>
    public static int poll(Pollfd[] fds, int timeout)
    {
        ArgumentNullException.ThrowIfNull(fds);
        return HostBackend.Current.Poll(fds, timeout);
    }

    /// <summary>fstat(2), with FreeBSD's procdesc answer for process descriptors (contract §8).</summary>
    public static int fstat(int fd, out Stat stat) => HostBackend.Current.FStat(fd, out stat);

    /// <summary>dup(2) of any descriptor, close-on-exec or not (the object layer's Duplicate).</summary>
    internal static int dup(int fd, bool closeOnExec) => HostBackend.Current.Dup(fd, closeOnExec);

    /// <summary>1 when <paramref name="fd"/> is close-on-exec, 0 when not, -1 with errno.</summary>
    internal static int iscloexec(int fd) => HostBackend.Current.IsCloseOnExec(fd);

    /// <summary>The canonical errno of the calling thread's last failed PdSyscall call.</summary>
    public static Errno GetLastError() => LastError.Canonical;

    /// <summary>True when the status reports a normal exit.</summary>
    public static bool WIFEXITED(int status) => WaitStatus.Exited(status);

    /// <summary>The exit code of a normal exit.</summary>
    public static int WEXITSTATUS(int status) => WaitStatus.ExitCode(status);

    /// <summary>True when the status reports a death by signal.</summary>
    public static bool WIFSIGNALED(int status) => WaitStatus.Signaled(status);

    /// <summary>The canonical signal that killed the child.</summary>
    public static Signum WTERMSIG(int status) => WaitStatus.TermSignal(status);

    /// <summary>True when the child dumped core.</summary>
    public static bool WCOREDUMP(int status) => WaitStatus.CoreDumped(status);

    /// <summary>True when the status reports a stop.</summary>
    public static bool WIFSTOPPED(int status) => WaitStatus.Stopped(status);

    /// <summary>The canonical signal that stopped the child.</summary>
    public static Signum WSTOPSIG(int status) => WaitStatus.StopSignal(status);

    /// <summary>True when the status reports a continue (SIGCONT).</summary>
    public static bool WIFCONTINUED(int status) => WaitStatus.Continued(status);
}
