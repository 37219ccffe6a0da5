using System.Runtime.InteropServices;
using Procdesc.Interop;

namespace Procdesc.Backends.FreeBsd;

/// <summary>
/// FreeBSD's one background thread for exit watches: kqueue's EVFILT_PROCDESC / NOTE_EXIT on the
/// caller's descriptor (it fires even when registered after the exit). No copy of the descriptor
/// is kept: a copy would keep the child alive past the caller's last close, which is the kernel's
/// kill-on-close. Reaping and kill-on-close need no thread on FreeBSD: the kernel does them. The
/// watchers themselves are in the shared store; this only says which child exited.
/// </summary>
internal sealed unsafe class KqueueReactor
{
    private readonly Action<int, ulong> _onExit;
    private readonly int _kqueue;
    // The numbers a watch is placed through, and the child (pid) each names: the kernel drops a
    // watch when its number is closed.
    private readonly Dictionary<int, ulong> _pidByFd = new();

    /// <param name="onExit">Called on the reactor thread with the number and pid of a child that exited.</param>
    internal KqueueReactor(Action<int, ulong> onExit)
    {
        _onExit = onExit;
        _kqueue = FreeBsdLibc.kqueue();
        if (_kqueue < 0)
            throw new InvalidOperationException($"kqueue failed: errno {Marshal.GetLastPInvokeError()}");
        new Thread(Run) { IsBackground = true, Name = "Procdesc exit reactor" }.Start();
    }

    /// <summary>The last unexpected exception of the background work.</summary>
    internal static Exception? LastBackgroundError { get; private set; }

    /// <summary>Places a one-shot exit watch through <paramref name="fd"/>; false with errno.</summary>
    internal bool Watch(int fd, ulong pid, out int errno)
    {
        errno = 0;
        lock (_pidByFd)
            _pidByFd[fd] = pid;
        var change = new KEvent
        {
            Ident = (nuint)fd,
            Filter = FreeBsdLibc.EVFILT_PROCDESC,
            Flags = FreeBsdLibc.EV_ADD | FreeBsdLibc.EV_ONESHOT,
            FFlags = FreeBsdLibc.NOTE_EXIT,
        };
        if (FreeBsdLibc.kevent(_kqueue, &change, 1, null, 0, null) == 0)
            return true;
        errno = Marshal.GetLastPInvokeError();
        Forget(fd, out _);
        return false;
    }

    /// <summary>The number was closed: its watch is gone. True, with the pid, when no other number
    /// watches that child any more.</summary>
    internal bool Forget(int fd, out ulong pid)
    {
        lock (_pidByFd)
        {
            if (!_pidByFd.Remove(fd, out pid))
                return false;
            foreach (ulong other in _pidByFd.Values)
                if (other == pid)
                    return false;
            return true;
        }
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
                ulong pid;
                lock (_pidByFd)
                {
                    if (!_pidByFd.Remove(fd, out pid))
                        continue; // closed meanwhile
                }
                try
                {
                    _onExit(fd, pid);
                }
                catch (Exception e)
                {
                    // Never let the reactor die: the error is kept, and the child's watchers are
                    // told by the next take of its status (every object-layer wait takes it).
                    LastBackgroundError = e;
                }
            }
        }
    }
}
