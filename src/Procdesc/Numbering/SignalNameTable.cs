using System.Globalization;
using Mono.Unix.Native;

namespace Procdesc.Numbering;

/// <summary>
/// This host's signal names as POSIX.1-2024's str2sig and sig2str spell them: without "SIG",
/// upper case, realtime signals as RTMIN, RTMIN+n, RTMAX-n and RTMAX (the lower half of the range
/// counted from RTMIN, the upper from RTMAX, as Solaris and gnulib do). The realtime range is what
/// programs see: Linux 34–64 (glibc keeps 32 and 33 for itself), FreeBSD 65–126.
/// </summary>
internal static class SignalNameTable
{
    /// <summary>Canonical names, then the aliases also accepted (the first name of a signal is the one given back).</summary>
    private static readonly (string Name, Signum Signal)[] Canonical =
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

    /// <summary>FreeBSD's own signals (sys/signal.h), which have no canonical name.</summary>
    private static readonly (string Name, int Number)[] FreeBsdOnly =
    [
        ("EMT", FreeBsdNumbering.SIGEMT), ("INFO", FreeBsdNumbering.SIGINFO),
        ("THR", FreeBsdNumbering.SIGTHR), ("LIBRT", FreeBsdNumbering.SIGLIBRT),
    ];

    private static readonly (string Name, int Number)[] s_host = HostNames();

    /// <summary>The host's first and last realtime signal as programs see them (SIGRTMIN, SIGRTMAX).</summary>
    internal static (int Min, int Max) Realtime => OperatingSystem.IsFreeBSD()
        ? (FreeBsdNumbering.FreeBsdRealtimeMin, FreeBsdNumbering.FreeBsdRealtimeMax)
        : (FreeBsdNumbering.CanonicalRealtimeMin, FreeBsdNumbering.CanonicalRealtimeMax);

    /// <summary>str2sig: a name without "SIG" (exact case), RTMIN±n, or a decimal number up to the host's largest signal.</summary>
    internal static bool TryParse(string text, out int signal)
    {
        signal = 0;
        if (string.IsNullOrEmpty(text))
            return false;
        if (char.IsAsciiDigit(text[0]))
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out signal) && signal <= HostNumbering.Current.MaxSignal
                || Fail(out signal);
        foreach (var (name, number) in s_host)
        {
            if (name == text)
            {
                signal = number;
                return true;
            }
        }
        (int min, int max) = Realtime;
        if (TryRealtime(text, "RTMIN", +1, min, max - min, out signal) || TryRealtime(text, "RTMAX", -1, max, max - min, out signal))
            return true;
        return Fail(out signal);
    }

    /// <summary>sig2str: the name of host signal <paramref name="signal"/>, or false for a number without one.</summary>
    internal static bool TryName(int signal, out string name)
    {
        foreach (var (known, number) in s_host)
        {
            if (number == signal)
            {
                name = known;
                return true;
            }
        }
        (int min, int max) = Realtime;
        if (signal >= min && signal <= max)
        {
            // The lower half is counted from RTMIN, the upper from RTMAX.
            bool low = signal <= min + (max - min) / 2;
            int delta = low ? signal - min : max - signal;
            name = (low ? "RTMIN" : "RTMAX") + (delta == 0 ? "" : (low ? "+" : "-") + delta.ToString(CultureInfo.InvariantCulture));
            return true;
        }
        name = "";
        return false;
    }

    /// <summary>"RTMIN", or "RTMIN+n" (sign +1) / "RTMAX-n" (sign -1) with 1 ≤ n ≤ range.</summary>
    private static bool TryRealtime(string text, string stem, int sign, int origin, int range, out int signal)
    {
        signal = 0;
        if (!text.StartsWith(stem, StringComparison.Ordinal))
            return false;
        ReadOnlySpan<char> rest = text.AsSpan(stem.Length);
        if (rest.IsEmpty)
        {
            signal = origin;
            return true;
        }
        if (rest[0] != (sign > 0 ? '+' : '-') || rest.Length < 2 || !char.IsAsciiDigit(rest[1])
            || !int.TryParse(rest[1..], NumberStyles.None, CultureInfo.InvariantCulture, out int delta) || delta > range)
            return false;
        signal = origin + sign * delta;
        return true;
    }

    private static bool Fail(out int signal)
    {
        signal = 0;
        return false;
    }

    private static (string, int)[] HostNames()
    {
        var names = new List<(string, int)>();
        foreach (var (name, signal) in Canonical)
            if (HostNumbering.Current.SignalToNative(signal) is int native and > 0)
                names.Add((name, native));
        if (OperatingSystem.IsFreeBSD())
            names.AddRange(FreeBsdOnly);
        return [.. names];
    }
}
