using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>sys/resource.h: the descriptor limit.</summary>
internal static unsafe partial class Libc
{
    /// <summary>Not shared: Linux 7, FreeBSD 8 (7 is RLIMIT_NPROC there).</summary>
    internal static readonly int RLIMIT_NOFILE = OperatingSystem.IsFreeBSD() ? FreeBsdLibc.RLIMIT_NOFILE : 7;

    [LibraryImport(Libraries.Libc, EntryPoint = "getrlimit", SetLastError = true)]
    internal static partial int getrlimit(int resource, ulong* limits);
}
