using System.Diagnostics;
using System.Globalization;
using Procdesc.Benchmarks.Harness;
using static Procdesc.PdSyscall;

namespace Procdesc.Benchmarks.Rows;

/// <summary>Row 1: start /bin/true and reap it.</summary>
internal static class SpawnRow
{
    private static readonly PdChild True = PdChild.Exec("/bin/true", ["true"]);

    internal const string PdforkName = "pdfork + pdwait4 + close";
    internal const string CloneName = "C clone(CLONE_VM|CLONE_VFORK) + execve + waitpid";
    internal const string PosixSpawnName = "C posix_spawn + waitpid";
    internal const string ProcessName = "Process.Start + WaitForExit + Dispose";
    internal const string HelperName = "the library's C helper alone (diagnostic)";
    internal const string EnvpName = "pdfork with an explicit envp (diagnostic)";
    internal const string DaemonName = "pdfork PD_DAEMON: no spawner-thread hop (diagnostic)";

    /// <summary>n × (pdfork + pdwait4 + close) of /bin/true; nanoseconds per child. Also the row-2 worker's loop.</summary>
    internal static double Pdfork(int n) => Pdfork(n, PD_CLOEXEC, True);

    private static double Pdfork(int n, int flags, PdChild child)
    {
        long t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
        {
            int pid = pdfork(out int fd, flags, child);
            if (pid < 0)
                throw new IOException($"pdfork: {GetLastError()}");
            if (pdwait4(fd, out int status, PdWaitOptions.None, out _) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                throw new IOException($"pdwait4: {GetLastError()} (status {status})");
            close(fd);
        }
        return (Native.NowNs() - t0) / (double)n;
    }

    private static double ProcessStart(int n)
    {
        var info = new ProcessStartInfo("/bin/true") { UseShellExecute = false };
        long t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
        {
            using var p = Process.Start(info)!;
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new IOException($"/bin/true exited with {p.ExitCode}");
        }
        return (Native.NowNs() - t0) / (double)n;
    }

    internal static RowResult Run(Options o, Action<string> progress)
    {
        var row = new RowResult { Number = 1, Title = "Start /bin/true and reap it" };
        int rounds = o.Pick(31, 2), batch = o.Pick(100, 4);
        using var clone = LineWorker.Baseline("spawn_loop", "clone");
        using var posixSpawn = LineWorker.Baseline("spawn_loop", "posix_spawn");
        using var helper = new HelperSpawner("/bin/true", ["true"]);
        var environment = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            environment.Add($"{e.Key}={e.Value}");
        PdChild trueWithEnvp = PdChild.Exec("/bin/true", ["true"], environment);
        // CPU time of the library's threads during the measured pdfork batches, by thread.
        var cpu = new Dictionary<string, long>();
        long cpuOps = 0;
        double MeasuredPdfork(int n)
        {
            var before = ThreadCpu.Snapshot();
            double result = Pdfork(n);
            ThreadCpu.Accumulate(cpu, before, ThreadCpu.Snapshot());
            cpuOps += n;
            return result;
        }
        Subject[] subjects =
        [
            new(CloneName, batch, n => clone.AskLong(n.ToString(CultureInfo.InvariantCulture))),
            new(PdforkName, batch, MeasuredPdfork),
            new(PosixSpawnName, batch, n => posixSpawn.AskLong(n.ToString(CultureInfo.InvariantCulture))),
            new(ProcessName, batch, ProcessStart),
            new(HelperName, batch, helper.Measure),
            new(EnvpName, batch, n => Pdfork(n, PD_CLOEXEC, trueWithEnvp)),
            new(DaemonName, batch, n => Pdfork(n, PD_CLOEXEC | PD_DAEMON, True)),
        ];
        var r = Interleaved.Run(subjects, rounds, progress);

        string stat = $"median of {rounds} rounds × {batch}";
        double pd = Stats.Median(r[PdforkName]);
        Figure Vs(string name, string baseline, double? goal, string? note = null)
        {
            double[] ratios = Stats.PairedRatios(r[PdforkName], r[baseline]);
            return Figure.Versus(name, PdforkName, pd / 1000, "µs", stat, baseline, Stats.Median(r[baseline]) / 1000,
                Stats.Median(ratios), ratios, goal, note);
        }
        row.Method = $"Each round starts and reaps {batch} children of `/bin/true` with each subject in turn, the order rotating; a C baseline is a separate program (`native/spawn_loop.c`) that times its own loop, the .NET subjects run in this process. Every child gets the harness's environment. {rounds} rounds after one warm-up batch each.";
        row.Figures.Add(Vs("start + reap vs the kernel's clone", CloneName, 1.10));
        row.Figures.Add(Vs("start + reap vs Process", ProcessName, 1.0));
        row.Figures.Add(Vs("start + reap vs posix_spawn", PosixSpawnName, null));
        double[] helperRatios = Stats.PairedRatios(r[HelperName], r[CloneName]);
        row.Figures.Add(Figure.Versus("the C helper alone vs clone", HelperName, Stats.Median(r[HelperName]) / 1000, "µs", stat,
            CloneName, Stats.Median(r[CloneName]) / 1000, Stats.Median(helperRatios), helperRatios, null,
            "procdesc_spawn called directly on this thread with a request built once, then waitid(P_PIDFD) + close: the floor of the library's design; pdfork minus this is the managed side."));
        foreach (string diagnostic in new[] { EnvpName, DaemonName })
        {
            double[] dr = Stats.PairedRatios(r[diagnostic], r[PdforkName]);
            row.Figures.Add(Figure.Versus(diagnostic.Replace(" (diagnostic)", "", StringComparison.Ordinal) + " vs pdfork", diagnostic,
                Stats.Median(r[diagnostic]) / 1000, "µs", stat, PdforkName, pd / 1000, Stats.Median(dr), dr, null));
        }
        row.Details.Add("Per-round ns per child (median / min / max):");
        row.Details.Add("");
        row.Details.Add("| subject | median | min | max |");
        row.Details.Add("|---|---|---|---|");
        foreach (Subject s in subjects)
            row.Details.Add($"| {s.Name.Replace("|", "\\|", StringComparison.Ordinal)} | {Fmt.Us(Stats.Median(r[s.Name]))} | {Fmt.Us(r[s.Name].Min())} | {Fmt.Us(r[s.Name].Max())} |");
        row.Details.Add("");
        var perThread = cpu.Where(kv => kv.Value > 0).OrderByDescending(kv => kv.Value)
            .ToDictionary(kv => kv.Key, kv => kv.Value / 1000.0 / cpuOps);
        row.Details.Add($"CPU time per pdfork + pdwait4 + close in this process, by thread (/proc/self/task/*/schedstat over all measured batches; the child's own time is not counted): {string.Join("; ", perThread.Where(kv => kv.Value >= 0.5).Select(kv => $"`{kv.Key}` {Fmt.Value(kv.Value)} µs"))}.");
        Diagnose.SpawnRow(row, r, perThread);
        return row;
    }
}
