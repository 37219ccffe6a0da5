using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>
/// The one background thread that watches children's exits (one epoll set) for every purpose:
/// reporting to <see cref="Watch"/>ers, and doing what FreeBSD's kernel does when a process
/// descriptor's last copy goes away — kill the child (unless PD_DAEMON) and reap it, never leaving a
/// zombie. Candidates for the latter come from <see cref="ReleaseCandidates"/>; one census of
/// /proc/self/fd per batch confirms that no copy (a dup, a received or pidfd_open'd one) is left.
/// Nobody's close() or Dispose() waits for any of this; 10,000 pending waits cost this one thread
/// and one epoll registration each.
/// </summary>
/// <remarks>
/// Nothing is dropped. Work that fails for want of resources (EMFILE, ENFILE, ENOMEM: no
/// descriptor for a census, a pidfd or an epoll registration) stays in a retry list and is tried
/// again with a growing delay; an unexpected exception is kept (<see cref="LastBackgroundError"/>)
/// and its work retried the same way. The reactor also wakes at least once a second to check its
/// own descriptors: when the rest of the program has swept them, it makes new ones and audits
/// every child it knows (one whose last copy was swept is killed and reaped).
/// </remarks>
internal sealed unsafe class ExitReactor
{
    private const int BatchSize = 256;
    private const int CheckIntervalMs = 1000;
    // A closed descriptor whose child is already reaped needs no kill, only its record dropped:
    // its census waits for the next batch — at most this long, or until this many wait — so a
    // start-wait-close loop does not pay a /proc/self/fd census per child.
    private const int DeferredScanDelayMs = 50, DeferredScanBatch = 256;
    private const int FirstRetryDelayMs = 20, LongestRetryDelayMs = 1000;

    private enum Work { Census, Release, Settle, Watch }

    private readonly ChildTable _table;
    private readonly ChildHandles _handles;
    private readonly CopyCensus _census;
    private readonly ReactorHandles _reactor;
    private readonly ReleaseCandidates _candidates;
    private readonly KeptExits _exits;
    private readonly ConcurrentDictionary<long, ChildRecord> _watched = new();
    private readonly ConcurrentQueue<ChildRecord> _toWatch = new();
    // Reactor thread only:
    private readonly HashSet<ChildRecord> _deferred = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<(ChildRecord Record, Work Work)> _retry = new();
    private readonly List<ChildRecord> _taken = new();
    private long _deferredSince, _retryDue;
    private int _retryDelayMs = FirstRetryDelayMs;

    internal ExitReactor(ChildTable table, ChildHandles handles, CopyCensus census, ReactorHandles reactor, ReleaseCandidates candidates, KeptExits exits)
    {
        _exits = exits;
        _table = table;
        _handles = handles;
        _census = census;
        _reactor = reactor;
        _candidates = candidates;
        if (!_reactor.Ensure(out _, out int errno))
            throw new InvalidOperationException($"epoll/pipe failed: errno {errno}");
        new Thread(Run) { IsBackground = true, Name = "Procdesc exit reactor" }.Start();
    }

    /// <summary>The last unexpected exception of the background work (its work was kept and retried).</summary>
    internal static Exception? LastBackgroundError { get; private set; }

    /// <summary>
    /// Reports the child's exit to <paramref name="watcher"/> when it exits (the reactor reaps it;
    /// the status is kept for every other waiter), or at once if it already has. <paramref name="fd"/>
    /// is the caller's number for the child, watched directly: the library takes no descriptor.
    /// </summary>
    internal void Watch(ChildRecord record, int fd, ExitWatcher watcher)
    {
        lock (record.Gate)
        {
            // Under the record's lock: Finish marks the record reaped under it before it fails
            // the watchers, so a watcher either is added before that or sees the reap here.
            if (record.Reaped && !_exits.TryGet(record.ExitKey, out _))
            {
                watcher.Failed((int)Errno.ECHILD);
                return;
            }
            if (!_exits.Watch(record.ExitKey, watcher))
                return; // the kept status was reported at once
        }
        _watched[record.Id] = record;
        if (!_reactor.Watch(fd, (ulong)record.Id, out _))
        {
            // No room in the epoll set now (ENOMEM, ENOSPC), or its descriptors were swept: the
            // reactor arms the watch itself, retrying until it can.
            _toWatch.Enqueue(record);
            _reactor.Wake();
        }
    }

