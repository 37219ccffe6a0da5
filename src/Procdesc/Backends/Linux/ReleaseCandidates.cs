using System.Collections.Concurrent;

namespace Procdesc.Backends.Linux;

/// <summary>
/// Children that may have lost their last descriptor in this process (a close through the library,
/// a number found naming something else), queued for the exit reactor's next copy census. A child
/// that may have to be killed wakes the reactor at once; one already reaped only needs its record
/// dropped, and wakes it once per batch (so a start-wait-close loop does not pay a census per child).
/// </summary>
internal sealed class ReleaseCandidates
{
    private readonly ConcurrentQueue<ChildRecord> _queue = new();
    private readonly ReactorHandles _handles;
    private int _urgentWakePending, _lazyWakePending;

    internal ReleaseCandidates(ReactorHandles handles) => _handles = handles;

    internal void Add(ChildRecord record)
    {
        _queue.Enqueue(record);
        ref int pending = ref record.Reaped ? ref _lazyWakePending : ref _urgentWakePending;
        if (Interlocked.Exchange(ref pending, 1) == 0)
            _handles.Wake();
    }

    /// <summary>
    /// Takes everything queued (reactor thread). The urgent wake-up is re-armed first, so that a
    /// candidate queued afterwards wakes the reactor again; the lazy one only when
    /// <paramref name="rearmLazy"/> (the reactor has no batch waiting), since until then the batch
    /// it is about to scan covers later lazy candidates too.
    /// </summary>
    internal void TakeAll(List<ChildRecord> into, bool rearmLazy)
    {
        Interlocked.Exchange(ref _urgentWakePending, 0);
        if (rearmLazy)
            Interlocked.Exchange(ref _lazyWakePending, 0);
        while (_queue.TryDequeue(out ChildRecord? record))
            into.Add(record);
    }
}
