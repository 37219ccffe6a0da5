using Mono.Unix.Native;
using Procdesc.Numbering;

namespace Procdesc;

/// <summary>
/// The decoding of a wait(2) status word, written once for <see cref="PdSyscall"/>'s W* macros and
/// <see cref="ExitStatus"/>. The layout is the same on Linux and FreeBSD; only the continue word
/// and the signal numbers differ, and those come from the host's numbering.
/// </summary>
internal static class WaitStatus
{
    internal static bool Exited(int status) => (status & 0x7f) == 0;

    internal static int ExitCode(int status) => (status >> 8) & 0xff;

    internal static bool Signaled(int status) => (status & 0x7f) != 0 && (status & 0x7f) != 0x7f && !Continued(status);

    internal static Signum TermSignal(int status) => HostNumbering.Current.SignalFromNative(status & 0x7f);

    internal static bool CoreDumped(int status) => Signaled(status) && (status & 0x80) != 0;

    internal static bool Stopped(int status) => (status & 0xff) == 0x7f && !Continued(status);

    internal static Signum StopSignal(int status) => HostNumbering.Current.SignalFromNative((status >> 8) & 0xff);

    internal static bool Continued(int status) => status == HostNumbering.Current.ContinuedStatus;
}
