using System.Runtime.InteropServices;

namespace Procdesc.Tests.Support;

/// <summary>libc calls the tests make behind the library's back (never through Mono.Posix's native helper).</summary>
internal static unsafe partial class TestLibc
{
    private const string Lib = "libc";

    internal const int O_RDONLY = 0, O_CLOEXEC = 0x80000, F_GETFD = 1, FD_CLOEXEC = 1;
    internal const int WNOHANG = 1, WEXITED = 4, WNOWAIT = 0x01000000, P_ALL = 0, P_PID = 1;
    internal const int AF_UNIX = 1, SOCK_STREAM = 1;

    [LibraryImport(Lib, SetLastError = true)] internal static partial int close(int fd);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int dup(int fd);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int dup2(int fd, int to);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int fcntl(int fd, int cmd, int arg);
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] internal static partial int open(string path, int flags, int mode);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int pipe2(int* fds, int flags);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int socketpair(int domain, int type, int protocol, int* fds);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint read(int fd, byte* buffer, nint count);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint write(int fd, byte* buffer, nint count);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int waitpid(int pid, int* status, int options);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int waitid(int idtype, int id, byte* siginfo, int options);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int kill(int pid, int signal);
    [LibraryImport(Lib)] internal static partial int getpid();
    [LibraryImport(Lib, SetLastError = true)] internal static partial int prctl(int option, long a2, long a3, long a4, long a5);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int getrlimit(int resource, ulong* limits);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int setrlimit(int resource, ulong* limits);
    internal const int RLIMIT_NOFILE = 7;
    [LibraryImport(Lib, SetLastError = true)] internal static partial int prlimit(int pid, int resource, ulong* newLimits, ulong* oldLimits);

    /// <summary>Another process's soft RLIMIT_NOFILE.</summary>
    internal static ulong SoftFileLimit(int pid)
    {
        ulong* old = stackalloc ulong[2];
        prlimit(pid, RLIMIT_NOFILE, null, old).ShouldBe(0);
        return old[0];
    }

    /// <summary>Sets another process's soft RLIMIT_NOFILE from outside (prlimit(1)'s way), keeping its hard limit.</summary>
    internal static void SetSoftFileLimit(int pid, ulong soft)
    {
        ulong* limits = stackalloc ulong[2];
        prlimit(pid, RLIMIT_NOFILE, null, limits).ShouldBe(0);
        limits[0] = soft;
        prlimit(pid, RLIMIT_NOFILE, limits, null).ShouldBe(0);
    }
    [LibraryImport(Lib, SetLastError = true)] internal static partial long syscall(long number, long a1, long a2, long a3);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint sendmsg(int fd, void* msg, int flags);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint recvmsg(int fd, void* msg, int flags);

    internal static int Errno => Marshal.GetLastPInvokeError();

    internal static int pidfd_open(int pid) => (int)syscall(434, pid, 0, 0);

    internal static (int Read, int Write) Pipe(bool cloexec = true)
    {
        int* fds = stackalloc int[2];
        pipe2(fds, cloexec ? O_CLOEXEC : 0).ShouldBe(0);
        return (fds[0], fds[1]);
    }

    internal static (int A, int B) SocketPair()
    {
        int* fds = stackalloc int[2];
        socketpair(AF_UNIX, SOCK_STREAM | O_CLOEXEC, 0, fds).ShouldBe(0);
        return (fds[0], fds[1]);
    }

    internal static bool IsCloseOnExec(int fd) => (fcntl(fd, F_GETFD, 0) & FD_CLOEXEC) != 0;

    /// <summary>Sends a descriptor over a Unix socket (SCM_RIGHTS).</summary>
    internal static void SendFd(int socket, int fd)
    {
        byte data = 1;
        byte* control = stackalloc byte[24];
        new Span<byte>(control, 24).Clear();
        *(ulong*)control = 20;      // cmsg_len = CMSG_LEN(sizeof(int))
        *(int*)(control + 8) = 1;   // SOL_SOCKET
        *(int*)(control + 12) = 1;  // SCM_RIGHTS
        *(int*)(control + 16) = fd;
        var iov = stackalloc nint[2] { (nint)(&data), 1 };
        var msg = stackalloc nint[7] { 0, 0, (nint)iov, 1, (nint)control, 24, 0 };
        sendmsg(socket, msg, 0).ShouldBe(1);
    }

    /// <summary>Receives a descriptor sent with <see cref="SendFd"/>.</summary>
    internal static int ReceiveFd(int socket)
    {
        byte data = 0;
        byte* control = stackalloc byte[24];
        new Span<byte>(control, 24).Clear();
        var iov = stackalloc nint[2] { (nint)(&data), 1 };
        var msg = stackalloc nint[7] { 0, 0, (nint)iov, 1, (nint)control, 24, 0 };
        recvmsg(socket, msg, 0x40000000 /* MSG_CMSG_CLOEXEC */).ShouldBe(1);
        return *(int*)(control + 16);
    }
}
