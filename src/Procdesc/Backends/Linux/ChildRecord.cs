namespace Procdesc.Backends.Linux;

/// <summary>
/// What the library knows of one process behind one or more pidfds of this process. It is keyed
/// by what every pidfd of that process shares (<see cref="PidfdIdentity"/>) and no other process
/// can have meanwhile, so a recycled descriptor number can never be mistaken for it.
/// </summary>
/// <remarks>
/// <para>While the caller holds a descriptor for the child, the library holds none: calls act on the
/// caller's number once its inode says which child it names, as FreeBSD's kernel acts on the
/// file the number names when the call runs. The library takes a descriptor of its own
/// (<see cref="Held"/>, placed high, checked before every use) only when it must act without the
/// caller: after the caller's last copy is closed, until the child is killed (unless PD_DAEMON)
/// and reaped.</para>
/// <para>One lives as long as its child, thousands at a time, so it is small (48 bytes): the key and
/// the reactor's id share a field where the key is unique (a pidfs inode), and every flag and the
/// in-flight count share one word, changed atomically.</para>
/// </remarks>
internal class ChildRecord
{
    // Ids the library counts itself, for records whose key is not unique for ever (a pid, or none):
    // the top bit keeps them apart from pidfs inodes.
    private const ulong CountedIdBit = 1UL << 63;
    private static long s_lastId;

    // Flag bits of _state; the bits from InFlightShift up count in-flight calls.
    private const int CreatedHereBit = 1 << 0, DaemonBit = 1 << 1, KernelKillsBit = 1 << 2, KeyIsPidBit = 1 << 3,
        NoKeyBit = 1 << 4, ReapedBit = 1 << 5, ReleasedBit = 1 << 6, ZombieKeptBit = 1 << 7, KilledBit = 1 << 8,
        ReleaseWhenIdleBit = 1 << 9, ConsumingBit = 1 << 10;
    private const int InFlightShift = 12;
    private const int InFlightOne = 1 << InFlightShift;

    private readonly ulong _id;
    private int _state;

    /// <param name="key">The tier's key (<see cref="PidfdIdentity"/>): a pidfs inode, a pid, or 0.</param>
    /// <param name="keyIsUnique">The key never names another process, ever (a pidfs inode): it is the id too.</param>
    /// <param name="pid">The child's pid (0 if unknown).</param>
    /// <param name="createdHere">Made by this library's pdfork.</param>
    /// <param name="daemon">Made with PD_DAEMON (or adopted: never killed).</param>
    /// <param name="startTimeUnixNs">Wall-clock start (ns since the epoch), 0 if unknown.</param>
    /// <param name="kernelKills">Made with CLONE_PIDFD_AUTOKILL.</param>
    internal ChildRecord(ulong key, bool keyIsUnique, int pid, bool createdHere, bool daemon, long startTimeUnixNs, bool kernelKills = false)
    {
        _state = (createdHere ? CreatedHereBit : 0) | (daemon ? DaemonBit : 0) | (kernelKills ? KernelKillsBit : 0);
        if (key == 0)
            _state |= NoKeyBit;
        else if (!keyIsUnique)
            _state |= KeyIsPidBit;
        // A pidfs inode is a 64-bit count from the boot (far below the top bit): it is the id.
        _id = key != 0 && keyIsUnique ? key : CountedIdBit | (ulong)Interlocked.Increment(ref s_lastId);
        Pid = pid;
        StartTimeUnixNs = startTimeUnixNs;
    }

    /// <summary>This record's key in the exit reactor's epoll set (never 0, never reused).</summary>
    internal long Id => (long)_id;

    /// <summary>This record's key in the <see cref="KeptExits"/> store: its status once the library
    /// reaped it, and its pending exit watchers, live there.</summary>
    internal ulong ExitKey => _id;

    /// <summary>What names the process behind every copy of its descriptor (<see cref="PidfdIdentity"/>):
    /// the pidfs inode, or the pid on kernels without pidfs; 0 when the tier could not tell.</summary>
    internal ulong Key => (Volatile.Read(ref _state) & (NoKeyBit | KeyIsPidBit)) switch
    {
        0 => _id,
        KeyIsPidBit => (ulong)Pid,
        _ => 0,
    };

    /// <summary>The pid, cached at creation or adoption (the kernel forgets it at reap); 0 if unknown.</summary>
    internal int Pid { get; }

    /// <summary>Made by this library's pdfork: it is ours to reap, and kill-on-close applies to it
    /// unless <see cref="Daemon"/>. Adopted foreign pidfds are neither killed nor reaped.</summary>
    internal bool CreatedHere => Has(CreatedHereBit);

    internal bool Daemon => Has(DaemonBit);

