using System.Globalization;
using Procdesc.Benchmarks.Harness;

namespace Procdesc.Benchmarks.Rows;

/// <summary>Row 2: row 1 with a 2 GiB live managed heap in the caller.</summary>
internal static class HeapRow
{
    private const string Heap = "pdfork + pdwait4 + close, 2 GiB managed heap";
    private const string NoHeap = "pdfork + pdwait4 + close, no heap (#1)";
    private const string Fork = "C fork + execve + waitpid, 2 GiB touched";
    private const string CloneHeap = "C clone(CLONE_VM|CLONE_VFORK) + execve, 2 GiB touched";

    internal static RowResult Run(Options o, Action<string> progress)
    {
        var row = new RowResult { Number = 2, Title = "Start /bin/true and reap it with a 2 GiB live managed heap" };
        int mib = o.Pick(2048, 128);
        int rounds = o.Pick(21, 2), batch = o.Pick(100, 4), forkBatch = o.Pick(3, 1);
        string size = mib.ToString(CultureInfo.InvariantCulture);
        string heapLabel = o.Smoke ? $"{mib} MiB" : "2 GiB";
        progress($"allocating and touching {heapLabel} in the workers");
        // The heap lives in worker processes (this harness with --worker spawn), so it disturbs no
        // other row; the no-heap worker is the same program without it.
        using var heapWorker = LineWorker.Harness("--worker", "spawn", "--heap-mib", size);
        using var plainWorker = LineWorker.Harness("--worker", "spawn", "--heap-mib", "0");
        using var fork = LineWorker.Baseline("spawn_loop", "fork", size);
        using var cloneHeap = LineWorker.Baseline("spawn_loop", "clone", size);
        Subject[] subjects =
        [
            new(Heap, batch, n => heapWorker.AskLong(n.ToString(CultureInfo.InvariantCulture))),
            new(NoHeap, batch, n => plainWorker.AskLong(n.ToString(CultureInfo.InvariantCulture))),
            new(Fork, forkBatch, n => fork.AskLong(n.ToString(CultureInfo.InvariantCulture))),
            new(CloneHeap, batch, n => cloneHeap.AskLong(n.ToString(CultureInfo.InvariantCulture))),
        ];
        var r = Interleaved.Run(subjects, rounds, progress);

        string stat = $"median of {rounds} rounds × {batch}";
        double heap = Stats.Median(r[Heap]);
        double[] vsPlain = Stats.PairedRatios(r[Heap], r[NoHeap]);
        double[] vsFork = Stats.PairedRatios(r[Heap], r[Fork]);
        double[] cloneRatios = Stats.PairedRatios(r[CloneHeap], r[NoHeap]);
        row.Method = $"The heap lives in a worker process (this harness with `--worker spawn --heap-mib {size}`: {size} MiB of 1 MiB arrays, every page written, then a full GC; its resident set at start: {WorkerRss(heapWorker)}); the no-heap baseline is the same worker without it (`--heap-mib 0`, resident {WorkerRss(plainWorker)}). The fork-based baseline is `native/spawn_loop.c fork` with {size} MiB malloc'd and touched: .NET cannot fork (managed code in a forked child can hang in the GC), and every fork-based spawn — `fork` + `exec` from any runtime — pays the same page-table copy, so C shows its cost without a runtime's noise. {rounds} interleaved rounds; {forkBatch} fork{(forkBatch > 1 ? "s" : "")} per round.";
        row.Figures.Add(Figure.Versus("start + reap with 2 GiB heap vs without", Heap, heap / 1000, "µs", stat,
            NoHeap, Stats.Median(r[NoHeap]) / 1000, Stats.Median(vsPlain), vsPlain, 1.15));
        row.Figures.Add(Figure.Versus("start + reap with 2 GiB heap vs fork-based", Heap, heap / 1000, "µs", stat,
            Fork, Stats.Median(r[Fork]) / 1000, Stats.Median(vsFork), vsFork, null,
            $"the fork-based spawn is {Fmt.Ratio(Stats.Median(r[Fork]) / heap)} × slower with the same heap."));
        row.Figures.Add(Figure.Versus("C clone with 2 GiB vs pdfork without heap", CloneHeap, Stats.Median(r[CloneHeap]) / 1000, "µs", stat,
            NoHeap, Stats.Median(r[NoHeap]) / 1000, Stats.Median(cloneRatios), cloneRatios, null,
            "shows that a vfork-style clone does not grow with the caller's memory."));
        Diagnose.HeapRow(row, r, Heap, NoHeap);
        return row;
    }

    private static string WorkerRss(LineWorker worker)
    {
        string[] parts = worker.Ready.Split(' ');
        return parts.Length > 1 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out long kib)
            ? $"{kib / 1024} MiB" : "?";
    }
}
