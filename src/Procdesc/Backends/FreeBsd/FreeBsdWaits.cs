using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;

namespace Procdesc.Backends.FreeBsd;

/// <summary>
/// One wait on a process descriptor with FreeBSD 15.1's pdwait semantics: the native call where
/// libc has it (found by symbol lookup, never by probing the system call), else wait6 on the
/// descriptor's pid. Returns 0 with a report, or -1 with the host errno pdwait gives: EWOULDBLOCK
/// (WNOHANG, nothing to report), ESRCH (already reaped), EBADF, EINVAL.
/// </summary>
internal static unsafe class FreeBsdWaits
{
    internal const int EWOULDBLOCK = FreeBsdLibc.EWOULDBLOCK;

    private static readonly delegate* unmanaged<int, int*, int, NativeRusage*, FreeBsdSiginfo*, int> s_pdwait =
        (delegate* unmanaged<int, int*, int, NativeRusage*, FreeBsdSiginfo*, int>)LibcExport("pdwait");

    /// <summary>libc's pdrfork_thread (FreeBSD 15.1), or null.</summary>
    internal static readonly void* PdrforkThread = (void*)LibcExport("pdrfork_thread");

    internal static bool NativePdwait => s_pdwait != null;

    /// <summary>Waits through <paramref name="fd"/>; <paramref name="options"/> are FreeBSD's bits (the
    /// values of <see cref="PdWaitOptions"/>); <paramref name="wrusage"/> points at two struct rusage.</summary>
    internal static int Wait(int fd, int options, out int status, NativeRusage* wrusage, out FreeBsdSiginfo info, out int errno)
    {
        int s = 0;
        FreeBsdSiginfo si = default;
        int r;
        if (s_pdwait != null)
        {
            r = s_pdwait(fd, &s, options, wrusage, &si);
            errno = r < 0 ? Marshal.GetLastSystemError() : 0;
            // pdwait answers 0 for a report, so a WNOHANG call with nothing to report must not
            // be read as one: a report always names the child (si_pid, as wait6 fills it in
            // kern_exit.c's proc_to_reap), "nothing yet" leaves the siginfo zeroed. The contract
            // has the kernel answer EWOULDBLOCK here; this keeps a 0 from ever becoming "exited
            // with code 0" (and a kept status) should it answer 0 instead.
            if (r == 0 && si.Pid == 0 && (options & FreeBsdLibc.WNOHANG) != 0)
            {
                r = -1;
                errno = EWOULDBLOCK;
            }
        }
        else
        {
            r = Emulated(fd, options, &s, wrusage, &si, out errno);
        }
        status = s;
        info = si;
        return r;
    }

    /// <summary>pdwait from wait6(P_PID, pdgetpid(fd)): pdfork children are visible to an explicit
    /// pid. fstat first tells a reaped child (all-zero owner and times), whose pid may already name
    /// another process, from one still waitable.</summary>
    private static int Emulated(int fd, int options, int* status, NativeRusage* wrusage, FreeBsdSiginfo* info, out int errno)
    {
        int pid;
        if (FreeBsdLibc.pdgetpid(fd, &pid) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            // pdwait: EBADF for a closed number, EINVAL for an open descriptor of another kind.
            if (errno == (int)Errno.EBADF && Libc.fcntl(fd, Libc.F_GETFD, 0) >= 0)
                errno = (int)Errno.EINVAL;
            return -1;
        }
        if (FreeBsdStat.Full(fd, out Stat stat) == 0 && stat.st_uid == 0 && stat.st_ctime == 0 && stat.st_ctime_nsec == 0)
        {
            errno = (int)Errno.ESRCH;
            return -1;
        }
        int r;
        do
        {
            r = FreeBsdLibc.wait6(FreeBsdLibc.P_PID, pid, status, options, wrusage, info);
            errno = r < 0 ? Marshal.GetLastPInvokeError() : 0;
        } while (r < 0 && errno == (int)Errno.EINTR);
        if (r > 0)
            return 0;
        if (r == 0)
        {
            errno = EWOULDBLOCK;
            return -1;
        }
        if (errno == (int)Errno.ECHILD)
            errno = (int)Errno.ESRCH;
        return -1;
    }

    /// <summary>
    /// A libc function that needs FreeBSD 15.1's kernel: found by symbol lookup, and used only when
    /// the running kernel is 15.1 or later too — a newer userland on an older kernel would turn the
    /// call into an unknown system call, which raises SIGSYS.
    /// </summary>
    private static nint LibcExport(string name) =>
        OperatingSystem.IsFreeBSD() && KernelVersion.AtLeast(15, 1)
        && NativeLibrary.TryLoad("libc.so.7", out nint libc) && NativeLibrary.TryGetExport(libc, name, out nint address)
            ? address
            : 0;
}
