using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>
/// The one background thread that watches children's exits (epoll on their anchors) for every
/// purpose: completing <see cref="WaitForExit"/> tasks, and doing what FreeBSD's kernel does when
/// a process descriptor's last copy goes away — kill the child (unless PD_DAEMON) and reap it,
/// never leaving a zombie. Candidates for the latter come from <see cref="CheckCopies"/>; one scan
/// of /proc/self/fd per batch confirms that no copy (a dup, a received or pidfd_open'd one) is
/// left. Nobody's close() or Dispose() waits for any of this; 10,000 pending waits cost this one
/// thread and one epoll registration each.
/// </summary>
internal sealed unsafe class ExitReactor
{
    private const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLLIN = 1, EPOLL_CLOEXEC = 0x80000, EFD_CLOEXEC = 0x80000;
    // struct epoll_event is packed on x86_64 (12 bytes), naturally aligned elsewhere (16 bytes).
    private static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int EventDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;
    private const int BatchSize = 256;
    // A closed descriptor whose child is already reaped needs no kill, only the library's own
    // descriptor given back: its copy check waits for the next scan — at most this long, or
    // until this many wait — so a start-wait-close loop does not pay a /proc/self/fd scan per
    // child (measured: the scans were most of pdfork's overhead over a bare clone).
    private const int DeferredScanDelayMs = 50, DeferredScanBatch = 256;

    private readonly ChildTable _table;
    private readonly ConcurrentQueue<ChildRecord> _candidates = new();
    private readonly ConcurrentDictionary<int, ChildRecord> _watchedByAnchor = new();
    private readonly HashSet<ChildRecord> _deferred = new(ReferenceEqualityComparer.Instance); // reactor thread only
    private long _deferredSince;
    private readonly int _epoll;
    private readonly int _wakeup;
    private readonly OpenDescriptorList _openDescriptors;
    private int _pendingWake, _pendingLazyWake;

    internal ExitReactor(ChildTable table)
    {
        _table = table;
        _openDescriptors = new OpenDescriptorList(table.AnchorFloor);
        _epoll = HighDescriptors.MoveAbove(Libc.epoll_create1(EPOLL_CLOEXEC), table.AnchorFloor);
        _wakeup = HighDescriptors.MoveAbove(Libc.eventfd(0, EFD_CLOEXEC), table.AnchorFloor);
        if (_epoll < 0 || _wakeup < 0 || !EpollAdd(_wakeup))
            throw new InvalidOperationException($"epoll/eventfd failed: errno {Marshal.GetLastPInvokeError()}");
        new Thread(Run) { IsBackground = true, Name = "Procdesc exit reactor" }.Start();
    }

    /// <summary>The child may have lost its last descriptor in this process: check, then act.
    /// A child that may have to be killed wakes the reactor at once; one already reaped only
    /// needs its record dropped, and wakes it once per deferred batch.</summary>
    internal void CheckCopies(ChildRecord record)
    {
        _candidates.Enqueue(record);
        ref int pending = ref record.Reaped ? ref _pendingLazyWake : ref _pendingWake;
        if (Interlocked.Exchange(ref pending, 1) == 0)
        {
            ulong one = 1;
            Libc.write(_wakeup, &one, sizeof(ulong));
        }
    }

    /// <summary>
    /// A task that completes with the child's exit status when it exits (the reactor reaps it;
    /// the status is kept for every other waiter), or at once if it already has.
    /// </summary>
    internal Task<ExitStatus> WaitForExit(ChildRecord record, CancellationToken cancellation)
    {
        var waiter = new ExitWaiter();
        lock (record.Gate)
        {
            if (record.Final is { } final)
                return Task.FromResult(final.Value);
            if (record.Reaped)
                return Task.FromException<ExitStatus>(new ProcessDescriptorException("wait", Errno.ECHILD, (int)Errno.ECHILD));
            (record.Waiters ??= []).Add(waiter);
        }
        if (cancellation.CanBeCanceled)
        {
            waiter.Registration = cancellation.UnsafeRegister(_ =>
            {
                lock (record.Gate)
                    record.Waiters?.Remove(waiter);
                waiter.TrySetCanceled(cancellation);
            }, null);
        }
        Watch(record);
        return waiter.Task;
    }

    private void Run()
    {
        byte* events = stackalloc byte[BatchSize * 16];
        while (true)
        {
            RearmLazyWakeIfIdle();
            int n = Libc.epoll_wait(_epoll, events, BatchSize, _deferred.Count > 0 ? DeferredScanDelayMs : -1);
            if (_deferred.Count > 0 && Environment.TickCount64 - _deferredSince >= DeferredScanDelayMs)
                ReleaseUncopied([]);
            for (int i = 0; i < n; i++)
            {
                int fd = (int)*(ulong*)(events + i * EventSize + EventDataOffset);
                try
                {
                    if (fd == _wakeup)
                        TakeCandidates();
                    else if (_watchedByAnchor.TryGetValue(fd, out ChildRecord? record))
                        Settle(record);
                }
                catch (Exception)
                {
                    // Never let the reactor die (that would crash the process): a failed batch is
                    // retried with the next candidate, and a watched child stays watched.
                }
            }
        }
    }

    private void TakeCandidates()
    {
        // Drain the eventfd, then re-arm, then take the queue: a candidate queued after the re-arm
        // writes the eventfd again; one queued before it is in the queue we are about to take.
        // (The lazy flag stays armed until the deferred batch is scanned: see ReleaseUncopied.)
        ulong drained;
        Libc.read(_wakeup, &drained, sizeof(ulong));
        Interlocked.Exchange(ref _pendingWake, 0);
        var urgent = new HashSet<ChildRecord>(ReferenceEqualityComparer.Instance);
        DrainCandidates(urgent);
        if (urgent.Count > 0 || _deferred.Count >= DeferredScanBatch)
            ReleaseUncopied(urgent);
    }

