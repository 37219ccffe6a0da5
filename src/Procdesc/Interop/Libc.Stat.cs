using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>sys/stat.h: fstat(2) into the host's struct stat (LinuxStat, FreeBsdStat read it).</summary>
internal static unsafe partial class Libc
{
    [LibraryImport(Libraries.Libc, EntryPoint = "fstat", SetLastError = true)]
    internal static partial int fstat(int fd, byte* statBuffer);
}
