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
    internal const string OffMainName = "pdfork from another thread: the hand-off to the spawner thread (diagnostic)";
    internal const string HelperInCName = "the library's C helper in a C program (diagnostic)";
    internal const string HabitsName = "C clone in a program with the .NET runtime's SIGCHLD handling and open files (diagnostic)";

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

    /// <summary>The same loop on a thread other than the main one: the library hands each creation
    /// to its spawner thread there (the death signal's thread rule), which the main thread needs not.</summary>
    private static double OffTheMainThread(int n)
    {
        double result = 0;
        var thread = new Thread(() => result = Pdfork(n)) { Name = "off-main pdfork" };
        thread.Start();
        thread.Join();
        return result;
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

    /// <summary>
    /// Managed bytes allocated per child (every thread: GC.GetTotalAllocatedBytes(precise)), pdfork +
    /// pdwait4 + close against Process.Start + WaitForExit + Dispose, each with its start
    /// description made once (PdChild, ProcessStartInfo), in interleaved rounds after the timed ones.
    /// </summary>
    private static void AllocationFigure(RowResult row, Options o, Action<string> progress)
    {
        progress("allocations per child");
        int rounds = o.Pick(7, 2), batch = o.Pick(200, 4);
        var pd = new List<double>();
        var process = new List<double>();
        static double PerChild(int n, Func<int, double> run)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            run(n);
            return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)n;
        }
        for (int round = 0; round < rounds; round++)
        {
            if (round % 2 == 0)
            {
                pd.Add(PerChild(batch, Pdfork));
                process.Add(PerChild(batch, ProcessStart));
            }
            else
            {
                process.Add(PerChild(batch, ProcessStart));
                pd.Add(PerChild(batch, Pdfork));
            }
        }
        double[] ratios = Stats.PairedRatios(pd.ToArray(), process.ToArray());
        row.Figures.Add(Figure.Versus("allocated per child vs Process", PdforkName, Stats.Median(pd.ToArray()), "B",
            $"median of {rounds} rounds × {batch}", ProcessName, Stats.Median(process.ToArray()), Stats.Median(ratios), ratios, 1.0,
            "managed bytes allocated per child on every thread (GC.GetTotalAllocatedBytes(precise)), the start description (PdChild, ProcessStartInfo) made once"));
    }

    internal static RowResult Run(Options o, Action<string> progress)
    {
        var row = new RowResult { Number = 1, Title = "Start /bin/true and reap it" };
        int rounds = o.Pick(31, 2), batch = o.Pick(100, 4);
        using var clone = LineWorker.Baseline("spawn_loop", "clone");
        using var posixSpawn = LineWorker.Baseline("spawn_loop", "posix_spawn");
        using var helper = new HelperSpawner("/bin/true", ["true"]);
        // The helper outside .NET, and the bare clone with what this process adds around any child:
        // the runtime's SIGCHLD handler and signal thread, and as many more open files as this process has.
        using var helperInC = LineWorker.Baseline("spawn_loop", "helper", Path.Combine(AppContext.BaseDirectory, "libprocdesc_native.so"),
            helper.DefaultSignals.ToString(CultureInfo.InvariantCulture));
        int openHere = Directory.GetFiles("/proc/self/fd").Length - 3;
        using var habits = LineWorker.Baseline("spawn_loop", "habits", openHere.ToString(CultureInfo.InvariantCulture));
        var environment = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            environment.Add($"{e.Key}={e.Value}");
        PdChild trueWithEnvp = PdChild.Exec("/bin/true", ["true"], environment);
        // CPU time of this process's threads during the measured batches of a subject, by thread.
        var cpu = new Dictionary<string, Dictionary<string, long>>();
        var cpuOps = new Dictionary<string, long>();
        Func<int, double> WithCpu(string name, Func<int, double> measure) => n =>
        {
            var before = ThreadCpu.Snapshot();
            double result = measure(n);
            if (!cpu.TryGetValue(name, out var total))
                cpu[name] = total = [];
            ThreadCpu.Accumulate(total, before, ThreadCpu.Snapshot());
            cpuOps[name] = cpuOps.GetValueOrDefault(name) + n;
            return result;
        };
        Subject[] subjects =
        [
            new(CloneName, batch, n => clone.AskLong(n.ToString(CultureInfo.InvariantCulture))),
            new(PdforkName, batch, WithCpu(PdforkName, Pdfork)),
            new(PosixSpawnName, batch, n => posixSpawn.AskLong(n.ToString(CultureInfo.InvariantCulture))),
            new(ProcessName, batch, ProcessStart),
            new(HelperName, batch, WithCpu(HelperName, helper.Measure)),
            new(EnvpName, batch, n => Pdfork(n, PD_CLOEXEC, trueWithEnvp)),
            new(OffMainName, batch, OffTheMainThread),
            new(HelperInCName, batch, n => helperInC.AskLong(n.ToString(CultureInfo.InvariantCulture))),
            new(HabitsName, batch, n => habits.AskLong(n.ToString(CultureInfo.InvariantCulture))),
        ];
        var r = Interleaved.Run(subjects, rounds, progress, afterWarmUp: () => { cpu.Clear(); cpuOps.Clear(); });

        string stat = $"median of {rounds} rounds × {batch}";
        double pd = Stats.Median(r[PdforkName]);
        Figure Vs(string name, string baseline, double? goal, string? note = null)
        {
            double[] ratios = Stats.PairedRatios(r[PdforkName], r[baseline]);
            return Figure.Versus(name, PdforkName, pd / 1000, "µs", stat, baseline, Stats.Median(r[baseline]) / 1000,
                Stats.Median(ratios), ratios, goal, note);
        }
        row.Method = $"Each round starts and reaps {batch} children of `/bin/true` with each subject in turn, the order rotating; a C baseline is a separate program (`native/spawn_loop.c`) that times its own loop, the .NET subjects run in this process. Every child gets the harness's environment. {rounds} rounds {Interleaved.WarmUpText}.";
        row.Figures.Add(Vs("start + reap vs the kernel's clone", CloneName, 1.10));
        row.Figures.Add(Vs("start + reap vs Process", ProcessName, 1.0));
        row.Figures.Add(Vs("start + reap vs posix_spawn", PosixSpawnName, null));
        double[] helperRatios = Stats.PairedRatios(r[HelperName], r[CloneName]);
        row.Figures.Add(Figure.Versus("the C helper alone vs clone", HelperName, Stats.Median(r[HelperName]) / 1000, "µs", stat,
            CloneName, Stats.Median(r[CloneName]) / 1000, Stats.Median(helperRatios), helperRatios, null,
            "procdesc_spawn called directly on this thread with a request built once, then waitid(P_PIDFD) + close: the floor of the library's design; pdfork minus this is the managed side."));
        foreach (string diagnostic in new[] { HelperInCName, HabitsName })
        {
            double[] cr = Stats.PairedRatios(r[diagnostic], r[CloneName]);
            row.Figures.Add(Figure.Versus(diagnostic.Replace(" (diagnostic)", "", StringComparison.Ordinal) + " vs clone", diagnostic,
                Stats.Median(r[diagnostic]) / 1000, "µs", stat, CloneName, Stats.Median(r[CloneName]) / 1000, Stats.Median(cr), cr, null,
                diagnostic == HelperInCName
                    ? "the helper with pdfork's request (death signal, signals set back to default) and waitid(P_PIDFD) + close, in a C program: what its own system calls cost"
                    : $"a SIGCHLD handler that writes to a pipe read by a thread of its own (as the runtime's), and {openHere} more open close-on-exec files (this process's count): what this process costs any child it starts"));
        }
        foreach (string diagnostic in new[] { EnvpName, OffMainName })
        {
            double[] dr = Stats.PairedRatios(r[diagnostic], r[PdforkName]);
            row.Figures.Add(Figure.Versus(diagnostic.Replace(" (diagnostic)", "", StringComparison.Ordinal) + " vs pdfork", diagnostic,
                Stats.Median(r[diagnostic]) / 1000, "µs", stat, PdforkName, pd / 1000, Stats.Median(dr), dr, null));
        }
        AllocationFigure(row, o, progress);
        row.Details.Add("Per-round ns per child (median / min / max):");
        row.Details.Add("");
        row.AddSubjectTable(subjects, r, Fmt.Us);
        Dictionary<string, double> PerThread(string name) => cpu[name].Where(kv => kv.Value > 0).OrderByDescending(kv => kv.Value)
            .ToDictionary(kv => kv.Key, kv => kv.Value / 1000.0 / cpuOps[name]);
        string Line(Dictionary<string, double> perThread) =>
            string.Join("; ", perThread.Where(kv => kv.Value >= 0.5).Select(kv => $"`{kv.Key}` {Fmt.Value(kv.Value)} µs"));
        var pdCpu = PerThread(PdforkName);
        var helperCpu = PerThread(HelperName);
        row.Details.Add("");
        row.Details.Add("CPU time per child in this process, by thread (/proc/self/task/*/schedstat over every measured batch of the subject; the child's own time is not counted; `dotnet` is the calling thread):");
        row.Details.Add("");
        row.Details.Add($"- {PdforkName}: {Line(pdCpu)};");
        row.Details.Add($"- {HelperName}: {Line(helperCpu)}.");
        Dictionary<string, double>? pdCalls = null, cloneCalls = null;
        if (SyscallCount.Available)
        {
            progress("counting system calls (strace -f -c)");
            int small = o.Pick(50, 2), large = o.Pick(250, 6);
            pdCalls = SyscallCount.PerOperation(Environment.ProcessPath ?? "dotnet",
                [typeof(SpawnRow).Assembly.Location, "--worker", "spawn", "--heap-mib", "0"], small, large);
            cloneCalls = SyscallCount.PerOperation(Path.Combine(AppContext.BaseDirectory, "spawn_loop"), ["clone"], small, large);
            var names = pdCalls.Keys.Union(cloneCalls.Keys)
                .Where(k => Math.Abs(pdCalls.GetValueOrDefault(k) - cloneCalls.GetValueOrDefault(k)) >= 0.5)
                .OrderByDescending(k => pdCalls.GetValueOrDefault(k) - cloneCalls.GetValueOrDefault(k)).ToList();
            row.Details.Add("");
            row.Details.Add($"System calls per child, counted with `strace -f -c` (the process and its children; the difference between {large} and {small} children, so start-up cancels out; strace slows every call, so spin counts are indicative). Total: pdfork + pdwait4 + close {Fmt.Value(pdCalls.Values.Sum())}, the C clone {Fmt.Value(cloneCalls.Values.Sum())}; the calls whose counts differ:");
            row.Details.Add("");
            row.Details.Add("| system call | pdfork + pdwait4 + close (the `--worker spawn` harness) | C clone + execve + waitpid |");
            row.Details.Add("|---|---|---|");
            foreach (string name in names)
                row.Details.Add($"| {name} | {Fmt.Value(pdCalls.GetValueOrDefault(name))} | {Fmt.Value(cloneCalls.GetValueOrDefault(name))} |");
        }
        Diagnose.SpawnRow(row, r, pdCpu, helperCpu, pdCalls, cloneCalls, openHere);
        return row;
    }
}
