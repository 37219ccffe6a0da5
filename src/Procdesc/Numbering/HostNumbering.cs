using Mono.Unix.Native;

namespace Procdesc.Numbering;

/// <summary>
/// Translates between the canonical managed vocabulary (Mono.Posix's Signum and Errno, which use
/// Linux numbering) and the host kernel's numbers, and decodes the host's wait status words.
/// </summary>
internal abstract class HostNumbering
{
    /// <summary>The numbering of the running system.</summary>
    internal static readonly HostNumbering Current = OperatingSystem.IsFreeBSD() ? new FreeBsdNumbering() : new LinuxNumbering();

    /// <summary>The largest signal number the host accepts.</summary>
    internal abstract int MaxSignal { get; }

    /// <summary>The host's number for a canonical signal, or -1 when the host has no such signal.</summary>
    internal abstract int SignalToNative(Signum signal);

    /// <summary>The canonical signal for a host signal number.</summary>
    internal abstract Signum SignalFromNative(int signal);

    /// <summary>The canonical errno for a host errno.</summary>
    internal abstract Errno ErrnoFromNative(int errno);

    /// <summary>The host's errno for a canonical one.</summary>
    internal abstract int ErrnoToNative(Errno errno);

    /// <summary>The whole status word the host's wait reports for "continued".</summary>
    internal abstract int ContinuedStatus { get; }
}

/// <summary>Linux: Mono.Posix's canonical numbers are Linux's, so every translation is the identity.</summary>
internal sealed class LinuxNumbering : HostNumbering
{
    internal override int MaxSignal => 64;
    internal override int SignalToNative(Signum signal) => (int)signal is >= 0 and <= 64 ? (int)signal : -1;
    internal override Signum SignalFromNative(int signal) => (Signum)signal;
    internal override Errno ErrnoFromNative(int errno) => (Errno)errno;
    internal override int ErrnoToNative(Errno errno) => (int)errno;
    internal override int ContinuedStatus => 0xffff;
}
