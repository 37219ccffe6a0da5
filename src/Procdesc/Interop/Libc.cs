using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>The libc functions the library calls directly (never Mono.Posix's native helper).</summary>
internal static unsafe partial class Libc
{
    internal const int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;

    /// <summary>Not shared: Linux 1030, FreeBSD 17 (sys/sys/fcntl.h). FreeBSD answers 1030 with EINVAL.</summary>
    internal static readonly int F_DUPFD_CLOEXEC = OperatingSystem.IsFreeBSD() ? 17 : 1030;
    internal const int RLIMIT_NOFILE = 7;

    [LibraryImport(Libraries.Libc, EntryPoint = "close", SetLastError = true)]
    internal static partial int close(int fd);

    /// <summary>Closes a descriptor of the library's own without disturbing the errno a failed
    /// call has just recorded for its caller.</summary>
    internal static void CloseKeepingErrno(int fd)
    {
        int errno = Marshal.GetLastPInvokeError();
        close(fd);
        Marshal.SetLastPInvokeError(errno);
    }

    [LibraryImport(Libraries.Libc, EntryPoint = "fcntl", SetLastError = true)]
    internal static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Libraries.Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags);

    [LibraryImport(Libraries.Libc, EntryPoint = "lseek", SetLastError = true)]
    internal static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Libraries.Libc, EntryPoint = "fstat", SetLastError = true)]
    internal static partial int fstat(int fd, byte* statBuffer);

    [LibraryImport(Libraries.Libc, EntryPoint = "poll", SetLastError = true)]
    internal static partial int poll(NativePollfd* fds, ulong nfds, int timeout);

    [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int ioctl(int fd, ulong request, void* argument);

    [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long syscall(long number, long a1, long a2, long a3, long a4, long a5);

    [LibraryImport(Libraries.Libc, EntryPoint = "getpid")]
    internal static partial int getpid();

    [LibraryImport(Libraries.Libc, EntryPoint = "getuid")]
    internal static partial uint getuid();

    [LibraryImport(Libraries.Libc, EntryPoint = "getgid")]
    internal static partial uint getgid();

    [LibraryImport(Libraries.Libc, EntryPoint = "sysconf")]
    internal static partial long sysconf(int name);

    [LibraryImport(Libraries.Libc, EntryPoint = "getrlimit", SetLastError = true)]
    internal static partial int getrlimit(int resource, ulong* limits);

    [LibraryImport(Libraries.Libc, EntryPoint = "eventfd", SetLastError = true)]
    internal static partial int eventfd(uint initval, int flags);

    [LibraryImport(Libraries.Libc, EntryPoint = "read", SetLastError = true)]
    internal static partial nint read(int fd, void* buffer, nuint count);

    [LibraryImport(Libraries.Libc, EntryPoint = "write", SetLastError = true)]
    internal static partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_create1", SetLastError = true)]
    internal static partial int epoll_create1(int flags);

    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    internal static partial int epoll_ctl(int epfd, int op, int fd, byte* linuxEpollEvent);

    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_wait", SetLastError = true)]
    internal static partial int epoll_wait(int epfd, byte* linuxEpollEvents, int maxEvents, int timeout);
}

/// <summary>struct pollfd, the same on Linux and FreeBSD.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativePollfd
{
    public int Fd;
    public short Events;
    public short Revents;
}