    /// <summary>The library kills the child when the caller's last copy closes (the emulation).</summary>
    internal bool KillOnLastClose => CreatedHere && !Daemon && !KernelKills;

    /// <summary>
    /// Made with CLONE_PIDFD_AUTOKILL (<see cref="PdChild.WithKernelKillOnClose"/>): the kernel kills
    /// it when the last reference to its clone3 pidfd file goes and reaps it at exit. The library
    /// never kills nor reaps it, and never keeps a copy of that file beyond a call (a copy would
    /// keep the child alive): the descriptor it holds after the caller's last close is a
    /// pidfd_open of the child, another file.
    /// </summary>
    internal bool KernelKills => Has(KernelKillsBit);

    /// <summary>The helper parent whose child this is (<see cref="ParentHelper"/>), or null for a child
    /// of this process: every waitid for it is the helper's.</summary>
    internal ParentHelper? Parent => (this as HelperChildRecord)?.HelperParent;

    /// <summary>Wall-clock start time (ns since the epoch), for fstat; 0 if unknown.</summary>
    internal long StartTimeUnixNs { get; }

    /// <summary>Guards the mutable state below and every wait that may consume a status.</summary>
    internal object Gate => this;

    /// <summary>A status that ends the child was consumed through the library (or the kernel's kept
    /// status was reported once), or the child is known to be gone: later waits answer ECHILD/ESRCH.</summary>
    internal bool Reaped { get => Has(ReapedBit); set => Set(ReapedBit, value); }

    /// <summary>The library's own pidfd for the child (see remarks), or -1; guarded by <see cref="Gate"/>.</summary>
    internal int Held { get; set; } = -1;

    /// <summary>The last number the caller was seen using for the child (a hint: check it), or -1.</summary>
    internal int KnownNumber { get; set; } = -1;

    /// <summary>No descriptor of the caller's names the child any more: kill-on-close has been
    /// applied (unless PD_DAEMON); the record goes once the child is reaped.</summary>
    internal bool Released { get => Has(ReleasedBit); set => Set(ReleasedBit, value); }

    /// <summary>The status was taken but the kernel's reap waits for the last descriptor
    /// (<see cref="PidfdIdentity.ReapsAtLastClose"/>): the zombie is still there.</summary>
    internal bool ZombieKept { get => Has(ZombieKeptBit); set => Set(ZombieKeptBit, value); }

    /// <summary>SIGKILL was sent for kill-on-close.</summary>
    internal bool Killed { get => Has(KilledBit); set => Set(KilledBit, value); }

    /// <summary>The last copy was closed while a blocking call was in flight: look again when it ends.</summary>
    internal bool ReleaseWhenIdle { get => Has(ReleaseWhenIdleBit); set => Set(ReleaseWhenIdleBit, value); }

    /// <summary>A blocking wait is taking the exit status in the kernel, outside <see cref="Gate"/>
    /// (<see cref="ChildWaits"/>): a waiter that finds the child already reaped waits for it to
    /// publish the status instead of concluding that something outside the library took it.</summary>
    internal bool Consuming { get => Has(ConsumingBit); set => Set(ConsumingBit, value); }

    /// <summary>Blocking C-shaped calls in progress on the child. Like FreeBSD's kernel, which holds
    /// the file for the length of a blocked pdwait, they keep the child from kill-on-close.</summary>
    internal int InFlight => (int)((uint)Volatile.Read(ref _state) >> InFlightShift);

    internal void BeginInFlight() => Interlocked.Add(ref _state, InFlightOne);

    /// <summary>Ends an in-flight call; true when it was the last one and a close happened meanwhile.</summary>
    internal bool EndInFlight()
    {
        if ((Interlocked.Add(ref _state, -InFlightOne) >> InFlightShift) != 0)
            return false;
        lock (Gate)
        {
            bool again = ReleaseWhenIdle;
            ReleaseWhenIdle = false;
            return again;
        }
    }

    private bool Has(int bit) => (Volatile.Read(ref _state) & bit) != 0;

    // Atomic, so that a flag set under the gate never loses a concurrent change of another bit or
    // of the in-flight count (which is changed without the gate).
    private void Set(int bit, bool value)
    {
        if (value)
            Interlocked.Or(ref _state, bit);
        else
            Interlocked.And(ref _state, ~bit);
    }
}

/// <summary>A child made by the helper parent (<see cref="ParentHelper"/>), rare enough that every
/// other record goes without the reference.</summary>
internal sealed class HelperChildRecord(ulong key, bool keyIsUnique, int pid, bool daemon, long startTimeUnixNs, ParentHelper parent)
    : ChildRecord(key, keyIsUnique, pid, createdHere: true, daemon, startTimeUnixNs)
{
    internal ParentHelper HelperParent { get; } = parent;
}
