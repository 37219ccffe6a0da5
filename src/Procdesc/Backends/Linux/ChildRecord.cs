namespace Procdesc.Backends.Linux;

/// <summary>
/// What the library knows of one process behind one or more pidfds of this process. It is keyed
/// by what every pidfd of that process shares (<see cref="PidfdIdentity"/>) and no other process
/// can have meanwhile, so a recycled descriptor number can never be mistaken for it.
/// </summary>
/// <remarks>
/// While the caller holds a descriptor for the child, the library holds none: calls act on the
/// caller's number once its inode says which child it names, as FreeBSD's kernel acts on the
/// file the number names when the call runs. The library takes a descriptor of its own
/// (<see cref="Held"/>, placed high, checked before every use) only when it must act without the
/// caller: after the caller's last copy is closed, until the child is killed (unless PD_DAEMON)
/// and reaped.
/// </remarks>
internal sealed class ChildRecord
{
    private static long s_lastId;
    private int _inFlight;

    internal ChildRecord(ulong key, int pid, bool createdHere, bool daemon, long startTimeUnixNs, uint uid, uint gid, bool kernelKills = false, ParentHelper? parent = null)
    {
        KernelKills = kernelKills;
        Parent = parent;
        Id = Interlocked.Increment(ref s_lastId);
        Key = key;
        Pid = pid;
        CreatedHere = createdHere;
        Daemon = daemon;
        StartTimeUnixNs = startTimeUnixNs;
        Uid = uid;
        Gid = gid;
    }

    /// <summary>This record's key in the exit reactor's epoll set (never 0, never reused).</summary>
    internal long Id { get; }

    /// <summary>This record's key in the <see cref="KeptExits"/> store: its status once the library
    /// reaped it, and its pending exit watchers, live there.</summary>
    internal ulong ExitKey => (ulong)Id;

    /// <summary>What names the process behind every copy of its descriptor (<see cref="PidfdIdentity"/>):
    /// the pidfs inode, or the pid on kernels without pidfs.</summary>
    internal ulong Key { get; }

    /// <summary>The pid, cached at creation or adoption (the kernel forgets it at reap); 0 if unknown.</summary>
    internal int Pid { get; }

    /// <summary>Made by this library's pdfork: it is ours to reap, and kill-on-close applies to it
    /// unless <see cref="Daemon"/>. Adopted foreign pidfds are neither killed nor reaped.</summary>
    internal bool CreatedHere { get; }

    internal bool Daemon { get; }

    /// <summary>The library kills the child when the caller's last copy closes (the emulation).</summary>
    internal bool KillOnLastClose => CreatedHere && !Daemon && !KernelKills;

    /// <summary>
    /// Made with CLONE_PIDFD_AUTOKILL (<see cref="PdChild.WithKernelKillOnClose"/>): the kernel kills
    /// it when the last reference to its clone3 pidfd file goes and reaps it at exit. The library
    /// never kills nor reaps it, and never keeps a copy of that file beyond a call (a copy would
    /// keep the child alive): the descriptor it holds after the caller's last close is a
    /// pidfd_open of the child, another file.
    /// </summary>
    internal bool KernelKills { get; }

    /// <summary>The helper parent whose child this is (<see cref="ParentHelper"/>), or null for a child
    /// of this process: every waitid for it is the helper's.</summary>
    internal ParentHelper? Parent { get; }

    /// <summary>Wall-clock start time (ns since the epoch), for fstat; 0 if unknown.</summary>
    internal long StartTimeUnixNs { get; }

    /// <summary>The real uid/gid when the record was made; fstat prefers the kernel's live values.</summary>
    internal uint Uid { get; }
    internal uint Gid { get; }

    /// <summary>Guards the mutable state below and every wait that may consume a status.</summary>
    internal object Gate => this;

    /// <summary>A status that ends the child was consumed through the library (or the kernel's kept
    /// status was reported once), or the child is known to be gone: later waits answer ECHILD/ESRCH.</summary>
    internal bool Reaped { get; set; }

    /// <summary>The library's own pidfd for the child (see remarks), or -1; guarded by <see cref="Gate"/>.</summary>
    internal int Held { get; set; } = -1;

    /// <summary>The last number the caller was seen using for the child (a hint: check it), or -1.</summary>
    internal int KnownNumber { get; set; } = -1;

    /// <summary>No descriptor of the caller's names the child any more: kill-on-close has been
    /// applied (unless PD_DAEMON); the record goes once the child is reaped.</summary>
    internal bool Released { get; set; }

    /// <summary>The status was taken but the kernel's reap waits for the last descriptor
    /// (<see cref="PidfdIdentity.ReapsAtLastClose"/>): the zombie is still there.</summary>
    internal bool ZombieKept { get; set; }

    /// <summary>SIGKILL was sent for kill-on-close.</summary>
    internal bool Killed { get; set; }

    /// <summary>The last copy was closed while a blocking call was in flight: look again when it ends.</summary>
    internal bool ReleaseWhenIdle { get; set; }

    /// <summary>Blocking C-shaped calls in progress on the child. Like FreeBSD's kernel, which holds
    /// the file for the length of a blocked pdwait, they keep the child from kill-on-close.</summary>
    internal int InFlight => Volatile.Read(ref _inFlight);

    internal void BeginInFlight() => Interlocked.Increment(ref _inFlight);

    /// <summary>Ends an in-flight call; true when it was the last one and a close happened meanwhile.</summary>
    internal bool EndInFlight()
    {
        if (Interlocked.Decrement(ref _inFlight) != 0)
            return false;
        lock (Gate)
        {
            bool again = ReleaseWhenIdle;
            ReleaseWhenIdle = false;
            return again;
        }
    }
}
