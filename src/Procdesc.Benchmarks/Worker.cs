using System.Diagnostics;
using System.Globalization;
using Procdesc.Benchmarks.Harness;
using Procdesc.Benchmarks.Rows;

namespace Procdesc.Benchmarks;

/// <summary>The harness in a process of its own (--worker MODE): for rows whose state must not
/// disturb the others — a 2 GiB heap (row 2), a fresh runtime per memory measurement (row 7).</summary>
internal static class Worker
{
    internal static int Run(string[] args)
    {
        string mode = args.Length > 1 ? args[1] : "";
        string Arg(string name, string fallback)
        {
            int at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
        }
        return mode switch
        {
            "hello" => WorkerRow.HelloOnStdout(),
            "spawn" => Spawn(int.Parse(Arg("--heap-mib", "0"), CultureInfo.InvariantCulture)),
            "many" => ManyRow.Measure(Arg("--subject", "procdesc"), int.Parse(Arg("--count", "100"), CultureInfo.InvariantCulture)),
            "memory" => MemoryRow.Measure(Arg("--subject", "procdesc"), int.Parse(Arg("--count", "100"), CultureInfo.InvariantCulture),
                Arg("--await", "no") == "yes"),
            _ => Fail($"unknown worker mode '{mode}'"),
        };
    }

    private static int Fail(string why)
    {
        Console.WriteLine($"error {why}");
        return 2;
    }

    /// <summary>Row 2: a live heap of <paramref name="mib"/> MiB, then pdfork loops on request.</summary>
    private static int Spawn(int mib)
    {
        byte[][] heap = new byte[mib][];
        for (int i = 0; i < mib; i++)
        {
            heap[i] = new byte[1 << 20];
            for (int at = 0; at < heap[i].Length; at += 4096)
                heap[i][at] = (byte)i;
        }
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        SpawnRow.Pdfork(20); // warm-up
        Console.WriteLine($"ready {Native.ResidentKiB()} {GC.GetTotalMemory(false)}");
        string? line;
        while ((line = Console.ReadLine()) is not null)
            Console.WriteLine(((long)SpawnRow.Pdfork(int.Parse(line, CultureInfo.InvariantCulture))).ToString(CultureInfo.InvariantCulture));
        GC.KeepAlive(heap);
        return 0;
    }
}
