using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>struct rusage on 64-bit Linux and FreeBSD alike: two timevals, then fourteen longs.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeRusage
{
    public long UtimeSec, UtimeUsec, StimeSec, StimeUsec;
    public long MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NVcsw, NIvcsw;

    /// <summary>The public view: times from timevals, ru_maxrss in KiB on both systems.</summary>
    internal readonly Rusage ToRusage() => new(
        TimeSpan.FromTicks(UtimeSec * TimeSpan.TicksPerSecond + UtimeUsec * 10),
        TimeSpan.FromTicks(StimeSec * TimeSpan.TicksPerSecond + StimeUsec * 10),
        MaxRss, MinFlt, MajFlt, NVcsw, NIvcsw);
}
