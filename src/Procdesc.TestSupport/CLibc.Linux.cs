using System.Runtime.InteropServices;

namespace Procdesc.TestSupport;

/// <summary>The Linux-only calls the unit tests of the emulation make (prctl, prlimit, pidfd_open,
/// descriptors over a socket with Linux's msghdr layout); the conformance suite never uses them.</summary>
internal static unsafe partial class CLibc
{
    [LibraryImport(Lib, SetLastError = true)] internal static partial int prctl(int option, long a2, long a3, long a4, long a5);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int prlimit(int pid, int resource, ulong* newLimits, ulong* oldLimits);
    [LibraryImport(Lib, SetLastError = true)] internal static partial long syscall(long number, long a1, long a2, long a3);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint sendmsg(int fd, void* msg, int flags);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint recvmsg(int fd, void* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)] internal static partial int socket(int domain, int type, int protocol);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int connect(int fd, byte* address, int length);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int bind(int fd, byte* address, int length);
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] internal static partial int unlink(string path);

    internal static int pidfd_open(int pid) => (int)syscall(434, pid, 0, 0);

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
