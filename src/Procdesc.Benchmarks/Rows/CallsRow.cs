using System.Globalization;
using System.Runtime.CompilerServices;
using Mono.Unix.Native;
using Procdesc.Benchmarks.Harness;
using static Procdesc.PdSyscall;

namespace Procdesc.Benchmarks.Rows;

/// <summary>Row 3: the nanosecond calls on a live child, against the raw system calls each needs.</summary>
internal static class CallsRow
{
    private static long s_sink;

    internal sealed record Call(string Name, string Library, string Raw, string Command, Func<int, int, double> Loop);

    internal static readonly Call[] Calls =
    [
        new("pdgetpid", "pdgetpid(fd, out pid)", "fstat (the identity check; the pid is cached)", "getpid", GetPid),
        new("pdkill(fd, 0)", "pdkill(fd, 0)", "fstat + pidfd_send_signal(fd, 0)", "kill", Kill0),
        new("pdwait4(WNOHANG)", "pdwait4(fd, WNOHANG) on a live child", "fstat + waitid(P_PIDFD, WEXITED|WNOHANG, &rusage)", "wait", WaitNoHang),
        new("poll(0)", "PdSyscall.poll({fd}, 0)", "fstat + poll(fd, 0)", "poll", Poll0),
    ];

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double GetPid(int fd, int n)
    {
        long sum = 0, t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
        {
            if (pdgetpid(fd, out int pid) != 0)
                throw new IOException($"pdgetpid: {GetLastError()}");
            sum += pid;
        }
        long t1 = Native.NowNs();
        s_sink += sum;
        return (t1 - t0) / (double)n;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double Kill0(int fd, int n)
    {
        long t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
            if (pdkill(fd, 0) != 0)
                throw new IOException($"pdkill: {GetLastError()}");
        return (Native.NowNs() - t0) / (double)n;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double WaitNoHang(int fd, int n)
    {
        long t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
            if (pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _) != 0)
                throw new IOException($"pdwait4: {GetLastError()}");
        return (Native.NowNs() - t0) / (double)n;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double Poll0(int fd, int n)
    {
        var fds = new[] { new Pollfd { fd = fd, events = PollEvents.POLLIN } };
        long t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
            if (poll(fds, 0) != 0)
                throw new IOException($"poll: {GetLastError()}");
        return (Native.NowNs() - t0) / (double)n;
    }

    /// <summary>Diagnostic: fstat alone through a P/Invoke from C# (LibraryImport, SetLastError), as the library makes it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe double PInvokeFstat(int fd, int n)
    {
        byte* stat = stackalloc byte[256];
        long t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
            if (Native.FStat(fd, stat) != 0)
                throw new IOException("fstat");
        return (Native.NowNs() - t0) / (double)n;
    }

    /// <summary>ProcessDescriptor.Pid through an array of references, so every read is a real load.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static double Pid(ProcessDescriptor[] descriptors, int n)
    {
        long sum = 0, t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
            sum += descriptors[i & 15].Pid;
        long t1 = Native.NowNs();
        s_sink += sum;
        return (t1 - t0) / (double)n;
    }

    internal static RowResult Run(Options o, Action<string> progress)
    {
        var row = new RowResult { Number = 3, Title = "pdgetpid, pdkill(fd, 0), pdwait4(WNOHANG), poll(0), ProcessDescriptor.Pid on a live child" };
        int rounds = o.Pick(21, 2), n = o.Pick(20_000, 200), pidN = o.Pick(2_000_000, 2_000);
        using var raw = LineWorker.Baseline("syscall_loop");
        using ProcessDescriptor child = ProcessDescriptor.Fork(PdChild.Exec("/bin/sleep", ["sleep", "3600"]), PdFlags.CloExec);
        int fd = (int)child.DangerousGetHandle();
        var holders = Enumerable.Repeat(child, 16).ToArray();

        // Tier the managed loops and the library's paths up before the first measured round.
        for (int warm = 0; warm < 3; warm++)
            foreach (Call c in Calls)
                c.Loop(fd, o.Pick(50_000, 100));
        Pid(holders, pidN);

        var subjects = new List<Subject>();
        foreach (Call c in Calls)
        {
            subjects.Add(new("C " + c.Command, n, k => raw.AskLong($"{c.Command} {k.ToString(CultureInfo.InvariantCulture)}")));
            subjects.Add(new(c.Name, n, k => c.Loop(fd, k)));
        }
        subjects.Add(new("Pid", pidN, k => Pid(holders, k)));
        subjects.Add(new("P/Invoke fstat", n, k => PInvokeFstat(fd, k)));
        var r = Interleaved.Run(subjects, rounds, progress);

        string stat = $"median of {rounds} rounds × {n}";
        row.Method = $"One live child (`sleep 3600`) per side: the library's from `ProcessDescriptor.Fork`, the baseline's from its own `posix_spawn` + `pidfd_open` in `native/syscall_loop.c`, which runs exactly the system calls the Linux backend needs for each call — every `PdSyscall` call on a bare number first checks which child the number names now (fd numbers are reused), one `fstat` — in a C loop. Each round runs a batch of {n} calls of each, rotating; {rounds} rounds after a warm-up that tiers the JIT up. `Pid` reads the property through an array of references ({pidN} reads per round), so every read is a load.";
        foreach (Call c in Calls)
        {
            double[] ratios = Stats.PairedRatios(r[c.Name], r["C " + c.Command]);
            row.Figures.Add(Figure.Versus(c.Name, c.Library, Stats.Median(r[c.Name]), "ns", stat,
                "C: " + c.Raw, Stats.Median(r["C " + c.Command]), Stats.Median(ratios), ratios, 1.5));
        }
        row.Figures.Add(Figure.Absolute("ProcessDescriptor.Pid", "child.Pid", Stats.Median(r["Pid"]), "ns",
            $"median of {rounds} rounds × {pidN}", 50));
        double[] pinvoke = Stats.PairedRatios(r["P/Invoke fstat"], r["C getpid"]);
        row.Figures.Add(Figure.Versus("fstat through a P/Invoke (diagnostic)", "fstat from C# (LibraryImport, SetLastError)",
            Stats.Median(r["P/Invoke fstat"]), "ns", stat, "C: fstat", Stats.Median(r["C getpid"]), Stats.Median(pinvoke), pinvoke, null,
            "the cost of crossing from managed code alone; the library's calls make one such crossing per system call."));
        Diagnose.CallsRow(row, r);
        if (o.BenchmarkDotNet)
        {
            progress("BenchmarkDotNet cross-check");
            CallsBenchmarks.CrossCheck(row, o);
        }
        GC.KeepAlive(s_sink);
        return row;
    }
}
