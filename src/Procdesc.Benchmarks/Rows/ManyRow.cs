using System.Diagnostics;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Mono.Unix.Native;
using Procdesc.Benchmarks.Harness;

namespace Procdesc.Benchmarks.Rows;

/// <summary>Row 4: thousands of sleeping children — start all, kill all, await all exits.</summary>
internal static class ManyRow
{
    /// <summary>One run in a fresh runtime: phase times (ms), threads, and the start cost of the
    /// first and last tenth of the children (µs each), which shows how starting scales.</summary>
    internal sealed record Run4(double StartMs, double KillMs, double AwaitMs, double DisposeMs, double SettleMs,
        int ThreadsBefore, int ThreadsPeak, double FirstTenthUs, double LastTenthUs, int DescriptorsAtPeak)
    {
        internal double TotalMs => StartMs + KillMs + AwaitMs;
        internal int ThreadsUsed => ThreadsPeak - ThreadsBefore;

        internal string ToLine() => string.Join(' ', new double[] { StartMs, KillMs, AwaitMs, DisposeMs, SettleMs, ThreadsBefore, ThreadsPeak, FirstTenthUs, LastTenthUs, DescriptorsAtPeak }
            .Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

        internal static Run4 Parse(string line)
        {
            double[] v = line.Split(' ').Skip(1).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            return new Run4(v[0], v[1], v[2], v[3], v[4], (int)v[5], (int)v[6], v[7], v[8], (int)v[9]);
        }
    }

    private static double Ms(long from, long to) => (to - from) / 1e6;

    /// <summary>Worker mode: one run of <paramref name="n"/> children in this fresh process; prints "ready" + the run.</summary>
    internal static int Measure(string subject, int n)
    {
        // One child first: one-time state (the library's threads, Process's signal handling) is not per child.
        if (subject.StartsWith("procdesc", StringComparison.Ordinal))
        {
            using var first = ProcessDescriptor.Start("sleep", "60");
            first.Kill();
            first.Wait();
        }
        else
        {
            using var first = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
            first.Kill();
            first.WaitForExit();
        }
        Thread.Sleep(100);
        Run4 run = subject switch
        {
            "procdesc" => Procdesc(n, closing: false),
            "procdesc-closing" => Procdesc(n, closing: true),
            "process-holding" => Processes(n, holding: true),
            _ => Processes(n, holding: false),
        };
        Console.WriteLine("ready " + run.ToLine());
        return 0;
    }

    /// <summary>With <paramref name="closing"/>, children are made with
    /// <see cref="PdChild.WithoutOtherDescriptors"/> (a diagnostic: the child does not get this
    /// process's descriptor table, so a start does not pay for the descriptors already open).</summary>
    private static Run4 Procdesc(int n, bool closing)
    {
        PdChild sleeper = PdChild.ExecFromPath("sleep", ["sleep", "60"]).WithoutOtherDescriptors();
        var children = new ProcessDescriptor[n];
        var exits = new Task<ExitStatus>[n];
        var startUs = new double[n];
        using var sampler = new ThreadSampler();
        int threadsBefore = sampler.Before;
        long t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
        {
            long s = Native.NowNs();
            children[i] = closing ? ProcessDescriptor.Fork(sleeper, PdFlags.CloExec) : ProcessDescriptor.Start("sleep", "60");
            exits[i] = children[i].WaitAsync();
            startUs[i] = (Native.NowNs() - s) / 1000.0;
        }
        long t1 = Native.NowNs();
        int fdsAtPeak = Native.OpenDescriptorCount();
        foreach (ProcessDescriptor child in children)
            child.Kill(Signum.SIGKILL);
        long t2 = Native.NowNs();
        if (!Task.WaitAll(exits, TimeSpan.FromMinutes(5)))
            throw new TimeoutException("WaitAsync did not complete for every child within 5 minutes");
        long t3 = Native.NowNs();
        foreach (ProcessDescriptor child in children)
            child.Dispose();
        long t4 = Native.NowNs();
        // Dispose hands the release to the library's thread; wait until its descriptors are closed.
        Wait.Until(() => Native.PidfdCount() == 0, TimeSpan.FromMinutes(2), "the library's pidfds to close");
        long t5 = Native.NowNs();
        foreach (Task<ExitStatus> exit in exits)
            if (!exit.Result.Signaled)
                throw new InvalidOperationException($"unexpected exit {exit.Result}");
        return new Run4(Ms(t0, t1), Ms(t1, t2), Ms(t2, t3), Ms(t3, t4), Ms(t4, t5), threadsBefore, sampler.Peak,
            Tenth(startUs, first: true), Tenth(startUs, first: false), fdsAtPeak);
    }

    /// <summary>With <paramref name="holding"/>, one close-on-exec descriptor (/dev/null) is opened
    /// after each start and held until the end, as Procdesc holds one per child (a diagnostic: the
    /// same descriptor table on both sides).</summary>
    private static Run4 Processes(int n, bool holding)
    {
        var held = new List<SafeFileHandle>(holding ? n : 0);
        var children = new Process[n];
        var exits = new Task[n];
        var startUs = new double[n];
        var info = new ProcessStartInfo("sleep", "60") { UseShellExecute = false };
        using var sampler = new ThreadSampler();
        int threadsBefore = sampler.Before;
        long t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
        {
            long s = Native.NowNs();
            children[i] = Process.Start(info)!;
            exits[i] = children[i].WaitForExitAsync();
            startUs[i] = (Native.NowNs() - s) / 1000.0;
            if (holding)
                held.Add(File.OpenHandle("/dev/null"));
        }
        long t1 = Native.NowNs();
        int fdsAtPeak = Native.OpenDescriptorCount();
        foreach (Process child in children)
            child.Kill();
        long t2 = Native.NowNs();
        if (!Task.WaitAll(exits, TimeSpan.FromMinutes(5)))
            throw new TimeoutException("WaitForExitAsync did not complete for every child within 5 minutes");
        long t3 = Native.NowNs();
        foreach (Process child in children)
            child.Dispose();
        long t4 = Native.NowNs();
        foreach (SafeFileHandle handle in held)
            handle.Dispose();
        return new Run4(Ms(t0, t1), Ms(t1, t2), Ms(t2, t3), Ms(t3, t4), 0, threadsBefore, sampler.Peak,
            Tenth(startUs, first: true), Tenth(startUs, first: false), fdsAtPeak);
    }

    private static double Tenth(double[] us, bool first)
    {
        int k = Math.Max(1, us.Length / 10);
        return Stats.Median(first ? us.Take(k) : us.Skip(us.Length - k));
    }

    internal static RowResult Run(Options o, Action<string> progress)
    {
        var row = new RowResult { Number = 4, Title = "4,000 sleeping children: start all, kill all, await all exits" };
        int n = o.Pick(4000, 40), rounds = o.Pick(5, 1);
        string count = n.ToString(CultureInfo.InvariantCulture);
        Run4 InWorker(string subject, string children)
        {
            using var worker = LineWorker.Harness("--worker", "many", "--subject", subject, "--count", children);
            return Run4.Parse(worker.Ready);
        }
        var pd = new List<Run4>();
        var ps = new List<Run4>();
        var closing = new List<Run4>();
        var holding = new List<Run4>();
        for (int round = 0; round < rounds; round++)
        {
            bool procdescFirst = round % 2 == 0;
            for (int k = 0; k < 2; k++)
            {
                if ((k == 0) == procdescFirst)
                    pd.Add(InWorker("procdesc", count));
                else
                    ps.Add(InWorker("process", count));
            }
            for (int k = 0; k < 2; k++)
            {
                if ((k == 0) == procdescFirst)
                    closing.Add(InWorker("procdesc-closing", count));
                else
                    holding.Add(InWorker("process-holding", count));
            }
            progress($"round {round + 1}/{rounds}: Procdesc {pd[^1].TotalMs:F0} ms, Process {ps[^1].TotalMs:F0} ms; Procdesc WithoutOtherDescriptors {closing[^1].TotalMs:F0} ms, Process holding a descriptor per child {holding[^1].TotalMs:F0} ms");
        }
        int tenthCount = Math.Max(1, n / 10);
        Run4 small = InWorker("procdesc", tenthCount.ToString(CultureInfo.InvariantCulture));

        // Diagnosis: what open descriptors cost every clone + exec, in C. Procdesc holds one per
        // live child (the caller's, close-on-exec).
        int descriptors = Stats.Median(pd.Select(x => (double)x.DescriptorsAtPeak)) is var d && !double.IsNaN(d) ? (int)d : n;
        using var bare = LineWorker.Baseline("spawn_loop", "clone", "0", "0");
        using var loaded = LineWorker.Baseline("spawn_loop", "clone", "0", descriptors.ToString(CultureInfo.InvariantCulture));
        int batch = o.Pick(50, 2);
        var fd = Interleaved.Run(
        [
            new("bare", batch, k => bare.AskLong(k.ToString(CultureInfo.InvariantCulture))),
            new("loaded", batch, k => loaded.AskLong(k.ToString(CultureInfo.InvariantCulture))),
        ], o.Pick(7, 1));
        double fdRatio = Stats.Median(Stats.PairedRatios(fd["loaded"], fd["bare"]));

        double[] totals = Stats.PairedRatios(pd.Select(x => x.TotalMs).ToList(), ps.Select(x => x.TotalMs).ToList());
        double[] closingTotals = Stats.PairedRatios(closing.Select(x => x.TotalMs).ToList(), ps.Select(x => x.TotalMs).ToList());
        double[] sameTableTotals = Stats.PairedRatios(pd.Select(x => x.TotalMs).ToList(), holding.Select(x => x.TotalMs).ToList());
        string stat = $"median of {rounds} run{(rounds > 1 ? "s" : "")}";
        double Med(List<Run4> runs, Func<Run4, double> f) => Stats.Median(runs.Select(f));
        row.Method = $"{n} children of `sleep 60` (PATH search on both sides), each run in a fresh runtime (this harness with `--worker many`), so that neither side inherits the other's threads, descriptors or signal handling. Procdesc: `ProcessDescriptor.Start` + `WaitAsync()` for each, then `Kill(SIGKILL)` each, then `Task.WaitAll`. Process: `Process.Start` + `WaitForExitAsync()` for each, `Kill()` each, `Task.WaitAll`. The total is start + kill + await; `Dispose` of all is timed apart (for Procdesc the library then closes its own descriptors in the background: \"settle\"). Threads: /proc/self/status sampled every 2 ms, peak minus the count before the first child. {rounds} run{(rounds > 1 ? "s" : "")} of each, alternating which goes first. Two diagnostics per round, alternating too: Procdesc's children made with `PdChild.WithoutOtherDescriptors()` (the child does not get this process's descriptor table), and Process with one close-on-exec descriptor (/dev/null) opened after each start and held to the end, as Procdesc holds one per child (the same table on both sides). RLIMIT_NOFILE {Rlimit()}.";
        row.Figures.Add(Figure.Versus("4,000 children: total", "ProcessDescriptor + WaitAsync", Med(pd, x => x.TotalMs), "ms", stat,
            "Process + WaitForExitAsync", Med(ps, x => x.TotalMs), Stats.Median(totals), totals, 1.0));
        row.Figures.Add(Figure.Versus("4,000 children: total, against issue 7's goal", "ProcessDescriptor + WaitAsync", Med(pd, x => x.TotalMs), "ms", stat,
            "Process + WaitForExitAsync", Med(ps, x => x.TotalMs), Stats.Median(totals), totals, 0.5));
        row.Figures.Add(Figure.Versus("diagnostic: total, children made WithoutOtherDescriptors", "ProcessDescriptor.Fork(… .WithoutOtherDescriptors()) + WaitAsync", Med(closing, x => x.TotalMs), "ms", stat,
            "Process + WaitForExitAsync", Med(ps, x => x.TotalMs), Stats.Median(closingTotals), closingTotals, null));
        row.Figures.Add(Figure.Versus("diagnostic: total, the same descriptor table on both sides", "ProcessDescriptor + WaitAsync", Med(pd, x => x.TotalMs), "ms", stat,
            "Process + WaitForExitAsync, holding one descriptor per child", Med(holding, x => x.TotalMs), Stats.Median(sameTableTotals), sameTableTotals, null));
        row.Figures.Add(Figure.Absolute("threads used (peak − before)", "ProcessDescriptor + WaitAsync", Med(pd, x => x.ThreadsUsed), "threads", stat,
            null, "Process + WaitForExitAsync", Med(ps, x => x.ThreadsUsed),
            $"Procdesc with {tenthCount} children: {small.ThreadsUsed}; with {n}: {Med(pd, x => x.ThreadsUsed)} — O(1)."));
        row.Details.Add("| phase (median ms) | Procdesc | Process | ratio of medians | diagnostic: Procdesc, WithoutOtherDescriptors | diagnostic: Process holding a descriptor per child |");
        row.Details.Add("|---|---|---|---|---|---|");
        void Phase(string name, Func<Run4, double> f) =>
            row.Details.Add($"| {name} | {Fmt.Value(Med(pd, f))} | {Fmt.Value(Med(ps, f))} | {(Med(ps, f) > 0 ? Fmt.Ratio(Med(pd, f) / Med(ps, f)) : "—")} | {Fmt.Value(Med(closing, f))} | {Fmt.Value(Med(holding, f))} |");
        Phase("start all (+ register the wait)", x => x.StartMs);
        Phase("kill all", x => x.KillMs);
        Phase("await all exits", x => x.AwaitMs);
        Phase("**total**", x => x.TotalMs);
        Phase("dispose all (not in the total)", x => x.DisposeMs);
        Phase("settle: the library's descriptors closed (not in the total)", x => x.SettleMs);
        Phase($"one start, first {tenthCount} children (median µs)", x => x.FirstTenthUs);
        Phase($"one start, last {tenthCount} children (median µs)", x => x.LastTenthUs);
        Phase("open descriptors with all children live", x => x.DescriptorsAtPeak);
        row.Details.Add("");
        row.Details.Add($"Threads before / peak, per run: Procdesc {string.Join(", ", pd.Select(x => $"{x.ThreadsBefore}/{x.ThreadsPeak}"))}; Process {string.Join(", ", ps.Select(x => $"{x.ThreadsBefore}/{x.ThreadsPeak}"))}; Procdesc with {tenthCount} children {small.ThreadsBefore}/{small.ThreadsPeak}.");
        row.Details.Add("");
        row.Details.Add($"Open descriptors and the cost of a spawn, in C (`native/spawn_loop.c clone`, interleaved, median of {o.Pick(7, 1)} rounds × {batch}): clone(CLONE_VM|CLONE_VFORK) + execve + waitpid of /bin/true costs {Fmt.Us(Stats.Median(fd["bare"]))} with no extra descriptor and {Fmt.Us(Stats.Median(fd["loaded"]))} with {descriptors} close-on-exec descriptors open (the Procdesc side's count with all children live): × {Fmt.Ratio(fdRatio)}. The kernel copies the descriptor table at clone (no CLONE_FILES) and closes every close-on-exec descriptor at exec.".Replace("|", "\\|", StringComparison.Ordinal));
        Diagnose.ManyRow(row, pd, ps, closing, holding, descriptors, Stats.Median(fd["bare"]), Stats.Median(fd["loaded"]));
        return row;
    }

    private static string Rlimit()
    {
        foreach (string line in File.ReadLines("/proc/self/limits"))
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
                return string.Join(' ', line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(1));
        return "?";
    }
}

internal static class Wait
{
    internal static void Until(Func<bool> condition, TimeSpan bound, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > bound)
                throw new TimeoutException($"waited {bound.TotalSeconds:F0} s for {what}");
            Thread.Sleep(5);
        }
    }
}
