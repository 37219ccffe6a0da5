using System.Diagnostics;
using Procdesc.Benchmarks;
using Procdesc.Benchmarks.Harness;
using Procdesc.Benchmarks.Rows;

// The benchmarks of issue 7 (`make bench`): every row against its baselines, measured in the same
// run, interleaved; writes bench-report.md and bench-report.json.
if (args.Length > 0 && args[0] == "--worker")
    return Worker.Run(args);
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(Options.Usage);
    return 0;
}
Options options;
try
{
    options = Options.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Options.Usage);
    return 2;
}
if (!OperatingSystem.IsLinux() || !Procdesc.PdSyscall.Backend.StartsWith("linux-pidfd", StringComparison.Ordinal))
{
    Console.Error.WriteLine($"The benchmarks and their C baselines are Linux-only (clone, pidfds); this host: {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, backend {Procdesc.PdSyscall.Backend}.");
    return 2;
}

var clock = Stopwatch.StartNew();
var report = new BenchReport
{
    Command = "dotnet Procdesc.Benchmarks.dll " + string.Join(' ', args),
    Smoke = options.Smoke,
    StartedUtc = DateTime.UtcNow,
    Machine = Machine.Describe(),
};
var rows = new (int Number, Func<Options, Action<string>, RowResult> Run)[]
{
    (1, SpawnRow.Run), (2, HeapRow.Run), (3, CallsRow.Run), (4, ManyRow.Run),
    (5, LatencyRow.Run), (6, KillRow.Run), (7, MemoryRow.Run), (8, WorkerRow.Run),
    (9, ToolStartRow.Run),
};
int failed = 0;
foreach (var (number, run) in rows.Where(r => options.Rows.Contains(r.Number)))
{
    var rowClock = Stopwatch.StartNew();
    void Progress(string message) => Console.WriteLine($"  row {number} [{rowClock.Elapsed.TotalSeconds,5:F0} s] {message}");
    Console.WriteLine($"row {number} …");
    RowResult result;
    try
    {
        result = run(options, Progress);
    }
    catch (Exception e)
    {
        failed++;
        result = new RowResult { Number = number, Title = $"row {number}", Error = e.ToString() };
        Console.WriteLine($"  row {number} failed: {e}");
    }
    result.Seconds = rowClock.Elapsed.TotalSeconds;
    report.Rows.Add(result);
    foreach (Figure f in result.Figures.Where(f => f.Goal is not null))
        Console.WriteLine($"  {f.Name}: {Fmt.Value(f.Value)} {f.Unit}{(f.Ratio is { } r ? $", ratio {Fmt.Ratio(r)}" : "")} (goal {f.Goal}) → {(f.Met == true ? "met" : "MISSED")}");
    GC.Collect();
    GC.WaitForPendingFinalizers();
}
report.Seconds = clock.Elapsed.TotalSeconds;
report.Machine.LoadAverageAtEnd = Machine.LoadAverage();
report.Write(options.OutDirectory);
Console.WriteLine($"wrote {Path.Combine(options.OutDirectory, "bench-report.md")} and bench-report.json in {report.Seconds:F0} s");
return failed == 0 ? 0 : 1;
