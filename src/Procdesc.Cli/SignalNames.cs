using System.Globalization;
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
    /// <summary>The preferred name of each signal, then the aliases also accepted.</summary>
    private static readonly (string Name, Signum Signal)[] Names =
    [
        ("HUP", Signum.SIGHUP), ("INT", Signum.SIGINT), ("QUIT", Signum.SIGQUIT), ("ILL", Signum.SIGILL),
        ("TRAP", Signum.SIGTRAP), ("ABRT", Signum.SIGABRT), ("BUS", Signum.SIGBUS), ("FPE", Signum.SIGFPE),
        ("KILL", Signum.SIGKILL), ("USR1", Signum.SIGUSR1), ("SEGV", Signum.SIGSEGV), ("USR2", Signum.SIGUSR2),
        ("PIPE", Signum.SIGPIPE), ("ALRM", Signum.SIGALRM), ("TERM", Signum.SIGTERM), ("STKFLT", Signum.SIGSTKFLT),
        ("CHLD", Signum.SIGCHLD), ("CONT", Signum.SIGCONT), ("STOP", Signum.SIGSTOP), ("TSTP", Signum.SIGTSTP),
        ("TTIN", Signum.SIGTTIN), ("TTOU", Signum.SIGTTOU), ("URG", Signum.SIGURG), ("XCPU", Signum.SIGXCPU),
        ("XFSZ", Signum.SIGXFSZ), ("VTALRM", Signum.SIGVTALRM), ("PROF", Signum.SIGPROF), ("WINCH", Signum.SIGWINCH),
        ("IO", Signum.SIGIO), ("PWR", Signum.SIGPWR), ("SYS", Signum.SIGSYS),
        ("IOT", Signum.SIGABRT), ("CLD", Signum.SIGCHLD), ("POLL", Signum.SIGIO),
    ];

    /// <summary>What the option help and the error message show.</summary>
    internal const string Syntax = "a name (TERM, SIGTERM, KILL, HUP, INT, USR1, …) or this host's number (15)";

    /// <summary>Parses a signal name with or without "SIG" (any case), or this host's number.</summary>
    /// <returns>False for an unknown name, 0, or a number or name this host does not have.</returns>
    internal static bool TryParse(string? text, out Signum signal)
    {
        signal = default;
        if (string.IsNullOrEmpty(text))
            return false;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
            return TryFromHost(number, out signal);
        string name = text.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal))
            name = name[3..];
        foreach (var (known, value) in Names)
        {
            if (known == name && ToHost(value) > 0)
            {
                signal = value;
                return true;
            }
        }
        return false;
    }

    /// <summary>"SIGTERM"; "signal 29" for a host signal without a portable name.</summary>
    internal static string Describe(Signum signal)
    {
        foreach (var (name, value) in Names)
        {
            if (value == signal)
                return "SIG" + name;
        }
        return $"signal {(int)signal}";
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
        // A host signal without a canonical name (FreeBSD's SIGINFO) cannot be sent through Signum.
        if (ToHost(canonical) != host || !Names.Any(n => n.Signal == canonical))
            return false;
        signal = canonical;
        return true;
    }
}
