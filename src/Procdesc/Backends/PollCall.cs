using Procdesc.Interop;

namespace Procdesc.Backends;

/// <summary>poll(2) over native entries, C-shaped: what both backends' pdsyscall poll runs once
/// each has translated the caller's entries (FreeBSD's bit numbers, Linux's POLLIN for a pidfd).</summary>
internal static unsafe class PollCall
{
    /// <summary>The number of ready entries, or -1 with errno.</summary>
    internal static int Run(Span<NativePollfd> entries, int timeout)
    {
        int ready;
        fixed (NativePollfd* p = entries)
            ready = Libc.poll(p, (ulong)entries.Length, timeout);
        return ready < 0 ? LastError.FailFromLastPInvoke() : ready;
    }
}
