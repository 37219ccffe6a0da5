using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>sys/epoll.h (Linux): the exit reactor's event set.</summary>
internal static unsafe partial class Libc
{
    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_create1", SetLastError = true)]
    internal static partial int epoll_create1(int flags);

    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    internal static partial int epoll_ctl(int epfd, int op, int fd, LinuxEpollEvent* linuxEpollEvent);

    [LibraryImport(Libraries.Libc, EntryPoint = "epoll_wait", SetLastError = true)]
    internal static partial int epoll_wait(int epfd, LinuxEpollEvent* linuxEpollEvents, int maxEvents, int timeout);

    internal const int EPOLL_CLOEXEC = 0x80000, EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
    internal const uint EPOLLIN = 0x1, EPOLLONESHOT = 1u << 30;
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
