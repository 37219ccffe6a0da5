namespace Procdesc.Interop;

internal static partial class Libc
{
    internal const int AF_UNIX = 1, SOCK_STREAM = 1;

    /// <summary>SOCK_CLOEXEC: 0x80000 on Linux, 0x10000000 on FreeBSD (sys/socket.h).</summary>
    internal static readonly int SOCK_CLOEXEC = OperatingSystem.IsFreeBSD() ? 0x10000000 : 0x80000;
}
