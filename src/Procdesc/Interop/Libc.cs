using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>The libc functions the library calls directly (never Mono.Posix's native helper).</summary>
internal static unsafe partial class Libc
{
    internal const int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;

    /// <summary>Not shared: Linux 1030, FreeBSD 17 (sys/sys/fcntl.h). FreeBSD answers 1030 with EINVAL.</summary>
    internal static readonly int F_DUPFD_CLOEXEC = OperatingSystem.IsFreeBSD() ? FreeBsdLibc.F_DUPFD_CLOEXEC : 1030;

    /// <summary>Not shared: Linux 7, FreeBSD 8 (7 is RLIMIT_NPROC there).</summary>
    internal static readonly int RLIMIT_NOFILE = OperatingSystem.IsFreeBSD() ? FreeBsdLibc.RLIMIT_NOFILE : 7;

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

    /// <summary>poll(2); nfds_t is unsigned long on Linux and unsigned int on FreeBSD.</summary>
    internal static int poll(NativePollfd* fds, ulong nfds, int timeout) =>
        OperatingSystem.IsFreeBSD() ? FreeBsdLibc.poll(fds, (uint)nfds, timeout) : LinuxPoll(fds, nfds, timeout);

    [LibraryImport(Libraries.Libc, EntryPoint = "poll", SetLastError = true)]
    private static partial int LinuxPoll(NativePollfd* fds, ulong nfds, int timeout);

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

    /// <summary>The calling thread's ids (Linux keeps credentials per thread; these calls read the caller's).</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "getresuid", SetLastError = true)]
    internal static partial int getresuid(uint* ruid, uint* euid, uint* suid);

    [LibraryImport(Libraries.Libc, EntryPoint = "getresgid", SetLastError = true)]
    internal static partial int getresgid(uint* rgid, uint* egid, uint* sgid);

    [LibraryImport(Libraries.Libc, EntryPoint = "getgroups", SetLastError = true)]
    internal static partial int getgroups(int size, uint* list);

    [LibraryImport(Libraries.Libc, EntryPoint = "sysconf")]
    internal static partial long sysconf(int name);

    /// <summary>uname(2) into a buffer of the host's struct utsname (see KernelVersion).</summary>
    [LibraryImport(Libraries.Libc, EntryPoint = "uname")]
    internal static partial int uname(byte* buffer);

    [LibraryImport(Libraries.Libc, EntryPoint = "getrlimit", SetLastError = true)]
    internal static partial int getrlimit(int resource, ulong* limits);

    [LibraryImport(Libraries.Libc, EntryPoint = "eventfd", SetLastError = true)]
    internal static partial int eventfd(uint initval, int flags);

    [LibraryImport(Libraries.Libc, EntryPoint = "read", SetLastError = true)]
    internal static partial nint read(int fd, void* buffer, nuint count);

    [LibraryImport(Libraries.Libc, EntryPoint = "write", SetLastError = true)]
    internal static partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport(Libraries.Libc, EntryPoint = "pipe2", SetLastError = true)]
    internal static partial int pipe2(int* fds, int flags);

    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_create1", SetLastError = true)]
    internal static partial int epoll_create1(int flags);

    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    internal static partial int epoll_ctl(int epfd, int op, int fd, LinuxEpollEvent* linuxEpollEvent);

    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_wait", SetLastError = true)]
    internal static partial int epoll_wait(int epfd, LinuxEpollEvent* linuxEpollEvents, int maxEvents, int timeout);

    // Linux's numbers from here on (the Linux backend's own calls).
    internal const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000, EFD_CLOEXEC = 0x80000;
    internal const int F_SETOWN = 8, F_GETOWN = 9, SEEK_SET = 0, _SC_CLK_TCK = 2;
    internal const int EPOLL_CLOEXEC = 0x80000, EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
    internal const uint EPOLLIN = 0x1, EPOLLONESHOT = 1u << 30;
    /// <summary>The same on Linux and FreeBSD (FreeBsdAbiTests).</summary>
    internal const short POLLIN = 0x1, POLLHUP = 0x10, POLLNVAL = 0x20;
}

/// <summary>struct epoll_event: packed on x86_64 (12 bytes), naturally aligned on aarch64 (16 bytes).
/// The library's arrays are of this type, sized for either; each element is read and written as
/// the architecture's own struct (<see cref="EpollEventX64"/> or <see cref="EpollEventAligned"/>).</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct LinuxEpollEvent
{
    private static readonly bool Packed = RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>The size of one event in an array the kernel fills.</summary>
    internal static unsafe int Size => Packed ? sizeof(EpollEventX64) : sizeof(EpollEventAligned);

    internal static unsafe LinuxEpollEvent Of(uint events, ulong data)
    {
        var e = new LinuxEpollEvent();
        if (Packed)
            *(EpollEventX64*)&e = new EpollEventX64 { Events = events, Data = data };
        else
            *(EpollEventAligned*)&e = new EpollEventAligned { Events = events, Data = data };
        return e;
    }

    /// <summary>The data word of the <paramref name="index"/>th event of an array the kernel filled.</summary>
    internal static unsafe ulong DataAt(LinuxEpollEvent* events, int index) => Packed
        ? ((EpollEventX64*)events)[index].Data
        : ((EpollEventAligned*)events)[index].Data;
}

/// <summary>struct epoll_event on x86_64: __attribute__((packed)).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct EpollEventX64
{
    public uint Events;
    public ulong Data;
}

/// <summary>struct epoll_event on the other architectures (aarch64): natural alignment.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct EpollEventAligned
{
    public uint Events;
    public ulong Data;
}

/// <summary>struct pollfd, the same on Linux and FreeBSD.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativePollfd
{
    public int Fd;
    public short Events;
    public short Revents;
}
