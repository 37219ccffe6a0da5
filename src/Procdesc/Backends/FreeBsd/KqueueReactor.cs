using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;

namespace Procdesc.Backends.FreeBsd;

/// <summary>
/// FreeBSD's one background thread for <see cref="ProcdescBackend.WaitForExitAsync"/>: kqueue's
/// EVFILT_PROCDESC / NOTE_EXIT on the caller's descriptor (it fires even when registered after
/// the exit). No copy of the descriptor is kept: a copy would keep the child alive past the
/// caller's last close, which is the kernel's kill-on-close. Reaping and kill-on-close need no
/// thread on FreeBSD: the kernel does them.
/// </summary>
internal sealed unsafe class KqueueReactor
{
    private readonly FreeBsdBackend _backend;
    private readonly int _kqueue;
    private readonly ConcurrentDictionary<int, WaiterList> _waitersByFd = new();

    /// <summary>The waiters of one descriptor number. Once completed (removed from the table) it is
    /// closed, and a waiter that still finds it retries with a fresh list: otherwise a waiter
    /// added between the removal and the snapshot would never be completed.</summary>
    private sealed class WaiterList
    {
        internal readonly List<TaskCompletionSource<ExitStatus>> Items = [];
        internal bool Closed;
    }

    internal KqueueReactor(FreeBsdBackend backend)
    {
        _backend = backend;
        _kqueue = FreeBsdLibc.kqueue();
        if (_kqueue < 0)
            throw new InvalidOperationException($"kqueue failed: errno {Marshal.GetLastPInvokeError()}");
        new Thread(Run) { IsBackground = true, Name = "Procdesc exit reactor" }.Start();
    }

    internal Task<ExitStatus> WaitForExit(int fd, CancellationToken cancellation)
    {
        var waiter = new TaskCompletionSource<ExitStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        WaiterList list;
        while (true)
        {
            list = _waitersByFd.GetOrAdd(fd, _ => new WaiterList());
            lock (list)
            {
                if (!list.Closed)
                {
                    list.Items.Add(waiter);
                    break;
                }
            }
        }
        if (cancellation.CanBeCanceled)
        {
            CancellationTokenRegistration registration = cancellation.UnsafeRegister(_ =>
            {
                lock (list)
                    list.Items.Remove(waiter);
                waiter.TrySetCanceled(cancellation);
            }, null);
            waiter.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }
        var change = new KEvent
        {
            Ident = (nuint)fd,
            Filter = FreeBsdLibc.EVFILT_PROCDESC,
            Flags = FreeBsdLibc.EV_ADD | FreeBsdLibc.EV_ONESHOT,
            FFlags = FreeBsdLibc.NOTE_EXIT,
        };
        if (FreeBsdLibc.kevent(_kqueue, &change, 1, null, 0, null) != 0)
        {
            int native = Marshal.GetLastPInvokeError();
            Complete(fd, ProcessDescriptorException.FromNative("kevent", native));
        }
        return waiter.Task;
    }

    /// <summary>The descriptor was closed through the library: the kernel kills (unless PD_DAEMON)
    /// and reaps the child, so its status can no longer reach the waiters.</summary>
    internal void Forget(int fd)
    {
        if (_waitersByFd.ContainsKey(fd))
            Complete(fd, ProcessDescriptorException.FromCanonical("wait (descriptor closed)", Errno.ECHILD));
    }

    private void Run()
    {
        const int Batch = 64;
        KEvent* events = stackalloc KEvent[Batch];
        while (true)
        {
            int n = FreeBsdLibc.kevent(_kqueue, null, 0, events, Batch, null);
            for (int i = 0; i < n; i++)
            {
                if (events[i].Filter != FreeBsdLibc.EVFILT_PROCDESC)
                    continue;
                int fd = (int)events[i].Ident;
                try
                {
                    // Reap through the library's one path, so that every waiter, and every later
                    // Wait on any copy, gets the same status.
                    int r = _backend.GetExit(fd, block: false, out ExitStatus status);
                    if (r == 1)
                        Complete(fd, status);
                    else if (r < 0)
                        Complete(fd, ProcessDescriptorException.FromLastError("pdwait"));
                }
                catch (Exception e)
                {
                    Complete(fd, e); // never let the reactor die
                }
            }
        }
    }

    private void Complete(int fd, ExitStatus status) => Complete(fd, waiter => waiter.TrySetResult(status));

    private void Complete(int fd, Exception error) => Complete(fd, waiter => waiter.TrySetException(error));

    private void Complete(int fd, Action<TaskCompletionSource<ExitStatus>> complete)
    {
        if (!_waitersByFd.TryRemove(fd, out var list))
            return;
        TaskCompletionSource<ExitStatus>[] waiters;
        lock (list)
        {
            list.Closed = true;
            waiters = [.. list.Items];
        }
        foreach (var waiter in waiters)
            complete(waiter);
    }
}
