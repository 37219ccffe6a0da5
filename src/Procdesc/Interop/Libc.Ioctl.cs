using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>sys/ioctl.h.</summary>
internal static unsafe partial class Libc
{
    [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int ioctl(int fd, ulong request, void* argument);
}
