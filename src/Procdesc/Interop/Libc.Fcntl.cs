using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>fcntl.h: fcntl(2) and open(2).</summary>
internal static unsafe partial class Libc
{
    internal const int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;

    /// <summary>Not shared: Linux 1030, FreeBSD 17 (sys/sys/fcntl.h). FreeBSD answers 1030 with EINVAL.</summary>
    internal static readonly int F_DUPFD_CLOEXEC = OperatingSystem.IsFreeBSD() ? FreeBsdLibc.F_DUPFD_CLOEXEC : 1030;

    [LibraryImport(Libraries.Libc, EntryPoint = "fcntl", SetLastError = true)]
    internal static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Libraries.Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags);

    // Linux's numbers.
    internal const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;
    internal const int F_SETOWN = 8, F_GETOWN = 9;
}
