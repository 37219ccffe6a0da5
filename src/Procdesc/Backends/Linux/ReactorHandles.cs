using System.Runtime.InteropServices;
using Procdesc.Interop;

namespace Procdesc.Backends.Linux;

/// <summary>
/// The exit reactor's epoll set and the pipe that wakes it, checked before every use: a sweep of
/// the program's descriptors closes them as it closes everything else, and the numbers may then
/// name the caller's own files. A pipe has an inode of its own, so fstat tells whether the number
/// still is the library's pipe; an epoll set shares one anonymous inode with every other, so it is
/// recognised by content instead: only the library's set holds the library's pipe (an
/// EPOLL_CTL_MOD of it fails with ENOENT on any other set, EBADF or EINVAL on anything else).
/// </summary>
internal sealed unsafe class ReactorHandles
{
    /// <summary>The epoll data word of the wake-up pipe; records use their ids, which start at 1.</summary>
    internal const ulong WakeKey = ulong.MaxValue;

    private readonly OwnDescriptors _own;
    private readonly object _gate = new();
    private int _epoll = -1, _wakeRead = -1, _wakeWrite = -1;
    private FileIdentity _epollMade, _pipe;

    internal ReactorHandles(OwnDescriptors own) => _own = own;

    /// <summary>Bumped each time the handles are made anew: registrations made before are gone.</summary>
    internal int Generation { get; private set; }

    /// <summary>Makes the handles if they are missing or no longer the library's; true when they
    /// are usable. Returns the errno of a failed creation (EMFILE, ENOMEM…) for a later retry.</summary>
    internal bool Ensure(out bool remade, out int errno)
    {
        lock (_gate)
        {
            remade = false;
            errno = 0;
            if (IntactLocked())
                return true;
            Abandon();
            int* pipe = stackalloc int[2];
            if (Libc.pipe2(pipe, Libc.O_CLOEXEC | Libc.O_NONBLOCK) != 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return false;
            }
            int read = _own.Adopt(pipe[0], out _pipe);
            int write = _own.Adopt(pipe[1], out FileIdentity writeIdentity);
            int epoll = _own.Adopt(Libc.epoll_create1(Libc.EPOLL_CLOEXEC), out _epollMade);
            LinuxEpollEvent wake = LinuxEpollEvent.Of(Libc.EPOLLIN, WakeKey);
            if (read < 0 || write < 0 || epoll < 0 || Libc.epoll_ctl(epoll, Libc.EPOLL_CTL_ADD, read, &wake) != 0)
            {
                errno = Marshal.GetLastPInvokeError();
                _own.Close(read, _pipe);
                _own.Close(write, writeIdentity);
                _own.Close(epoll, _epollMade);
                return false;
            }
            (_wakeRead, _wakeWrite, _epoll) = (read, write, epoll);
            Generation++;
            remade = true;
            return true;
        }
    }

    /// <summary>Wakes the reactor (any thread). Writes only into the library's own pipe: if the
    /// number was swept, nothing is written and the reactor finds out at its next periodic check.</summary>
    internal void Wake()
    {
        int write = Volatile.Read(ref _wakeWrite);
        if (write < 0 || !LinuxStat.TryIdentity(write, out FileIdentity now) || now != _pipe)
            return;
        byte one = 1;
        Libc.write(write, &one, 1); // EAGAIN: the pipe is full, the reactor is awake anyway
    }

    /// <summary>Empties the wake-up pipe (reactor thread).</summary>
    internal void Drain()
    {
        byte* buffer = stackalloc byte[64];
        int read = _wakeRead;
        if (read >= 0 && LinuxStat.TryIdentity(read, out FileIdentity now) && now == _pipe)
            while (Libc.read(read, buffer, 64) == 64) { }
    }

    /// <summary>
    /// Arms a one-shot watch: the reactor hears once when <paramref name="pidfd"/>'s process exits.
    /// The registration belongs to the file, not the number, so it outlives the close of
    /// <paramref name="pidfd"/> while another copy of the file is open. False with errno.
    /// </summary>
    internal bool Watch(int pidfd, ulong key, out int errno)
    {
        lock (_gate)
        {
            errno = 0;
            if (!IntactLocked())
            {
                errno = (int)Mono.Unix.Native.Errno.EBADF;
                return false;
            }
            LinuxEpollEvent e = LinuxEpollEvent.Of(Libc.EPOLLIN | Libc.EPOLLONESHOT, key);
            if (Libc.epoll_ctl(_epoll, Libc.EPOLL_CTL_ADD, pidfd, &e) == 0)
                return true;
            errno = Marshal.GetLastPInvokeError();
            // Registered before under this number and fired since: re-arm it.
            if (errno == (int)Mono.Unix.Native.Errno.EEXIST && Libc.epoll_ctl(_epoll, Libc.EPOLL_CTL_MOD, pidfd, &e) == 0)
                return true;
            errno = Marshal.GetLastPInvokeError();
            return false;
        }
    }

    /// <summary>epoll_wait on the library's set (reactor thread); -1 with errno, also when the set is gone.</summary>
    internal int Wait(LinuxEpollEvent* events, int max, int timeoutMs)
    {
        int epoll;
        lock (_gate)
        {
            if (!IntactLocked())
            {
                Marshal.SetLastPInvokeError((int)Mono.Unix.Native.Errno.EBADF);
                return -1;
            }
            epoll = _epoll;
        }
        return Libc.epoll_wait(epoll, events, max, timeoutMs);
    }

    private bool IntactLocked()
    {
        if (_epoll < 0 || !_own.StillOurs(_wakeRead, _pipe) || !_own.StillOurs(_wakeWrite, _pipe) || !_own.StillOurs(_epoll, _epollMade))
            return false;
        LinuxEpollEvent wake = LinuxEpollEvent.Of(Libc.EPOLLIN, WakeKey);
        return Libc.epoll_ctl(_epoll, Libc.EPOLL_CTL_MOD, _wakeRead, &wake) == 0;
    }

    /// <summary>Lets go of the old handles: closes those still the library's, forgets the rest.</summary>
    private void Abandon()
    {
        _own.Close(_wakeRead, _pipe);
        _own.Close(_wakeWrite, _pipe);
        _own.Close(_epoll, _epollMade);
        _wakeRead = _wakeWrite = _epoll = -1;
    }
}
