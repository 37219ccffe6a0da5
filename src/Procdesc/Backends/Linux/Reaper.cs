using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>
/// One background thread that does what FreeBSD's kernel does when a process descriptor's last
/// copy goes away: kill the child (unless PD_DAEMON) and make sure it is reaped, never left a
/// zombie. It learns of candidates from <see cref="CheckCopies"/>, confirms with one scan of
/// /proc/self/fd for the whole batch that no copy (a dup, an inherited or pidfd_open'd one) is
/// left, and watches released children with epoll until they can be reaped. The caller's close()
/// never waits for any of this.
/// </summary>
internal sealed unsafe class Reaper
{
    private const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLLIN = 1, EPOLL_CLOEXEC = 0x80000, EFD_CLOEXEC = 0x80000;
    // struct epoll_event is packed on x86_64 (12 bytes), naturally aligned elsewhere (16 bytes).
    private static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int EventDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;
    private const int BatchSize = 64;

    private readonly ChildTable _table;
    private readonly ConcurrentQueue<ChildRecord> _candidates = new();
    private readonly Dictionary<int, ChildRecord> _watchedByAnchor = new(); // reaper thread only
    private readonly int _epoll;
    private readonly int _wakeup;
    private readonly OpenDescriptorList _openDescriptors;
    private int _pendingWake;

    internal Reaper(ChildTable table)
    {
        _table = table;
        _openDescriptors = new OpenDescriptorList(table.AnchorFloor);
        _epoll = HighDescriptors.MoveAbove(Libc.epoll_create1(EPOLL_CLOEXEC), table.AnchorFloor);
        _wakeup = HighDescriptors.MoveAbove(Libc.eventfd(0, EFD_CLOEXEC), table.AnchorFloor);
        if (_epoll < 0 || _wakeup < 0)
            throw new InvalidOperationException($"epoll/eventfd failed: errno {Marshal.GetLastPInvokeError()}");
        if (!Watch(_wakeup))
            throw new InvalidOperationException($"epoll_ctl failed: errno {Marshal.GetLastPInvokeError()}");
        var thread = new Thread(Run) { IsBackground = true, Name = "Procdesc reaper" };
        thread.Start();
    }

    /// <summary>The child may have lost its last descriptor in this process: check, then act.</summary>
    internal void CheckCopies(ChildRecord record)
    {
        _candidates.Enqueue(record);
        if (Interlocked.Exchange(ref _pendingWake, 1) == 0)
        {
            ulong one = 1;
            Libc.write(_wakeup, &one, sizeof(ulong));
        }
    }

    private void Run()
    {
        byte* events = stackalloc byte[BatchSize * 16];
        while (true)
        {
            int n = Libc.epoll_wait(_epoll, events, BatchSize, -1);
            if (n < 0)
                continue; // EINTR
            for (int i = 0; i < n; i++)
            {
                int fd = (int)*(ulong*)(events + i * EventSize + EventDataOffset);
                try
                {
                    if (fd == _wakeup)
                        ReleaseUncopied();
                    else if (_watchedByAnchor.TryGetValue(fd, out ChildRecord? record))
                        ReapReleased(record);
                }
                catch (Exception)
                {
                    // Never let the reaper die (that would crash the process): a failed batch is
                    // retried with the next candidate, and a watched child stays watched.
                }
            }
        }
    }

    private void ReleaseUncopied()
    {
        // Drain the eventfd, then re-arm, then take the queue: a candidate queued after the re-arm
        // writes the eventfd again; one queued before it is in the queue we are about to take.
        ulong drained;
        Libc.read(_wakeup, &drained, sizeof(ulong));
        Interlocked.Exchange(ref _pendingWake, 0);
        var batch = new HashSet<ChildRecord>(ReferenceEqualityComparer.Instance);
        while (_candidates.TryDequeue(out ChildRecord? record))
            if (!record.Released)
                batch.Add(record);
        if (batch.Count == 0)
            return;
        HashSet<ulong> copied = InodesWithCopies();
        foreach (ChildRecord record in batch)
            if (!copied.Contains(record.Inode))
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
        {
            _table.Forget(record);
            return;
        }
        // Ours and not yet reaped: reap it when it exits (at once for a zombie or a killed child).
        if (Watch(record.Anchor))
            _watchedByAnchor[record.Anchor] = record;
        else
            ChildWaits.Wait(record, record.Anchor, WEXITED, out _, out _); // epoll full (ENOMEM): reap the slow way
    }

    private void ReapReleased(ChildRecord record)
    {
        if (ChildWaits.TryConsume(record, record.Anchor, WEXITED, out _, out _) == WaitOutcome.NothingYet)
            return;
        Libc.epoll_ctl(_epoll, EPOLL_CTL_DEL, record.Anchor, null);
        _watchedByAnchor.Remove(record.Anchor);
        _table.Forget(record);
    }

    private bool Watch(int fd)
    {
        byte* ev = stackalloc byte[16];
        *(uint*)ev = EPOLLIN;
        *(ulong*)(ev + EventDataOffset) = (ulong)fd;
        return Libc.epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, ev) == 0;
    }
}
