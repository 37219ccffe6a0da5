using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Mono.Unix.Native;
using Procdesc.Benchmarks.Harness;
using static Procdesc.PdSyscall;

namespace Procdesc.Benchmarks.Rows;

/// <summary>
/// Row 3's calls under BenchmarkDotNet (in-process): a cross-check of the interleaved figures
/// with BenchmarkDotNet's own pilot, warm-up and overhead subtraction. Its baselines are the same
/// raw system calls made from C# through P/Invoke (BenchmarkDotNet cannot time a C loop), so they
/// carry a P/Invoke transition each; the row's figures proper are the interleaved ones against C.
/// </summary>
public unsafe class CallsBenchmarks
{
    private ProcessDescriptor _child = null!;
    private int _fd;
    private Pollfd[] _fds = null!;

    [GlobalSetup]
    public void Setup()
    {
        _child = ProcessDescriptor.Fork(PdChild.Exec("/bin/sleep", ["sleep", "3600"]), PdFlags.CloExec);
        _fd = (int)_child.DangerousGetHandle();
        _fds = [new Pollfd { fd = _fd, events = PollEvents.POLLIN }];
    }

    [GlobalCleanup]
    public void Cleanup() => _child.Dispose();

    [Benchmark]
    public int PdGetPid() => pdgetpid(_fd, out int pid) + pid;

    [Benchmark]
    public int RawFstat()
    {
        byte* stat = stackalloc byte[256];
        return Native.FStat(_fd, stat);
    }

    [Benchmark]
    public int PdKill0() => pdkill(_fd, 0);

    [Benchmark]
    public long RawFstatKill()
    {
        byte* stat = stackalloc byte[256];
        return Native.FStat(_fd, stat) + Native.Syscall(Native.SYS_pidfd_send_signal, _fd, 0, 0, 0, 0);
    }

    [Benchmark]
    public int PdWait4NoHang() => pdwait4(_fd, out _, PdWaitOptions.WNOHANG, out _);

    [Benchmark]
    public long RawFstatWaitid()
    {
        byte* stat = stackalloc byte[256];
        byte* info = stackalloc byte[128];
        byte* usage = stackalloc byte[144];
        return Native.FStat(_fd, stat) + Native.Syscall(Native.SYS_waitid, Native.P_PIDFD, _fd, (long)info,
            Native.WEXITED | Native.WNOHANG | Native.__WALL, (long)usage);
    }

    [Benchmark]
    public int Poll0() => poll(_fds, 0);

    [Benchmark]
    public int RawFstatPoll()
    {
        byte* stat = stackalloc byte[256];
        var p = new Native.PollFd { Fd = _fd, Events = Native.POLLIN };
        return Native.FStat(_fd, stat) + Native.Poll(&p, 1, 0);
    }

    [Benchmark]
    public int Pid() => _child.Pid;

    private static readonly (string Library, string Raw, string Label)[] Pairs =
    [
        (nameof(PdGetPid), nameof(RawFstat), "pdgetpid"),
        (nameof(PdKill0), nameof(RawFstatKill), "pdkill(fd, 0)"),
        (nameof(PdWait4NoHang), nameof(RawFstatWaitid), "pdwait4(WNOHANG)"),
        (nameof(Poll0), nameof(RawFstatPoll), "poll(0)"),
        (nameof(Pid), "", "ProcessDescriptor.Pid"),
    ];

    internal static void CrossCheck(RowResult row, Options o)
    {
        Job job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(o.Pick(3, 1))
            .WithIterationCount(o.Pick(10, 1))
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(o.Pick(100, 5)));
        if (o.Smoke)
            job = job.WithInvocationCount(64).WithUnrollFactor(16);
        IConfig config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(NullLogger.Instance)
            .WithArtifactsPath(Path.GetFullPath(Path.Combine(o.OutDirectory, "bench-bdn")))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.DisableLogFile);
        Summary summary = BenchmarkRunner.Run<CallsBenchmarks>(config);
        var medians = new Dictionary<string, double>();
        foreach (BenchmarkReport report in summary.Reports)
            if (report.ResultStatistics is { } stats)
                medians[report.BenchmarkCase.Descriptor.WorkloadMethod.Name] = stats.Median;

        row.Details.Add($"BenchmarkDotNet {typeof(BenchmarkRunner).Assembly.GetName().Version} cross-check (in-process, {o.Pick(10, 1)} iterations after {o.Pick(3, 1)} warm-ups; the baselines are the same system calls through P/Invoke, so each carries a P/Invoke transition):");
        row.Details.Add("");
        row.Details.Add("| call | Procdesc (BDN median) | raw syscalls via P/Invoke (BDN median) | ratio |");
        row.Details.Add("|---|---|---|---|");
        foreach (var (library, raw, label) in Pairs)
        {
            string lib = medians.TryGetValue(library, out double l) ? $"{Fmt.Value(l)} ns" : "n/a";
            string baseline = raw.Length > 0 && medians.TryGetValue(raw, out double b) ? $"{Fmt.Value(b)} ns" : "—";
            string ratio = raw.Length > 0 && medians.ContainsKey(library) && medians.TryGetValue(raw, out double b2) ? Fmt.Ratio(l / b2) : "—";
            row.Details.Add($"| {label} | {lib} | {baseline} | {ratio} |");
        }
        if (summary.HasCriticalValidationErrors || medians.Count < Pairs.Length * 2 - 1)
            row.Details.Add($"\nBenchmarkDotNet reported problems: {string.Join("; ", summary.ValidationErrors.Select(e => e.Message))}");
    }
}