    private void Run()
    {
        LinuxEpollEvent* events = stackalloc LinuxEpollEvent[BatchSize];
        while (true)
        {
            try
            {
                CheckOwnHandles();
                int n = _reactor.Wait(events, BatchSize, NextTimeoutMs());
                if (n < 0 && Marshal.GetLastPInvokeError() is not (int)Errno.EINTR)
                {
                    Thread.Sleep(FirstRetryDelayMs); // the set is gone: the next round remakes it
                    continue;
                }
                for (int i = 0; i < n; i++)
                {
                    ulong key = LinuxEpollEvent.DataAt(events, i);
                    if (key == ReactorHandles.WakeKey)
                        _reactor.Drain();
                    else if (_watched.TryRemove((long)key, out ChildRecord? record))
                        Attempt(record, Work.Settle);
                }
                while (_toWatch.TryDequeue(out ChildRecord? record))
                    Attempt(record, Work.Watch);
                TakeCandidates();
                if (_retry.Count > 0 && Environment.TickCount64 >= _retryDue)
                    RunRetries();
            }
            catch (Exception e)
            {
                // Whatever it was, the work it interrupted is still queued or in the retry list.
                LastBackgroundError = e;
                Thread.Sleep(FirstRetryDelayMs);
            }
        }
    }

    private int NextTimeoutMs()
    {
        long now = Environment.TickCount64;
        long due = now + CheckIntervalMs;
        if (_deferred.Count > 0)
            due = Math.Min(due, _deferredSince + DeferredScanDelayMs);
        if (_retry.Count > 0)
            due = Math.Min(due, _retryDue);
        return (int)Math.Max(0, due - now);
    }

    /// <summary>The epoll set and the wake-up pipe are still the library's; if a sweep took them,
    /// new ones are made, every pending watch is armed again and every known number checked.</summary>
    private void CheckOwnHandles()
    {
        if (!_reactor.Ensure(out bool remade, out int errno))
        {
            LastBackgroundError = new BackgroundError("exit reactor: epoll", errno);
            Thread.Sleep(_retryDelayMs);
            _retryDelayMs = Math.Min(_retryDelayMs * 2, LongestRetryDelayMs);
            return;
        }
        if (!remade || _reactor.Generation == 1)
            return;
        // One by one: a watch another thread arms meanwhile is on the new set already, and stays.
        foreach ((long id, ChildRecord record) in _watched)
            if (_watched.TryRemove(new KeyValuePair<long, ChildRecord>(id, record)))
                _toWatch.Enqueue(record);
        _table.AuditNumbers();
    }

    private void TakeCandidates()
    {
        _taken.Clear();
        _candidates.TakeAll(_taken, rearmLazy: _deferred.Count == 0);
        bool urgent = false;
        foreach (ChildRecord record in _taken)
        {
            if (record.Released && record.Held < 0 && record.Reaped)
                continue;
            if (_deferred.Add(record))
            {
                if (_deferred.Count == 1)
                    _deferredSince = Environment.TickCount64;
                urgent |= !record.Reaped;
            }
        }
        if (_deferred.Count > 0 && (urgent || _deferred.Count >= DeferredScanBatch
            || Environment.TickCount64 - _deferredSince >= DeferredScanDelayMs))
            RunCensus();
    }

    /// <summary>One census of /proc/self/fd for every candidate; those with no copy left are released.</summary>
    private void RunCensus()
    {
        HashSet<ulong>? copied = _census.CallerKeys(-1, out int errno);
        if (copied is null)
        {
            // No free descriptor to list /proc/self/fd with (or no /proc): later.
            foreach (ChildRecord record in _deferred)
                Retry(record, Work.Census);
            _deferred.Clear();
            LastBackgroundError = new BackgroundError("exit reactor: /proc/self/fd", errno);
            return;
        }
        // A child still copied keeps the descriptor its close made (if any) until it is released:
        // giving it back now could leave a later release with only pidfd_open, which takes the
        // lowest free number for a moment.
        foreach (ChildRecord record in _deferred)
            if (!copied.Contains(record.Key))
                Attempt(record, Work.Release);
        _deferred.Clear();
    }

    /// <summary>Does one piece of work for a record; what cannot be done now goes to the retry list.</summary>
    private void Attempt(ChildRecord record, Work work)
    {
        bool done;
        try
        {
            done = work switch
            {
                Work.Census => RequeueForCensus(record),
                Work.Release => Release(record),
                Work.Settle => Settle(record),
                _ => ArmWatch(record),
            };
        }
        catch (Exception e)
        {
            LastBackgroundError = e;
            done = false;
        }
        if (!done)
            Retry(record, work);
    }

    private bool RequeueForCensus(ChildRecord record)
    {
        if (_deferred.Add(record) && _deferred.Count == 1)
            _deferredSince = Environment.TickCount64;
        return true;
    }

    /// <summary>No copy of the caller's is left: kill the child (unless PD_DAEMON) and watch it
    /// until it can be reaped; or, reaped already or not ours, forget it. False: retry later.</summary>
    private bool Release(ChildRecord record)
    {
        lock (record.Gate)
        {
            if (record.InFlight > 0)
            {
                // A blocking call holds the child, as FreeBSD's kernel holds the file for it.
                record.ReleaseWhenIdle = true;
                return true;
            }
            record.Released = true;
        }
        if (!record.CreatedHere || record.Reaped)
            return Forget(record);
        if (!TryAcquire(record, hold: true, out ChildHandle handle, out bool done))
            return done;
        lock (record.Gate)
        {
            if (record.KillOnLastClose && !record.Reaped && !record.Killed)
            {
                pidfd_send_signal(handle.Fd, (int)Signum.SIGKILL); // 0 on a zombie
                record.Killed = true;
            }
        }
        return ArmWatch(record);
    }

