using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Procdesc.Benchmarks.Harness;

namespace Procdesc.Benchmarks.Rows;

/// <summary>
/// Row 8 (issue 13): a worker's start to its first message on the channel, against
/// <c>Process.Start</c> of the same application (the same host command line, so the same runtime
/// start) with an argument that makes it write one line to a pipe — and the same worker in the
/// default sandbox.
/// </summary>
internal static class WorkerRow
{
    internal const string WorkerName = "PdWorker.Start → first message on the channel";
    internal const string SandboxedName = "PdWorker.Start in SandboxPolicy.Default → first message";
    internal const string ProcessName = "Process.Start of the same application → first line on a pipe";

    /// <summary>The worker's entry: one line on the channel.</summary>
    private static int Hello(WorkerContext context)
    {
        context.Channel.Send("hello\n"u8);
        return 0;
    }

    /// <summary>The baseline child's Main (<c>--worker hello</c>): one line on stdout.</summary>
    internal static int HelloOnStdout()
    {
        Console.Out.Write("hello\n");
        Console.Out.Flush();
        return 0;
    }

    private static double Workers(int n, SandboxPolicy? sandbox)
    {
        var buffer = new byte[16];
        long timed = 0;
        for (int i = 0; i < n; i++)
        {
            long t0 = Native.NowNs();
            using Procdesc.Worker worker = PdWorker.Start(Hello, new WorkerOptions { Sandbox = sandbox });
            int got = worker.Channel.Receive(buffer);
            timed += Native.NowNs() - t0;
            if (got != 6)
                throw new IOException($"worker {worker.Pid}: {got} bytes");
            ExitStatus status = worker.Wait();
            if (status.ExitCode != 0)
                throw new IOException($"worker: {status}");
        }
        return timed / (double)n;
    }

    private static double Processes(int n)
    {
        (string host, string[] argv) = WorkerLaunch.Host;
        var info = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (string a in argv.Skip(1))
            info.ArgumentList.Add(a);
        info.ArgumentList.Add("--worker");
        info.ArgumentList.Add("hello");
        long timed = 0;
        for (int i = 0; i < n; i++)
        {
            long t0 = Native.NowNs();
            using var p = Process.Start(info)!;
            string? line = p.StandardOutput.ReadLine();
            timed += Native.NowNs() - t0;
            p.WaitForExit();
            if (line != "hello" || p.ExitCode != 0)
                throw new IOException($"the baseline child said '{line}' and exited {p.ExitCode}");
        }
        return timed / (double)n;
    }

    internal static RowResult Run(Options o, Action<string> progress)
    {
        var row = new RowResult { Number = 8, Title = "A worker's start to its first message" };
        int rounds = o.Pick(15, 2), batch = o.Pick(6, 1);
        bool sandbox = (SandboxPolicy.Default.Minimum & ~HostFeatures.WorkerSandbox) == 0;
        var subjects = new List<Subject>
        {
            new(WorkerName, batch, n => Workers(n, null)),
            new(ProcessName, batch, Processes),
        };
        if (sandbox)
            subjects.Add(new(SandboxedName, batch, n => Workers(n, SandboxPolicy.Default)));
        var r = Interleaved.Run(subjects, rounds, progress);

        string stat = $"median of {rounds} rounds × {batch}";
        double worker = Stats.Median(r[WorkerName]);
        double[] ratios = Stats.PairedRatios(r[WorkerName], r[ProcessName]);
        row.Method = $"Each round starts {batch} workers (entry: one line on the channel) and {batch} processes of the same " +
            "application with the same runtime start (the host command line the worker uses, then `--worker hello`: one line on " +
            "stdout, a pipe), the order rotating; timed from the call to the first line received; reaped untimed. The application " +
            $"is this harness, framework-dependent, JIT-compiled (not ReadyToRun). {rounds} rounds {Interleaved.WarmUpText}.";
        row.Figures.Add(Figure.Versus("worker start to first message vs Process.Start", WorkerName, worker / 1e6, "ms", stat,
            ProcessName, Stats.Median(r[ProcessName]) / 1e6, Stats.Median(ratios), ratios, 1.05));
        if (sandbox)
        {
            double[] added = r[SandboxedName].Zip(r[WorkerName], (s, w) => (s - w) / 1e6).ToArray();
            row.Figures.Add(Figure.Absolute("what the sandbox adds to a start", SandboxedName, Stats.Median(added), "ms", stat + " (paired differences)",
                1.0, WorkerName, worker / 1e6, $"per round, sandboxed minus unsandboxed median: {string.Join(", ", added.Select(a => a.ToString("F2", CultureInfo.InvariantCulture)))} ms"));
        }
        else
            row.Details.Add($"No sandbox measured: this kernel reaches {HostFeatures.WorkerSandbox}.");
        row.Details.Add("");
        row.AddSubjectTable(subjects, r, ns => (ns / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " ms");
        return row;
    }
}
