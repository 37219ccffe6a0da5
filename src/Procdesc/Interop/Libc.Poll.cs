using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>poll.h: poll(2) and struct pollfd.</summary>
internal static unsafe partial class Libc
{
    /// <summary>poll(2); nfds_t is unsigned long on Linux and unsigned int on FreeBSD.</summary>
    internal static int poll(NativePollfd* fds, ulong nfds, int timeout) =>
        OperatingSystem.IsFreeBSD() ? FreeBsdLibc.poll(fds, (uint)nfds, timeout) : LinuxPoll(fds, nfds, timeout);

    [LibraryImport(Libraries.Libc, EntryPoint = "poll", SetLastError = true)]
    private static partial int LinuxPoll(NativePollfd* fds, ulong nfds, int timeout);

    /// <summary>The same on Linux and FreeBSD (FreeBsdAbiTests).</summary>
    internal const short POLLIN = 0x1, POLLHUP = 0x10, POLLNVAL = 0x20;
}

/// <summary>struct pollfd, the same on Linux and FreeBSD.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativePollfd
{
    public int Fd;
    public short Events;
    public short Revents;
}
