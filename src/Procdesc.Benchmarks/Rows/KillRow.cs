using System.Globalization;
using Procdesc.Benchmarks.Harness;

namespace Procdesc.Benchmarks.Rows;

/// <summary>Row 6: kill-on-close — Dispose() until the child is gone (reaped).</summary>
internal static class KillRow
{
    internal static RowResult Run(Options o, Action<string> progress)
    {
        var row = new RowResult { Number = 6, Title = "Kill-on-close: Dispose() → child gone (reaped)" };
        if (!HostFeatures.All.Any(f => f.Name == "POLLHUP after reap" && f.Found))
        {
            // The observer learns of the reap from POLLHUP on its pidfd, which Linux gives from 6.9 on.
            row.Method = "Not measured on this kernel: the observer needs POLLHUP after the reap (Linux 6.9+).";
            row.NotMeasured = "no POLLHUP after the reap before Linux 6.9";
            return row;
        }
        int rounds = o.Pick(10, 2), batch = o.Pick(50, 3);
        using var watch = LineWorker.Baseline("kill_watch");
        var sleeper = PdChild.Exec("/bin/sleep", ["sleep", "60"]);
        var disposed = new List<double>();
        var killed = new List<double>();

        double DisposeOne()
        {
            var child = ProcessDescriptor.Fork(sleeper, PdFlags.CloExec);
            watch.Ask($"watch {child.Pid.ToString(CultureInfo.InvariantCulture)}"); // "armed": the observer holds a pidfd
            Thread.Sleep(1); // the observer is in poll(2) by now
            long t0 = Native.NowNs();
            child.Dispose();
            return (watch.ReadLong(30_000) - t0) / 1000.0;
        }

        DisposeOne();
        watch.AskLong("killwait");
        for (int round = 0; round < rounds; round++)
        {
            bool disposeFirst = round % 2 == 0;
            for (int k = 0; k < 2; k++)
            {
                if ((k == 0) == disposeFirst)
                    for (int i = 0; i < batch; i++)
                        disposed.Add(DisposeOne());
                else
                    for (int i = 0; i < batch; i++)
                        killed.Add(watch.AskLong("killwait") / 1000.0);
            }
        }
        progress($"{disposed.Count} + {killed.Count} samples");

        int samples = rounds * batch;
        row.Method = $"The child is `sleep 60` from `ProcessDescriptor.Fork`, its only descriptor in this process. Gone means reaped: a separate observer process (`native/kill_watch.c watch`) holds a pidfd for the child — a copy in another process, which the library does not count (contract §10 L2) — and blocks in `poll(2)` until it reports POLLHUP (reaped, Linux 6.9+), then stamps CLOCK_MONOTONIC; the harness stamped the same clock just before `Dispose()`. Baseline: `native/kill_watch.c killwait`, C `kill(SIGKILL)` + `waitpid` on its own `posix_spawn`ed `sleep 60`, timed in C. {rounds} rounds × {batch} of each, alternating.";
        foreach (double p in new[] { 50.0, 99.0 })
        {
            string pn = p == 50 ? "p50" : "p99";
            double d = Stats.Percentile(disposed, p), k = Stats.Percentile(killed, p);
            row.Figures.Add(Figure.Absolute($"Dispose() → reaped, {pn}", "ProcessDescriptor.Dispose()", d / 1000, "ms",
                $"{pn} of {samples}", p == 99 ? 5 : null, "C kill + waitpid", k / 1000));
        }
        row.Details.Add("| percentile (µs) | Dispose() → reaped | C kill + waitpid |");
        row.Details.Add("|---|---|---|");
        foreach (double p in new[] { 10.0, 50, 90, 99, 100 })
            row.Details.Add($"| p{p} | {Fmt.Value(Stats.Percentile(disposed, p))} | {Fmt.Value(Stats.Percentile(killed, p))} |");
        Diagnose.KillRow(row, disposed, killed);
        return row;
    }
}
