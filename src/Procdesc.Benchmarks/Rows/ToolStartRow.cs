using System.Globalization;
using Procdesc.Benchmarks.Harness;

namespace Procdesc.Benchmarks.Rows;

/// <summary>
/// Row 9 (issue 14): `procdesc run -q -- /bin/true`, start to end, as a shell user feels it —
/// the NativeAOT tool (make aot) and the framework-dependent one (its apphost) — against
/// `timeout 10 /bin/true`, the C tool it follows, interleaved in one run.
/// </summary>
internal static class ToolStartRow
{
    internal const string AotName = "procdesc run -q -- /bin/true (NativeAOT, make aot)";
    internal const string FrameworkName = "procdesc run -q -- /bin/true (framework-dependent apphost)";
    internal const string TimeoutName = "timeout 10 /bin/true (coreutils)";

    /// <summary>Mean wall time of <paramref name="n"/> runs of <paramref name="argv"/>, each created
    /// and reaped through the library with stdout and stderr on /dev/null.</summary>
    private static double Runs(int n, string[] argv)
    {
        using var devnull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite);
        int fd = (int)devnull.DangerousGetHandle();
        PdChild child = PdChild.Exec(argv[0], argv).WithFd(1, fd).WithFd(2, fd);
        long timed = 0;
        for (int i = 0; i < n; i++)
        {
            long t0 = Native.NowNs();
            using var pd = ProcessDescriptor.Fork(child, PdFlags.CloExec);
            ExitStatus status = pd.Wait();
            timed += Native.NowNs() - t0;
            if (status.ExitCode != 0)
                throw new IOException($"{string.Join(' ', argv)}: {status}");
        }
        return timed / (double)n;
    }

    internal static RowResult Run(Options o, Action<string> progress)
    {
        var row = new RowResult { Number = 9, Title = "The tool's start: procdesc run vs timeout(1)" };
        string root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        string rid = $"linux-{System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
        string aot = o.AotTool ?? Path.Combine(root, "artifacts", "aot", rid, "procdesc");
        string apphost = Path.Combine(root, "src", "Procdesc.Cli", "bin", "Release", "net10.0", "Procdesc.Cli");
        string timeout = new[] { "/usr/bin/timeout", "/bin/timeout" }.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("coreutils' timeout, the baseline");
        if (!File.Exists(apphost))
            throw new FileNotFoundException($"the framework-dependent tool (dotnet build src/Procdesc.Cli -c Release): {apphost}");

        int rounds = o.Pick(15, 2), batch = o.Pick(10, 1);
        var subjects = new List<Subject>
        {
            new(TimeoutName, batch, n => Runs(n, [timeout, "10", "/bin/true"])),
            new(FrameworkName, batch, n => Runs(n, [apphost, "run", "-q", "--", "/bin/true"])),
        };
        bool haveAot = File.Exists(aot);
        if (haveAot)
            subjects.Add(new(AotName, batch, n => Runs(n, [aot, "run", "-q", "--", "/bin/true"])));
        else
            row.NotMeasured = $"no NativeAOT tool at {aot} (make aot builds it; make bench does first)";
        var r = Interleaved.Run(subjects, rounds, progress);

        string stat = $"median of {rounds} rounds × {batch}";
        double baseline = Stats.Median(r[TimeoutName]);
        row.Method = $"Each round runs {batch} × each command, the order rotating, each created and reaped through the library " +
            "(the same cost for all three) with stdout and stderr on /dev/null; timed from the call to the reap. The NativeAOT tool is " +
            "make aot's linux binary; the framework-dependent one is the Release apphost of src/Procdesc.Cli (what `dotnet tool install` " +
            $"runs). {rounds} rounds {Interleaved.WarmUpText}.";
        if (haveAot)
        {
            double[] aotRatios = Stats.PairedRatios(r[AotName], r[TimeoutName]);
            row.Figures.Add(Figure.Versus("NativeAOT tool vs timeout(1)", AotName, Stats.Median(r[AotName]) / 1e6, "ms", stat,
                TimeoutName, baseline / 1e6, Stats.Median(aotRatios), aotRatios, 5.0));
        }
        double[] fdRatios = Stats.PairedRatios(r[FrameworkName], r[TimeoutName]);
        row.Figures.Add(Figure.Versus("framework-dependent tool vs timeout(1)", FrameworkName, Stats.Median(r[FrameworkName]) / 1e6, "ms", stat,
            TimeoutName, baseline / 1e6, Stats.Median(fdRatios), fdRatios, null, "no goal: the .NET runtime's own start, beside the NativeAOT figure"));
        row.Details.Add("");
        row.AddSubjectTable(subjects, r, ns => (ns / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " ms");
        return row;
    }
}
