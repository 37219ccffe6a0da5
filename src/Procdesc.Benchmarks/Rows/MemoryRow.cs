using System.Diagnostics;
using System.Globalization;
using Procdesc.Benchmarks.Harness;

namespace Procdesc.Benchmarks.Rows;

/// <summary>Row 7: managed memory per live descriptor, against a Process object per child.</summary>
internal static class MemoryRow
{
    /// <summary>Worker mode: in a fresh runtime, N live children of one kind; prints the managed
    /// bytes retained and allocated per child.</summary>
    internal static int Measure(string subject, int count, bool withWait)
    {
        bool procdesc = subject == "procdesc";
        var sleeper = new ProcessStartInfo("/bin/sleep", "60") { UseShellExecute = false };
        var sleeperChild = PdChild.Exec("/bin/sleep", ["sleep", "60"]);
        object Start(out Task wait)
        {
            if (procdesc)
            {
                var pd = ProcessDescriptor.Fork(sleeperChild, PdFlags.CloExec);
                wait = withWait ? pd.WaitAsync() : Task.CompletedTask;
                return pd;
            }
            var p = Process.Start(sleeper)!;
            wait = withWait ? p.WaitForExitAsync() : Task.CompletedTask;
            return p;
        }
        void End(object o)
        {
            if (o is ProcessDescriptor pd)
            {
                pd.Dispose();
            }
            else
            {
                var p = (Process)o;
                p.Kill();
                p.WaitForExit();
                p.Dispose();
            }
        }

        // First use: the library's (or Process's) one-time state is not per child.
        End(Start(out _));
        var live = new object[count];
        var waits = new Task[count];
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long before = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < count; i++)
            live[i] = Start(out waits[i]);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(live);
        Console.WriteLine($"ready {(after - before) / count} {allocated / count}");
        foreach (object o in live)
            End(o);
        Task.WaitAll(waits, TimeSpan.FromSeconds(60));
        return 0;
    }

    /// <summary>The size of one instance of each type a live child keeps (no contents counted).</summary>
    internal static Dictionary<string, long> ShallowSizes()
    {
        var types = new List<(string Name, Type? Type)>();
        Type? record = typeof(ProcessDescriptor).Assembly.GetType("Procdesc.Backends.Linux.ChildRecord");
        Type? waiter = typeof(ProcessDescriptor).Assembly.GetType("Procdesc.Backends.Linux.ExitWaiter");
        types.Add(("ProcessDescriptor", typeof(ProcessDescriptor)));
        types.Add(("ChildRecord", record));
        types.Add(("ExitWaiter", waiter));
        types.Add(("Task<ExitStatus>", typeof(Task<ExitStatus>)));
        types.Add(("Process", typeof(Process)));
        types.Add(("SafeProcessHandle", typeof(Microsoft.Win32.SafeHandles.SafeProcessHandle)));
        types.Add(("ProcessWaitState", typeof(Process).Assembly.GetType("System.Diagnostics.ProcessWaitState")));
        var sizes = new Dictionary<string, long>();
        foreach (var (name, type) in types)
        {
            if (type is null)
                continue;
            long size = 0;
            for (int attempt = 0; attempt < 3; attempt++) // the first call also allocates reflection caches
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                object instance = System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(type);
                size = GC.GetAllocatedBytesForCurrentThread() - before;
                GC.SuppressFinalize(instance); // never finalize an object no constructor ran for
            }
            sizes[name] = size;
        }
        return sizes;
    }

    internal static RowResult Run(Options o, Action<string> progress)
    {
        var row = new RowResult { Number = 7, Title = "Managed memory per live descriptor" };
        int count = o.Pick(1000, 20), rounds = o.Pick(3, 1);
        var kinds = new (string Key, string Subject, string Await)[]
        {
            ("procdesc", "ProcessDescriptor", "no"),
            ("process", "Process", "no"),
            ("procdesc", "ProcessDescriptor + pending WaitAsync", "yes"),
            ("process", "Process + pending WaitForExitAsync", "yes"),
        };
        var retained = kinds.ToDictionary(k => k.Subject, _ => new List<double>());
        var allocated = kinds.ToDictionary(k => k.Subject, _ => new List<double>());
        for (int round = 0; round < rounds; round++)
        {
            for (int j = 0; j < kinds.Length; j++)
            {
                var kind = kinds[(j + round) % kinds.Length];
                using var worker = LineWorker.Harness("--worker", "memory", "--subject", kind.Key,
                    "--count", count.ToString(CultureInfo.InvariantCulture), "--await", kind.Await);
                string[] parts = worker.Ready.Split(' ');
                retained[kind.Subject].Add(double.Parse(parts[1], CultureInfo.InvariantCulture));
                allocated[kind.Subject].Add(double.Parse(parts[2], CultureInfo.InvariantCulture));
            }
            progress($"round {round + 1}/{rounds}");
        }

        string stat = $"median of {rounds} fresh process{(rounds > 1 ? "es" : "")} × {count} children";
        row.Method = $"Each measurement is a fresh runtime (this harness with `--worker memory`): after one child has been made and ended (one-time state), `GC.GetTotalMemory(true)` before and after starting {count} live `sleep 60` children and keeping their objects; retained bytes per child are the difference / {count} (the library's own records and tables included). Allocated bytes per child: `GC.GetTotalAllocatedBytes(true)` over the same span (every thread). {rounds} round{(rounds > 1 ? "s" : "")}, the kinds rotating.";
        double[] ratios = Stats.PairedRatios(retained["ProcessDescriptor"], retained["Process"]);
        double pd = Stats.Median(retained["ProcessDescriptor"]);
        row.Figures.Add(Figure.Absolute("retained per live descriptor", "ProcessDescriptor", pd, "B", stat, 1024));
        row.Figures.Add(Figure.Versus("retained per live descriptor vs Process", "ProcessDescriptor", pd, "B", stat,
            "Process", Stats.Median(retained["Process"]), Stats.Median(ratios), ratios, 0.25));
        double[] waitRatios = Stats.PairedRatios(retained["ProcessDescriptor + pending WaitAsync"], retained["Process + pending WaitForExitAsync"]);
        row.Figures.Add(Figure.Versus("retained with a pending wait", "ProcessDescriptor + pending WaitAsync",
            Stats.Median(retained["ProcessDescriptor + pending WaitAsync"]), "B", stat,
            "Process + pending WaitForExitAsync", Stats.Median(retained["Process + pending WaitForExitAsync"]), Stats.Median(waitRatios), waitRatios, null));
        row.Details.Add("| subject | retained B/child (median) | allocated B/child while starting (median) |");
        row.Details.Add("|---|---|---|");
        foreach (var kind in kinds)
            row.Details.Add($"| {kind.Subject} | {Fmt.Value(Stats.Median(retained[kind.Subject]))} | {Fmt.Value(Stats.Median(allocated[kind.Subject]))} |");
        var sizes = ShallowSizes();
        row.Details.Add("");
        row.Details.Add("Shallow sizes of the objects kept per live child (bytes, measured: `GC.GetAllocatedBytesForCurrentThread` around `RuntimeHelpers.GetUninitializedObject`): "
            + string.Join("; ", sizes.Select(kv => $"`{kv.Key}` {kv.Value}"))
            + ". The library's tables hold a child in two 8-byte slots: one in its table by key (open addressing, at most three quarters full), one in its array by descriptor number.");
        Diagnose.MemoryRow(row, retained, sizes);
        return row;
    }
}
