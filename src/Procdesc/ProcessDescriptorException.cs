using System.Runtime.InteropServices;
using Mono.Unix.Native;

namespace Procdesc;

/// <summary>An operating-system error from the <see cref="ProcessDescriptor"/> layer, with its errno.</summary>
public class ProcessDescriptorException : IOException
{
    /// <summary>Creates the exception for an operation that failed with <paramref name="errno"/>.</summary>
    public ProcessDescriptorException(string operation, Errno errno, int nativeErrno)
        : base($"{operation}: {errno} ({Marshal.GetPInvokeErrorMessage(nativeErrno)})")
    {
        Errno = errno;
        NativeErrno = nativeErrno;
    }

    /// <summary>The canonical errno.</summary>
    public Errno Errno { get; }

    /// <summary>The host's errno number.</summary>
    public int NativeErrno { get; }

    /// <summary>The exception for a host errno (translated to the canonical one here, once).</summary>
    internal static ProcessDescriptorException FromNative(string operation, int nativeErrno) =>
        new(operation, Numbering.HostNumbering.Current.ErrnoFromNative(nativeErrno), nativeErrno);

    /// <summary>The exception for a canonical errno, with the host's number for it.</summary>
    internal static ProcessDescriptorException FromCanonical(string operation, Errno errno) =>
        new(operation, errno, Numbering.HostNumbering.Current.ErrnoToNative(errno));

    /// <summary>The exception for the calling thread's last failed PdSyscall call.</summary>
    internal static ProcessDescriptorException FromLastError(string operation) =>
        new(operation, PdSyscall.GetLastError(), Marshal.GetLastPInvokeError());
}
