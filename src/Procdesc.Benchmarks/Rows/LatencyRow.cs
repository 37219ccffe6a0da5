using Procdesc.Benchmarks.Harness;

namespace Procdesc.Benchmarks.Rows;

/// <summary>Row 5: exit-notification latency with 1,000 live children.</summary>
internal static class LatencyRow
{
    private sealed class Slot
    {
        internal required ProcessDescriptor Child { get; init; }
        internal required int PipeWrite { get; init; }
        /// <summary>When WaitAsync's continuation ran (CLOCK_MONOTONIC ns).</summary>
        internal required Task<long> Completed { get; init; }
    }

    /// <summary>A child `sh -c 'read x'` on its own pipe, with WaitAsync pending from the start.</summary>
    private static Slot Spawn()
    {
        var (read, write) = Native.Pipe();
        var child = ProcessDescriptor.Fork(PdChild.Exec("/bin/sh", ["sh", "-c", "read x"]).WithFd(0, read), PdFlags.CloExec);
        Native.Close(read);
        Task<long> completed = child.WaitAsync().ContinueWith(_ => Native.NowNs(), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return new Slot { Child = child, PipeWrite = write, Completed = completed };
    }

    /// <summary>A thread that blocks in poll(2) on one descriptor at a time: the baseline observer.</summary>
    private sealed class Poller : IDisposable
    {
        private readonly SemaphoreSlim _go = new(0);
        private readonly ManualResetEventSlim _polling = new(false);
        private readonly ManualResetEventSlim _woke = new(false);
        private readonly Thread _thread;
        private volatile int _fd = -1;
        private long _stamp;

        internal Poller()
        {
            _thread = new Thread(() =>
            {
                while (true)
                {
                    _go.Wait();
                    int fd = _fd;
                    if (fd < 0)
                        return;
                    _polling.Set();
                    Native.PollReadable(fd);
                    _stamp = Native.NowNs();
                    _woke.Set();
                }
            }) { IsBackground = true, Name = "poll baseline" };
            _thread.Start();
        }

        internal void Arm(int fd)
        {
            _polling.Reset();
            _woke.Reset();
            _fd = fd;
            _go.Release();
            _polling.Wait();
            Thread.Sleep(1); // into poll(2) by now
        }

        internal long WaitForWake()
        {
            if (!_woke.Wait(TimeSpan.FromSeconds(30)))
                throw new TimeoutException("the blocking poll did not see the exit within 30 s");
            return _stamp;
        }

        public void Dispose()
        {
            _fd = -1;
            _go.Release();
            _thread.Join();
        }
    }

    internal static RowResult Run(Options o, Action<string> progress)
    {
        var row = new RowResult { Number = 5, Title = "Exit-notification latency with 1,000 live children" };
        int live = o.Pick(1000, 20), samples = o.Pick(1000, 10), warm = o.Pick(20, 2);
        // live + samples children, all waited for; one exits per sample and none is replaced, so at
        // least `live` stay live throughout and no start or close runs between samples.
        int total = live + warm + samples;
        var slots = new Slot[total];
        for (int i = 0; i < total; i++)
            slots[i] = Spawn();
        progress($"{total} children waiting");
        var toWait = new List<double>();
        var toPoll = new List<double>();
        var behindPoll = new List<double>();
        using (var poller = new Poller())
        {
            for (int s = 0; s < warm + samples; s++)
            {
                Slot slot = slots[s];
                poller.Arm((int)slot.Child.DangerousGetHandle());
                long t0 = Native.NowNs();
                Native.Close(slot.PipeWrite); // sh reads EOF and exits
                long polled = poller.WaitForWake();
                if (!slot.Completed.Wait(TimeSpan.FromSeconds(30)))
                    throw new TimeoutException("WaitAsync did not complete within 30 s of the exit");
                long completed = slot.Completed.Result;
                if (s >= warm)
                {
                    toWait.Add((completed - t0) / 1000.0);
                    toPoll.Add((polled - t0) / 1000.0);
                    behindPoll.Add((completed - polled) / 1000.0);
                }
                if ((s + 1) % 250 == 0)
                    progress($"{s + 1}/{warm + samples} exits");
            }
        }
        for (int i = 0; i < total; i++)
        {
            if (i >= warm + samples)
                Native.Close(slots[i].PipeWrite);
            slots[i].Child.Dispose();
        }

        string stat(string p) => $"{p} of {samples} exits";
        row.Method = $"{total} children `sh -c 'read x'`, each with stdin on its own pipe and `WaitAsync()` pending from its start (one reactor thread watches them all); samples end them one at a time, so at least {live} are live throughout, and nothing else (no start, no close) runs between samples. A sample closes one child's pipe (the child reads EOF and exits) and stamps CLOCK_MONOTONIC when `WaitAsync`'s continuation runs (`ContinueWith`, which like `await` runs on the thread pool: the library never runs continuations on its own thread). Baseline, on the same exit: a thread blocked in `poll(2)` on the child's descriptor stamps when it wakes. {samples} samples after {warm} warm-up ones, 1 ms apart. \"close → …\" includes the child's own wake-up, read and exit; \"exit → WaitAsync\" subtracts the poll wake-up of the same exit, the earliest moment any thread could know of it (a per-sample difference can be slightly negative: the poll thread and the library's reactor wake together and race for the 2 cores).";
        foreach (double p in new[] { 50.0, 99.0 })
        {
            string pn = p == 50 ? "p50" : "p99";
            double goal = p == 50 ? 100 : 1000;
            double w = Stats.Percentile(toWait, p), q = Stats.Percentile(toPoll, p);
            row.Figures.Add(Figure.Absolute($"exit → WaitAsync completes, {pn}", "WaitAsync completion − poll wake-up (same exit)",
                Stats.Percentile(behindPoll, p), "µs", stat(pn), goal));
            row.Figures.Add(Figure.Absolute($"close → WaitAsync completes, {pn}", "WaitAsync continuation", w, "µs", stat(pn), goal,
                "close → blocking poll wakes", q));
        }
        row.Details.Add("| percentile (µs) | close → poll wakes | close → WaitAsync | exit → WaitAsync (per sample) |");
        row.Details.Add("|---|---|---|---|");
        foreach (double p in new[] { 10.0, 50, 90, 99, 99.9, 100 })
            row.Details.Add($"| p{p} | {Fmt.Value(Stats.Percentile(toPoll, p))} | {Fmt.Value(Stats.Percentile(toWait, p))} | {Fmt.Value(Stats.Percentile(behindPoll, p))} |");
        Diagnose.LatencyRow(row, toWait, toPoll, behindPoll);
        return row;
    }
}
