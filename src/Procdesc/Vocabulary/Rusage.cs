namespace Procdesc;

/// <summary>The resource usage of a reaped child (struct rusage, the fields both systems fill).</summary>
/// <param name="UserTime">CPU time spent in user mode.</param>
/// <param name="SystemTime">CPU time spent in the kernel.</param>
/// <param name="MaxRssKiB">Largest resident set size, in KiB.</param>
/// <param name="MinorFaults">Page faults served without I/O.</param>
/// <param name="MajorFaults">Page faults that needed I/O.</param>
/// <param name="VoluntaryContextSwitches">Context switches because the process waited.</param>
/// <param name="InvoluntaryContextSwitches">Context switches because the scheduler preempted it.</param>
public readonly record struct Rusage(TimeSpan UserTime, TimeSpan SystemTime, long MaxRssKiB, long MinorFaults,
    long MajorFaults, long VoluntaryContextSwitches, long InvoluntaryContextSwitches)
{
    /// <summary>
    /// True when the status was reported but the kernel kept no resource usage for it: on Linux,
    /// a child reaped outside the library whose status came from <c>PIDFD_INFO_EXIT</c>
    /// (contract §10 L1). Every other field is then zero.
    /// </summary>
    public bool IsMissing { get; init; }

    /// <summary>The usage of a status the kernel kept without resource usage.</summary>
    internal static Rusage Missing => new() { IsMissing = true };
}