    /// <summary>
    /// Before blocking with no deferred batch, the lazy wake-up must be armed: otherwise a close
    /// that found it set (by a wake-up already consumed) would queue its candidate silently, and
    /// nothing would come back for it. Re-arm, then take what was queued before.
    /// </summary>
    private void RearmLazyWakeIfIdle()
    {
        if (_deferred.Count > 0 || Volatile.Read(ref _pendingLazyWake) == 0)
            return;
        Interlocked.Exchange(ref _pendingLazyWake, 0);
        var urgent = new HashSet<ChildRecord>(ReferenceEqualityComparer.Instance);
        DrainCandidates(urgent);
        if (urgent.Count > 0)
            ReleaseUncopied(urgent);
    }

    /// <summary>Sorts queued candidates: those that may have to be killed into
    /// <paramref name="urgent"/>, those already reaped into the deferred batch.</summary>
    private void DrainCandidates(HashSet<ChildRecord> urgent)
    {
        while (_candidates.TryDequeue(out ChildRecord? record))
        {
            if (record.Released)
                continue;
            if (!record.Reaped)
                urgent.Add(record);
            else if (_deferred.Add(record) && _deferred.Count == 1)
                _deferredSince = Environment.TickCount64;
        }
    }

    /// <summary>One scan of /proc/self/fd for these candidates and every deferred one.</summary>
    private void ReleaseUncopied(HashSet<ChildRecord> batch)
    {
        // Re-arm the lazy wake-up, then take what was queued without one.
        Interlocked.Exchange(ref _pendingLazyWake, 0);
        DrainCandidates(batch);
        batch.UnionWith(_deferred);
        _deferred.Clear();
        if (batch.Count == 0)
            return;
        HashSet<ulong> copied = InodesWithCopies();
        foreach (ChildRecord record in batch)
            if (!record.Released && !copied.Contains(record.Inode))
                Release(record);
    }

    /// <summary>The pidfs inodes named by this process's descriptors, the library's anchors excepted.</summary>
    private HashSet<ulong> InodesWithCopies()
    {
        var inodes = new HashSet<ulong>();
        _openDescriptors.ForEach(fd =>
        {
            if (fd != _wakeup && fd != _epoll && fd != _openDescriptors.Handle
                && _table.Classify(fd, out ulong inode, out _) == DescriptorKind.Procdesc && !_table.IsAnchor(fd, inode))
                inodes.Add(inode);
        });
        return inodes;
    }

    private void Release(ChildRecord record)
    {
        lock (record.Gate)
        {
            if (record.Released)
                return;
            record.Released = true;
            if (record.KillOnLastClose && !record.Reaped)
                pidfd_send_signal(record.Anchor, (int)Signum.SIGKILL); // 0 on a zombie, ESRCH if gone
        }
        if (!record.CreatedHere || record.Reaped)
            _table.Forget(record);
        else
            Watch(record); // reaped as soon as it exits: at once for a zombie or a killed child
    }

    /// <summary>Watches the child's anchor until it exits; level-triggered, so an exit that already
    /// happened is reported at once.</summary>
    private void Watch(ChildRecord record)
    {
        if (!_watchedByAnchor.TryAdd(record.Anchor, record))
            return;
        if (!EpollAdd(record.Anchor))
        {
            // epoll refused (ENOMEM, ENOSPC: max_user_watches): never leave a child unreaped or a
            // waiter hanging; settle it the slow way, here.
            _watchedByAnchor.TryRemove(record.Anchor, out _);
            ThreadPool.UnsafeQueueUserWorkItem(r =>
            {
                ChildWaits.Wait(r, r.Anchor, WEXITED, out _, out _);
                Settle(r);
            }, record, preferLocal: false);
        }
    }

    /// <summary>The child's anchor is readable: it has exited. Reap it, complete its waiters, and
    /// forget it if no descriptor of the caller's is left.</summary>
    private void Settle(ChildRecord record)
    {
        WaitOutcome outcome = ChildWaits.TryConsume(record, record.Anchor, WEXITED, out _, out int errno);
        if (outcome == WaitOutcome.NothingYet)
            return;
        if (_watchedByAnchor.TryRemove(record.Anchor, out _))
            Libc.epoll_ctl(_epoll, EPOLL_CTL_DEL, record.Anchor, null);
        List<ExitWaiter>? waiters;
        ExitStatus? final;
        lock (record.Gate)
        {
            waiters = record.Waiters;
            record.Waiters = null;
            final = record.Final?.Value;
        }
        if (waiters is not null)
        {
            var error = final is null
                ? new ProcessDescriptorException("wait", outcome == WaitOutcome.Failed ? (Errno)errno : Errno.ECHILD,
                    outcome == WaitOutcome.Failed ? errno : (int)Errno.ECHILD)
                : null;
            foreach (ExitWaiter waiter in waiters)
                waiter.Complete(final, error);
        }
        if (record.Released)
            _table.Forget(record);
    }

    private bool EpollAdd(int fd)
    {
        byte* ev = stackalloc byte[16];
        *(uint*)ev = EPOLLIN;
        *(ulong*)(ev + EventDataOffset) = (ulong)fd;
        return Libc.epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, ev) == 0;
    }
}
