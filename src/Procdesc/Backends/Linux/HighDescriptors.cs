using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;

namespace Procdesc.Backends.Linux;

/// <summary>
/// Places the library's own descriptors (anchors, temporary copies, the reaper's handles) at or
/// above a floor, away from the lowest numbers a caller expects its next open or pdfork to get.
/// Where RLIMIT_NOFILE (perhaps lowered since start-up) leaves nothing up there, any free number
/// beats failing the caller's call.
/// </summary>
internal static class HighDescriptors
{
    /// <summary>A close-on-exec copy of <paramref name="fd"/>, high if possible; -1 with errno.</summary>
    internal static int Duplicate(int fd, int floor)
    {
        int copy = Libc.fcntl(fd, Libc.F_DUPFD_CLOEXEC, floor);
        if (copy < 0 && Marshal.GetLastPInvokeError() is (int)Errno.EINVAL or (int)Errno.EMFILE)
            copy = Libc.fcntl(fd, Libc.F_DUPFD_CLOEXEC, 0);
        return copy;
    }

    /// <summary>Moves a descriptor the library just opened above the floor; keeps it where it is if it cannot.</summary>
    internal static int MoveAbove(int fd, int floor)
    {
        if (fd < 0 || fd >= floor)
            return fd;
        int moved = Libc.fcntl(fd, Libc.F_DUPFD_CLOEXEC, floor);
        if (moved < 0)
            return fd;
        Libc.close(fd);
        return moved;
    }
}
