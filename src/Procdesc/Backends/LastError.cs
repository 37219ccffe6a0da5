using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Numbering;

namespace Procdesc.Backends;

/// <summary>The errno of the calling thread's last failed PdSyscall call, native and canonical.</summary>
internal static class LastError
{
    [ThreadStatic] private static Errno t_canonical;

    internal static Errno Canonical => t_canonical;

    /// <summary>Records a failure with the host's errno and returns -1, C style.</summary>
    internal static int Fail(int nativeErrno)
    {
        Marshal.SetLastPInvokeError(nativeErrno);
        t_canonical = HostNumbering.Current.ErrnoFromNative(nativeErrno);
        return -1;
    }

    /// <summary>Records a failure with a canonical errno and returns -1.</summary>
    internal static int Fail(Errno canonical) => Fail(HostNumbering.Current.ErrnoToNative(canonical));

    /// <summary>Records the errno the last P/Invoke left and returns -1.</summary>
    internal static int FailFromLastPInvoke() => Fail(Marshal.GetLastPInvokeError());
}