    /// <summary>Arms the record's exit watch through a pidfd the library checked. False: retry later.</summary>
    private bool ArmWatch(ChildRecord record)
    {
        bool wanted;
        lock (record.Gate)
            wanted = !record.Reaped && (record.Released || _exits.HasWatchers(record.ExitKey));
        if (!wanted)
            return !record.Released || Forget(record);
        if (!TryAcquire(record, hold: record.Released, out ChildHandle handle, out bool done))
            return done;
        using (handle)
        {
            _watched[record.Id] = record;
            if (_reactor.Watch(handle.Fd, (ulong)record.Id, out _))
                return true;
            _watched.TryRemove(record.Id, out _);
            // No epoll registration (ENOMEM, ENOSPC: max_user_watches): look again later by hand.
            return Settle(record, handle.Fd) is not WaitOutcome.NothingYet;
        }
    }

    /// <summary>The child's pidfd is readable: it has exited. Reap it, complete its waiters, and
    /// forget it if no descriptor of the caller's is left. False: retry later.</summary>
    private bool Settle(ChildRecord record)
    {
        if (!TryAcquire(record, hold: record.Released, out ChildHandle handle, out bool done))
            return done;
        using (handle)
        {
            if (Settle(record, handle.Fd) != WaitOutcome.NothingYet)
                return true;
        }
        return ArmWatch(record); // woken early (another waiter took the status first, or a stop)
    }

    /// <summary>A pidfd for the record; false with <paramref name="done"/> false to retry later (no
    /// descriptor now), or true when the child is gone (its waiters are completed).</summary>
    private bool TryAcquire(ChildRecord record, bool hold, out ChildHandle handle, out bool done)
    {
        done = false;
        switch (_handles.Acquire(record, hold, out handle, out _))
        {
            case HandleOutcome.Acquired:
                return true;
            case HandleOutcome.Gone:
                Finish(record, WaitOutcome.Gone, 0);
                done = true;
                break;
        }
        return false;
    }

    private WaitOutcome Settle(ChildRecord record, int pidfd)
    {
        WaitOutcome outcome = ChildWaits.TryConsume(record, pidfd, WEXITED, _handles.ReapsAtLastClose, _exits, out _, out int errno);
        if (outcome == WaitOutcome.Failed && ChildHandles.IsShortage(errno))
            return WaitOutcome.NothingYet;
        if (outcome != WaitOutcome.NothingYet)
            Finish(record, outcome, errno);
        return outcome;
    }

    /// <summary>The child is reaped (or gone): every pending wait completes, and a released record goes.</summary>
    private void Finish(ChildRecord record, WaitOutcome outcome, int errno)
    {
        lock (record.Gate)
            record.Reaped = true;
        _watched.TryRemove(record.Id, out _);
        // A kept status reached the watchers when it was kept; any still waiting get the errno.
        _exits.FailWatchers(record.ExitKey, outcome == WaitOutcome.Failed ? errno : (int)Errno.ECHILD);
        if (record.Released && !Forget(record))
            Retry(record, Work.Release);
    }

    /// <summary>Drops a released record, after the kernel's reap of its zombie if the library kept
    /// one (<see cref="PidfdIdentity.ReapsAtLastClose"/>). False: no descriptor for that now, retry.</summary>
    private bool Forget(ChildRecord record)
    {
        if (record.ZombieKept)
        {
            switch (_handles.Acquire(record, hold: true, out ChildHandle handle, out _))
            {
                case HandleOutcome.Unavailable:
                    return false;
                case HandleOutcome.Gone:
                    lock (record.Gate)
                        record.ZombieKept = false; // reaped elsewhere meanwhile
                    break;
                default:
                    if (!ChildWaits.ReapKeptZombie(record, handle.Fd))
                        return false;
                    break;
            }
        }
        _handles.Release(record);
        _table.Forget(record);
        _exits.Evict(record.ExitKey);
        return true;
    }

    private void Retry(ChildRecord record, Work work)
    {
        if (_retry.Count == 0)
            _retryDue = Environment.TickCount64 + _retryDelayMs;
        _retry.Add((record, work));
    }

    private void RunRetries()
    {
        var due = _retry.ToArray();
        _retry.Clear();
        foreach ((ChildRecord record, Work work) in due)
            Attempt(record, work);
        if (_retry.Count > 0)
        {
            _retryDelayMs = Math.Min(_retryDelayMs * 2, LongestRetryDelayMs);
            _retryDue = Environment.TickCount64 + _retryDelayMs;
        }
        else
        {
            _retryDelayMs = FirstRetryDelayMs;
        }
    }
}
