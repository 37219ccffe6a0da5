using System.Runtime.CompilerServices;
using Procdesc.Interop;

namespace Procdesc.Backends.Linux;

/// <summary>
/// What the library knows of one process behind one or more pidfds of this process. It is keyed
/// by the pidfs inode, which every pidfd of that process shares and which is never reused, so a
/// recycled descriptor number can never be mistaken for it.
/// </summary>
/// <remarks>
/// A record of a child the library made owns a private "anchor" pidfd (close-on-exec, placed high): kill, wait and reap go
/// through it rather than through the caller's number, which another thread may close and reuse
/// at any time. The anchor is closed when the record is dropped, which waits for every in-flight
/// use (a lease count) to end.
/// </remarks>
internal sealed class ChildRecord
{
    private const int DroppedBit = int.MinValue;
    private int _leases;

    internal ChildRecord(ulong inode, int pid, int anchor, bool createdHere, bool daemon, long startTimeUnixNs, uint uid, uint gid)
    {
        Inode = inode;
        Pid = pid;
        Anchor = anchor;
        CreatedHere = createdHere;
        Daemon = daemon;
        StartTimeUnixNs = startTimeUnixNs;
        Uid = uid;
        Gid = gid;
    }

    internal ulong Inode { get; }

    /// <summary>The pid, cached at creation or adoption (the kernel forgets it at reap); 0 if unknown.</summary>
    internal int Pid { get; }

    /// <summary>The library's private pidfd for a child it made; -1 for a process it did not make.</summary>
    internal int Anchor { get; }

    /// <summary>Made by this library's pdfork: it is ours to reap, and kill-on-close applies to it
    /// unless <see cref="Daemon"/>. Adopted foreign pidfds are neither killed nor reaped.</summary>
    internal bool CreatedHere { get; }

    internal bool Daemon { get; }

    internal bool KillOnLastClose => CreatedHere && !Daemon;

    /// <summary>Wall-clock start time (ns since the epoch), for fstat; 0 if unknown.</summary>
    internal long StartTimeUnixNs { get; }

    /// <summary>The real uid/gid when the record was made; fstat prefers the kernel's live values.</summary>
    internal uint Uid { get; }
    internal uint Gid { get; }

    /// <summary>Guards <see cref="Reaped"/> and every wait that may consume a status.</summary>
    internal object Gate => this;

    /// <summary>A status that ends the child was consumed through the library (or the kernel's kept
    /// status was reported once): later waits answer ECHILD/ESRCH.</summary>
    internal bool Reaped { get; set; }

    /// <summary>How the child ended, once the library reaped it (or reported the kernel's kept
    /// status): every later object-layer wait, on any copy, gets this.</summary>
    /// <remarks>Boxed: the status exists only after the reap, and inline it would make every live
    /// record ~80 bytes larger.</remarks>
    internal StrongBox<ExitStatus>? Final { get; set; }

    /// <summary>Pending asynchronous waits (guarded by <see cref="Gate"/>).</summary>
    internal List<ExitWaiter>? Waiters { get; set; }

    /// <summary>No descriptor of this process (but the anchor) names the child any more.</summary>
    internal bool Released { get; set; }

    /// <summary>Takes a lease on <see cref="Anchor"/>; false once the record is dropped.</summary>
    internal bool TryLease()
    {
        while (true)
        {
            int leases = Volatile.Read(ref _leases);
            if (leases < 0)
                return false;
            if (Interlocked.CompareExchange(ref _leases, leases + 1, leases) == leases)
                return true;
        }
    }

    internal void EndLease()
    {
        if (Interlocked.Decrement(ref _leases) == DroppedBit)
            CloseAnchor();
    }

    /// <summary>Forgets the child: the anchor is closed as soon as no lease holds it.</summary>
    internal void Drop()
    {
        int leases;
        do
        {
            leases = Volatile.Read(ref _leases);
            if (leases < 0)
                return;
        } while (Interlocked.CompareExchange(ref _leases, leases | DroppedBit, leases) != leases);
        if (leases == 0)
            CloseAnchor();
    }

    private void CloseAnchor()
    {
        if (Anchor >= 0)
            Libc.CloseKeepingErrno(Anchor);
    }
}
