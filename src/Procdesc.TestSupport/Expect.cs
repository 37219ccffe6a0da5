using System.Runtime.InteropServices;

namespace Procdesc.TestSupport;

/// <summary>How a C-shaped call of PdSyscall must fail, checked the same way on FreeBSD and Linux.</summary>
internal static class Expect
{
    /// <summary>
    /// Checks a C-style failure: -1, the canonical errno and the host's number for it. Call it
    /// directly on the call's result, so that nothing runs in between to change errno.
    /// </summary>
    internal static void ShouldFailWith(int result, Errno expected, string? what = null)
    {
        int native = Marshal.GetLastPInvokeError();
        Errno canonical = GetLastError();
        result.ShouldBe(-1, what);
        canonical.ShouldBe(expected, what);
        native.ShouldBe(NativeErrno(expected), what);
    }

    /// <summary>
    /// The host's number for an errno the suites expect. Of those (EPERM, ENOENT, ESRCH, ENOEXEC,
    /// EBADF, ECHILD, EAGAIN, EACCES, EINVAL) only EAGAIN (= EWOULDBLOCK) differs: 35 on FreeBSD, 11 on Linux.
    /// </summary>
    internal static int NativeErrno(Errno errno) => errno == Errno.EAGAIN ? CLibc.EAGAIN : (int)errno;
}
