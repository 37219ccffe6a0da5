using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>Unix sockets and descriptor passing (sys/socket.h, 64-bit Linux): the helper parent's channel.</summary>
internal static unsafe partial class LinuxSockets
{
    internal const int AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0x80000;
    internal const int SOL_SOCKET = 1, SCM_RIGHTS = 1;
    internal const int MSG_CTRUNC = 0x8, MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;

    /// <summary>CMSG_LEN(sizeof(int) * count): the header (16 bytes) and the descriptors.</summary>
    internal static int ControlLength(int count) => sizeof(ControlHeader) + count * sizeof(int);

    /// <summary>CMSG_SPACE(sizeof(int) * count).</summary>
    internal static int ControlSpace(int count) => sizeof(ControlHeader) + ((count * sizeof(int) + 7) & ~7);

    [LibraryImport(Libraries.Libc, EntryPoint = "socketpair", SetLastError = true)]
    internal static partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport(Libraries.Libc, EntryPoint = "sendmsg", SetLastError = true)]
    internal static partial nint sendmsg(int fd, MessageHeader* message, int flags);

    [LibraryImport(Libraries.Libc, EntryPoint = "recvmsg", SetLastError = true)]
    internal static partial nint recvmsg(int fd, MessageHeader* message, int flags);
}

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVector
{
    public void* Base;
    public nuint Length;
}

/// <summary>struct msghdr (56 bytes on 64-bit Linux).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MessageHeader
{
    public void* Name;
    public uint NameLength;
    public IoVector* Vectors;
    public nuint VectorCount;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct cmsghdr (16 bytes on 64-bit Linux); the data follows it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ControlHeader
{
    public nuint Length;
    public int Level;
    public int Type;
}
