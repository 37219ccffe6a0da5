using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;

namespace Procdesc.Backends.Linux;

/// <summary>
/// Every descriptor the library holds itself, and which file each was when the library made it.
/// The rest of the program may close any of them (a close-all sweep before cap_enter, a loop over
/// /proc/self/fd, dup2 over the number) and reuse the number for something else; so the library
/// checks a number is still what it made before each use, never closes a number that is no longer
/// its own, and never counts its own as a caller's copy of a child.
/// </summary>
/// <remarks>
/// They are placed at or above a floor (1024, or a quarter of RLIMIT_NOFILE if lower), away from
/// the lowest numbers, which the caller's next open or pdfork must get as on FreeBSD. A copy is
/// made with F_DUPFD_CLOEXEC above the floor and never falls back to a low number: a failure is
/// reported, and the work that needed it is retried once descriptors are free again.
/// </remarks>
internal sealed class OwnDescriptors
{
    private readonly ConcurrentDictionary<int, FileIdentity> _held = new();
    private int _floor;
    private static long s_lowHolds;
    private long _creationsStarted;
    private int _creating;

    /// <summary>
    /// Creations begun so far, and how many are under way: between the kernel's dup and the
    /// registration here, a new descriptor of the library's looks like anyone's. A census that saw
    /// no creation begin or run while it listed cannot have taken one of them for a caller's copy.
    /// </summary>
    internal (long Started, int Running) Creations => (Interlocked.Read(ref _creationsStarted), Volatile.Read(ref _creating));

    /// <summary>How many times the library has held a number below its floor, if only for the moment
    /// of moving it up (pidfd_open after all of a child's copies were closed behind its back, new
    /// handles after a sweep). Tests check that ordinary work never does.</summary>
    internal static long LowHolds => Interlocked.Read(ref s_lowHolds);

    private readonly Func<int, (bool Open, FileIdentity Identity)> _identify;

    /// <param name="identify">The tier's file identity of a descriptor (<see cref="PidfdIdentity.TryIdentity"/>).</param>
    internal OwnDescriptors(Func<int, (bool Open, FileIdentity Identity)> identify)
    {
        _identify = identify;
        _floor = FloorForLimit();
    }

    /// <summary>The lowest number the library places its own descriptors at now.</summary>
    internal int Floor => Volatile.Read(ref _floor);

    /// <summary>A close-on-exec copy of <paramref name="fd"/> at or above the floor, registered as
    /// the library's; -1 with errno (EMFILE, EBADF…).</summary>
    internal int Duplicate(int fd, out FileIdentity identity)
    {
        identity = default;
        BeginCreation();
        try
        {
            int copy = PlaceHigh(fd);
            if (copy < 0)
                return -1;
            if (!TryIdentity(copy, out identity))
            {
                Libc.CloseKeepingErrno(copy);
                return -1;
            }
            _held[copy] = identity;
            return copy;
        }
        finally
        {
            Interlocked.Decrement(ref _creating);
        }
    }

    /// <summary>
    /// Takes a descriptor the library has just opened (at the lowest free number, where the kernel
    /// put it) and moves it above the floor; -1 with errno if there is no room up there (it is closed).
    /// </summary>
    internal int Adopt(int fd, out FileIdentity identity)
    {
        identity = default;
        if (fd < 0)
            return -1;
        if (fd < Floor)
            Interlocked.Increment(ref s_lowHolds);
        BeginCreation();
        try
        {
            int moved = fd >= Floor ? fd : PlaceHigh(fd);
            if (moved != fd)
                Libc.CloseKeepingErrno(fd);
            if (moved < 0 || !TryIdentity(moved, out identity))
            {
                if (moved >= 0)
                    Libc.CloseKeepingErrno(moved);
                return -1;
            }
            _held[moved] = identity;
            return moved;
        }
        finally
        {
            Interlocked.Decrement(ref _creating);
        }
    }

    /// <summary>True when <paramref name="fd"/> is one of the library's own descriptors now (by number
    /// and file: a number swept and reused by the caller is not).</summary>
    internal bool IsOwn(int fd) => _held.TryGetValue(fd, out FileIdentity made) && TryIdentity(fd, out FileIdentity now) && Matches(made, now);

    /// <summary>True when <paramref name="fd"/> is still the library's and still refers to the file it made.</summary>
    internal bool StillOurs(int fd, FileIdentity made) =>
        _held.TryGetValue(fd, out FileIdentity registered) && registered == made
        && TryIdentity(fd, out FileIdentity now) && Matches(made, now);

    /// <summary><see cref="Close(int, FileIdentity)"/> with the identity recorded when the library made it.</summary>
    internal void Close(int fd)
    {
        if (fd >= 0 && _held.TryGetValue(fd, out FileIdentity made))
            Close(fd, made);
    }

    /// <summary>Closes one of the library's descriptors if it still is one; a number the caller has
    /// swept (and perhaps reused) is only forgotten. Keeps the errno a failed call recorded.</summary>
    internal void Close(int fd, FileIdentity made)
    {
        if (fd < 0 || !_held.TryRemove(new KeyValuePair<int, FileIdentity>(fd, made)))
            return;
        if (TryIdentity(fd, out FileIdentity now) && Matches(made, now))
            Libc.CloseKeepingErrno(fd);
    }

    /// <summary>The file is the one made. An owner tag (kernels without pidfs) reads 0 once the
    /// tagged process is reaped: a held pidfd is still the library's after its child's reap.</summary>
    private static bool Matches(FileIdentity made, FileIdentity now) =>
        now == made || (made.Owner != 0 && now.Owner == 0 && now.Device == made.Device && now.Inode == made.Inode);

    private void BeginCreation()
    {
        Interlocked.Increment(ref _creating);
        Interlocked.Increment(ref _creationsStarted);
    }

    private bool TryIdentity(int fd, out FileIdentity identity)
    {
        (bool open, identity) = _identify(fd);
        return open;
    }

    private int PlaceHigh(int fd)
    {
        int copy = Libc.fcntl(fd, Libc.F_DUPFD_CLOEXEC, Floor);
        if (copy < 0 && Marshal.GetLastPInvokeError() == (int)Errno.EINVAL)
        {
            // RLIMIT_NOFILE was lowered below the floor since: place under the new limit.
            int floor = FloorForLimit();
            Volatile.Write(ref _floor, floor);
            copy = Libc.fcntl(fd, Libc.F_DUPFD_CLOEXEC, floor);
        }
        return copy;
    }

    private static unsafe int FloorForLimit()
    {
        ulong* limits = stackalloc ulong[2];
        if (Libc.getrlimit(Libc.RLIMIT_NOFILE, limits) != 0)
            return 3;
        return (int)Math.Clamp(limits[0] / 4, 3, 1024);
    }
}
