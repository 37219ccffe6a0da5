using System.Runtime.InteropServices;
using Procdesc.Interop;

namespace Procdesc.Backends;

/// <summary>
/// This process's open descriptor numbers without /proc (FreeBSD has none by default; a Linux
/// sandbox may have unmounted it): poll(2) marks every number that is not open POLLNVAL, so one
/// call tests up to 4,096 numbers, up to the descriptor limit (at most 1,048,576, Linux's default
/// ceiling): a few milliseconds in all. No descriptor is taken.
/// </summary>
internal static unsafe class OpenNumbersByPoll
{
    private const int PollChunk = 4096, CeilingDefault = 1 << 20;

    /// <summary>Calls <c>visit</c> with every open number below RLIMIT_NOFILE's soft limit (or
    /// <c>atLeastUpTo</c>, if higher: descriptors made before the limit was lowered); false with
    /// errno when poll fails or the limit allows too few entries. <c>scratch</c>: a pinned array of
    /// at least 4,096 entries, reused between calls.</summary>
    internal static bool ForEach(Action<int> visit, long atLeastUpTo, NativePollfd[] scratch, out int errno)
    {
        errno = 0;
        ulong* limits = stackalloc ulong[2];
        long soft = Libc.getrlimit(Libc.RLIMIT_NOFILE, limits) == 0 ? (long)Math.Min(limits[0], CeilingDefault) : CeilingDefault;
        // poll refuses more entries than RLIMIT_NOFILE; with almost none allowed, try again later.
        int chunk = (int)Math.Min(PollChunk, soft);
        if (chunk < 64)
        {
            errno = (int)Mono.Unix.Native.Errno.EMFILE;
            return false;
        }
        long ceiling = Math.Max(soft, atLeastUpTo);
        fixed (NativePollfd* p = scratch)
        {
            for (long first = 0; first < ceiling; first += chunk)
            {
                int count = (int)Math.Min(chunk, ceiling - first);
                for (int i = 0; i < count; i++)
                    p[i] = new NativePollfd { Fd = (int)(first + i) };
                if (Libc.poll(p, (ulong)count, 0) < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    return false;
                }
                for (int i = 0; i < count; i++)
                    if ((p[i].Revents & Libc.POLLNVAL) == 0)
                        visit(p[i].Fd);
            }
        }
        return true;
    }

    /// <summary>A scratch array for <see cref="ForEach"/>.</summary>
    internal static NativePollfd[] NewScratch() => GC.AllocateArray<NativePollfd>(PollChunk, pinned: true);
}
