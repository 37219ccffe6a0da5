using Procdesc.Interop;

namespace Procdesc.Backends;

/// <summary>
/// FreeBSD's bookkeeping of its children in the shared <see cref="KeptExits"/> store, keyed by pid:
/// each child is noted at creation (its PD_DAEMON flag, which the kernel does not report), its
/// status kept once the library reaps it. The kernel offers no event for the close of a
/// descriptor's last copy, so entries are evicted by a census of the pids the open descriptors
/// name, run whenever the store has doubled since the last one (plus a margin): the store never
/// holds more than twice the children that still have a descriptor, plus 64, and each census is
/// paid for by the creations that grew it. Written for FreeBSD and portable, so that its tests run
/// on Linux through the same code.
/// </summary>
internal sealed class PidBook
{
    private const int Margin = 64;

    private readonly Func<IReadOnlySet<ulong>?> _census;
    private readonly object _gate = new();
    private int _bound = Margin;

    /// <param name="store">Where statuses and watchers are kept.</param>
    /// <param name="census">The pids (as keys) that the process's open descriptors name now; null
    /// when they cannot be listed now (the next creation tries again).</param>
    internal PidBook(KeptExits store, Func<IReadOnlySet<ulong>?> census)
    {
        Store = store;
        _census = census;
    }

    internal KeptExits Store { get; }

    /// <summary>A child was made: noted (replacing whatever an older process with that pid left),
    /// and a census run if the store has doubled.</summary>
    internal void Created(int pid, bool daemon)
    {
        Store.Created((ulong)pid, daemon);
        if (Store.Count > Volatile.Read(ref _bound))
            Sweep();
    }

    /// <summary>A descriptor was closed through the library: a census if the store has doubled.</summary>
    internal void Closed()
    {
        if (Store.Count > Volatile.Read(ref _bound))
            Sweep();
    }

    /// <summary>Evicts every entry whose child no open descriptor names; returns how many are left.</summary>
    internal int Sweep()
    {
        lock (_gate)
        {
            IReadOnlySet<ulong>? present = _census();
            int left = present is null ? Store.Count : Store.EvictAllBut(present);
            Volatile.Write(ref _bound, 2 * left + Margin);
            return left;
        }
    }

    /// <summary>
    /// The census FreeBSD uses: every open number (by poll, <see cref="OpenNumbersByPoll"/>) whose
    /// <paramref name="pidOf"/> answers a pid (pdgetpid: only process descriptors do). Null when the
    /// numbers cannot be listed now.
    /// </summary>
    internal static IReadOnlySet<ulong>? PidsBehindOpenDescriptors(Func<int, int> pidOf, NativePollfd[] scratch)
    {
        var pids = new HashSet<ulong>();
        bool listed = OpenNumbersByPoll.ForEach(fd =>
        {
            int pid = pidOf(fd);
            if (pid > 0)
                pids.Add((ulong)pid);
        }, 0, scratch, out _);
        return listed ? pids : null;
    }
}
