using Mono.Unix.Native;

namespace Procdesc.Numbering;

/// <summary>
/// FreeBSD's numbers for the canonical (Linux-numbered) Signum and Errno values. Numbers the two
/// systems share translate to themselves; the tables list the others. A FreeBSD number with no
/// canonical name (SIGINFO, ENOTCAPABLE…) is given back as its own number plus
/// <see cref="NoCanonicalName"/>, outside every canonical value, so it is never taken for another.
/// </summary>
internal sealed class FreeBsdNumbering : HostNumbering
{
    /// <summary>Offset added to a FreeBSD number that has no canonical name.</summary>
    internal const int NoCanonicalName = 1000;

    /// <summary>Canonical signal → FreeBSD signal, where they differ (platform notes, "Signals that differ").</summary>
    internal static readonly IReadOnlyDictionary<Signum, int> SignalsThatDiffer = new Dictionary<Signum, int>
    {
        [Signum.SIGBUS] = 10,
        [Signum.SIGSYS] = 12,
        [Signum.SIGURG] = 16,
        [Signum.SIGSTOP] = 17,
        [Signum.SIGTSTP] = 18,
        [Signum.SIGCONT] = 19,
        [Signum.SIGCHLD] = 20,
        [Signum.SIGIO] = 23,
        [Signum.SIGUSR1] = 30,
        [Signum.SIGUSR2] = 31,
    };

    /// <summary>Canonical signals FreeBSD does not have.</summary>
    internal static readonly IReadOnlySet<Signum> SignalsFreeBsdLacks = new HashSet<Signum> { Signum.SIGSTKFLT, Signum.SIGPWR };

    /// <summary>FreeBSD signals Linux does not have. SIGTHR (libthr's) and SIGLIBRT (librt's) sit
    /// where glibc keeps its private realtime signals, which have no canonical name either.</summary>
    internal const int SIGEMT = 7, SIGINFO = 29, SIGTHR = 32, SIGLIBRT = 33;

    /// <summary>Realtime signals: FreeBSD's 65–126 and Linux's 34–64 (the canonical range), first to first.</summary>
    internal const int FreeBsdRealtimeMin = 65, FreeBsdRealtimeMax = 126, CanonicalRealtimeMin = 34, CanonicalRealtimeMax = 64;

    /// <summary>Canonical errno → FreeBSD errno, where they differ (sys/sys/errno.h of both systems).</summary>
    internal static readonly IReadOnlyDictionary<Errno, int> ErrnosThatDiffer = new Dictionary<Errno, int>
    {
        [Errno.EDEADLK] = 11, [Errno.EAGAIN] = 35, [Errno.EINPROGRESS] = 36, [Errno.EALREADY] = 37,
        [Errno.ENOTSOCK] = 38, [Errno.EDESTADDRREQ] = 39, [Errno.EMSGSIZE] = 40, [Errno.EPROTOTYPE] = 41,
        [Errno.ENOPROTOOPT] = 42, [Errno.EPROTONOSUPPORT] = 43, [Errno.ESOCKTNOSUPPORT] = 44, [Errno.EOPNOTSUPP] = 45,
        [Errno.EPFNOSUPPORT] = 46, [Errno.EAFNOSUPPORT] = 47, [Errno.EADDRINUSE] = 48, [Errno.EADDRNOTAVAIL] = 49,
        [Errno.ENETDOWN] = 50, [Errno.ENETUNREACH] = 51, [Errno.ENETRESET] = 52, [Errno.ECONNABORTED] = 53,
        [Errno.ECONNRESET] = 54, [Errno.ENOBUFS] = 55, [Errno.EISCONN] = 56, [Errno.ENOTCONN] = 57,
        [Errno.ESHUTDOWN] = 58, [Errno.ETOOMANYREFS] = 59, [Errno.ETIMEDOUT] = 60, [Errno.ECONNREFUSED] = 61,
        [Errno.ELOOP] = 62, [Errno.ENAMETOOLONG] = 63, [Errno.EHOSTDOWN] = 64, [Errno.EHOSTUNREACH] = 65,
        [Errno.ENOTEMPTY] = 66, [Errno.EUSERS] = 68, [Errno.EDQUOT] = 69, [Errno.ESTALE] = 70,
        [Errno.EREMOTE] = 71, [Errno.ENOLCK] = 77, [Errno.ENOSYS] = 78, [Errno.EIDRM] = 82,
        [Errno.ENOMSG] = 83, [Errno.EOVERFLOW] = 84, [Errno.ECANCELED] = 85, [Errno.EILSEQ] = 86,
        [Errno.ENODATA] = 87 /* ENOATTR */, [Errno.EBADMSG] = 89, [Errno.EMULTIHOP] = 90, [Errno.ENOLINK] = 91,
        [Errno.EPROTO] = 92, [Errno.ENOTRECOVERABLE] = 95, [Errno.EOWNERDEAD] = 96,
    };

