namespace Procdesc.Numbering;

/// <summary>
/// poll(2) event bits: Mono.Posix's PollEvents use Linux's numbers, which FreeBSD shares up to
/// POLLRDBAND (0x80). Above that, Linux has POLLWRNORM 0x100 and POLLWRBAND 0x200; FreeBSD has
/// POLLWRNORM = POLLOUT (0x4) and POLLWRBAND 0x100.
/// </summary>
internal static class FreeBsdPollEvents
{
    private const short Shared = 0xff, LinuxWrNorm = 0x100, LinuxWrBand = 0x200, Out = 0x4, FreeBsdWrBand = 0x100;

    internal static short ToNative(short canonical)
    {
        int native = canonical & Shared;
        if ((canonical & LinuxWrNorm) != 0) native |= Out;
        if ((canonical & LinuxWrBand) != 0) native |= FreeBsdWrBand;
        return (short)native;
    }

    /// <param name="native">What FreeBSD reported.</param>
    /// <param name="requested">The canonical events asked for: POLLWRNORM is reported as asked.</param>
    internal static short FromNative(short native, short requested)
    {
        int canonical = native & Shared;
        if ((native & Out) != 0 && (requested & LinuxWrNorm) != 0) canonical |= LinuxWrNorm;
        if ((native & Out) != 0 && (requested & Out) == 0) canonical &= ~Out; // asked POLLWRNORM only
        if ((native & FreeBsdWrBand) != 0) canonical |= LinuxWrBand;
        return (short)canonical;
    }
}
