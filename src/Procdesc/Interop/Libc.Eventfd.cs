using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>sys/eventfd.h (Linux).</summary>
internal static unsafe partial class Libc
{
    [LibraryImport(Libraries.Libc, EntryPoint = "eventfd", SetLastError = true)]
    internal static partial int eventfd(uint initval, int flags);

    internal const int EFD_CLOEXEC = 0x80000;
}