    /// <summary>FreeBSD errnos with no Linux peer (EPROCLIM, the RPC ones, EFTYPE, EAUTH, ENEEDAUTH,
    /// EDOOFUS, ENOTCAPABLE, ECAPMODE, EINTEGRITY).</summary>
    internal static readonly IReadOnlySet<int> FreeBsdOnlyErrnos = new HashSet<int> { 67, 72, 73, 74, 75, 76, 79, 80, 81, 88, 93, 94, 97 };

    private static readonly Dictionary<int, Signum> s_signalFromNative = SignalsThatDiffer.ToDictionary(p => p.Value, p => p.Key);
    private static readonly Dictionary<int, Errno> s_errnoFromNative = ErrnosThatDiffer.ToDictionary(p => p.Value, p => p.Key);

    internal override int MaxSignal => 128;

    internal override int SignalToNative(Signum signal)
    {
        int canonical = (int)signal;
        if (SignalsThatDiffer.TryGetValue(signal, out int native))
            return native;
        if (SignalsFreeBsdLacks.Contains(signal))
            return -1;
        if (canonical is >= CanonicalRealtimeMin and <= CanonicalRealtimeMax)
            return canonical - CanonicalRealtimeMin + FreeBsdRealtimeMin;
        if (canonical >= NoCanonicalName && canonical - NoCanonicalName is SIGEMT or SIGINFO or SIGTHR or SIGLIBRT or (> CanonicalRealtimeMax + FreeBsdRealtimeMin - CanonicalRealtimeMin and <= FreeBsdRealtimeMax))
            return canonical - NoCanonicalName;
        // Every other canonical number from 0 to 31 means the same signal on both systems;
        // 32 and 33 are glibc's private realtime signals, with no FreeBSD peer.
        return canonical is >= 0 and <= 31 ? canonical : -1;
    }

    internal override Signum SignalFromNative(int signal)
    {
        if (s_signalFromNative.TryGetValue(signal, out Signum canonical))
            return canonical;
        if (signal is >= FreeBsdRealtimeMin and <= FreeBsdRealtimeMin + (CanonicalRealtimeMax - CanonicalRealtimeMin))
            return (Signum)(signal - FreeBsdRealtimeMin + CanonicalRealtimeMin);
        // 0 and the other numbers up to 31 mean the same signal on both systems. Everything else
        // (SIGEMT, SIGINFO, SIGTHR, SIGLIBRT, realtime signals beyond Linux's range) has no
        // canonical name: as canonical 32/33 it would not translate back (SignalToNative gives -1).
        if (signal is >= 0 and <= 31 and not (SIGEMT or SIGINFO))
            return (Signum)signal;
        return (Signum)(signal + NoCanonicalName);
    }

    internal override Errno ErrnoFromNative(int errno)
    {
        if (s_errnoFromNative.TryGetValue(errno, out Errno canonical))
            return canonical;
        return FreeBsdOnlyErrnos.Contains(errno) ? (Errno)(errno + NoCanonicalName) : (Errno)errno;
    }

    internal override int ErrnoToNative(Errno errno)
    {
        if (ErrnosThatDiffer.TryGetValue(errno, out int native))
            return native;
        int canonical = (int)errno;
        return canonical >= NoCanonicalName && FreeBsdOnlyErrnos.Contains(canonical - NoCanonicalName) ? canonical - NoCanonicalName : canonical;
    }

    internal override int ContinuedStatus => 0x13;
}
