using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>sys/utsname.h.</summary>
internal static unsafe partial class Libc
{
    /// <summary>uname(2) into a buffer of the host's struct utsname (see KernelVersion).</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "uname")]
    internal static partial int uname(byte* buffer);
}
