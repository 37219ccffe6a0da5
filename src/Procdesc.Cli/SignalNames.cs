using Mono.Unix.Native;

namespace Procdesc.Cli;

/// <summary>
/// Signal names and numbers as the user types them (<c>TERM</c>, <c>SIGTERM</c>, <c>15</c>) and as
/// the tool prints them. Signals are held as the library's canonical <see cref="Signum"/>
/// (Linux numbering), which <see cref="ProcessDescriptor.Kill"/> translates; numbers the user types,
/// and numbers the tool reports (128 + n), are this host's own, as kill(1) and the shell use them —
/// they differ between FreeBSD and Linux for USR1, USR2, CHLD, STOP and a few more.
/// </summary>
internal static class SignalNames
{
    /// <summary>What the option help and the error message show.</summary>
    internal const string Syntax = "a name (TERM, SIGTERM, KILL, HUP, INT, USR1, RTMIN+2, RTMAX-1, …) or this host's number (15)";

    /// <summary>Parses a signal name with or without "SIG" (any case), a realtime signal as
    /// RTMIN+N / RTMAX-N, or this host's number, through the library's str2sig.</summary>
    /// <returns>False for an unknown name, 0, or a number or name this host does not have.</returns>
    internal static bool TryParse(string? text, out Signum signal)
    {
        signal = default;
        if (string.IsNullOrEmpty(text))
            return false;
        string name = text.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal))
            name = name[3..];
        if (PdSyscall.str2sig(name, out int host) != 0 || host == 0)
            return false;
        return TryFromHost(host, out signal);
    }

    /// <summary>"SIGTERM", "SIGRTMIN+2"; "signal 32" for a host signal without a name.</summary>
    internal static string Describe(Signum signal)
    {
        int host = ToHost(signal);
        return PdSyscall.sig2str(host, out string name) == 0 ? "SIG" + name : $"signal {host}";
    }

    /// <summary>This host's number for <paramref name="signal"/>; -1 when the host has no such signal.</summary>
    internal static int ToHost(Signum signal)
    {
        // The library's numbering tables are internal; PdSyscall.WTERMSIG is their public
        // host → canonical direction, so the reverse is found by search (a few dozen entries).
        for (int host = 1; host < 0x7f; host++)
        {
            if (PdSyscall.WTERMSIG(host) == signal)
                return host;
        }
        return -1;
    }

    /// <summary>The canonical signal of this host's number <paramref name="host"/>.</summary>
    private static bool TryFromHost(int host, out Signum signal)
    {
        signal = default;
        // 0x7f in a wait status means "stopped", so no host numbers a signal that high.
        if (host is < 1 or >= 0x7f)
            return false;
        Signum canonical = PdSyscall.WTERMSIG(host);
        if (ToHost(canonical) != host)
            return false;
        signal = canonical;
        return true;
    }
}
