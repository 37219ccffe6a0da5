using Procdesc.Benchmarks.Harness;
using Procdesc.Benchmarks.Rows;

namespace Procdesc.Benchmarks;

/// <summary>
/// What the report says when a row misses a goal: the measured cause, from this run's own
/// breakdowns (diagnostic subjects, per-thread CPU, phase times, C experiments), and what would move
/// it. The reasoning comes from profiles taken while the harness was built (perf record -g of each
/// row's loop); every number quoted is this run's.
/// </summary>
internal static class Diagnose
{
    private static string Us(double ns) => Fmt.Us(ns);

    internal static void SpawnRow(RowResult row, Dictionary<string, List<double>> r, Dictionary<string, double> pdCpu,
        Dictionary<string, double> helperCpu, Dictionary<string, double>? pdCalls, Dictionary<string, double>? cloneCalls, int openHere)
    {
        if (!row.AnyMissed)
            return;
        double helperRatio = Stats.Median(Stats.PairedRatios(r[Rows.SpawnRow.HelperName], r[Rows.SpawnRow.CloneName]));
        // Paired per round, like the ratios: the medians of two subjects come from different rounds.
        double managed = Stats.Median(r[Rows.SpawnRow.PdforkName].Zip(r[Rows.SpawnRow.HelperName], (a, b) => a - b));
        double overHelper = Stats.Median(Stats.PairedRatios(r[Rows.SpawnRow.PdforkName], r[Rows.SpawnRow.HelperName]));
        double envp = Stats.Median(Stats.PairedRatios(r[Rows.SpawnRow.EnvpName], r[Rows.SpawnRow.PdforkName]));
        double offMain = Stats.Median(Stats.PairedRatios(r[Rows.SpawnRow.OffMainName], r[Rows.SpawnRow.PdforkName]));
        double Cpu(Dictionary<string, double> cpu, string prefix) => cpu.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(kv => kv.Value);

        double inC = Stats.Median(Stats.PairedRatios(r[Rows.SpawnRow.HelperInCName], r[Rows.SpawnRow.CloneName]));
        double habits = Stats.Median(Stats.PairedRatios(r[Rows.SpawnRow.HabitsName], r[Rows.SpawnRow.CloneName]));
        row.Diagnosis.Add($"- **The C helper alone is × {Fmt.Ratio(helperRatio)} the C clone in this process, × {Fmt.Ratio(inC)} in a C program.** Its own system calls (CLONE_PIDFD, the signal mask around the clone, PR_SET_PDEATHSIG and its getppid check, waitid on the pidfd and its close), which the contract needs, are the second figure. The first is larger because of the process: the bare clone in a C program with two habits of the .NET runtime — a SIGCHLD handler that writes to a pipe read by a signal thread of its own, and {openHere} more open files (this process's count) — is × {Fmt.Ratio(habits)}: every child's exit raises SIGCHLD (the exec sets the exit signal back: §10 L1) and every clone copies the descriptor table and every exec closes the close-on-exec ones. The rest of the first figure is the .NET process itself (its threads and address space), measured here only as what is left.");
        row.Diagnosis.Add($"- **pdfork is × {Fmt.Ratio(overHelper)} the helper alone** ({Us(managed)} more per child, per-round median): the managed side.");

        row.Diagnosis.Add($"- **CPU (this run, per child, in this process):** pdfork uses {Fmt.Value(pdCpu.Values.Sum())} µs — the calling thread {Fmt.Value(Cpu(pdCpu, "dotnet"))} µs, the library's spawner thread {Fmt.Value(Cpu(pdCpu, "Procdesc spawn"))} µs (it makes the clone system call), its reactor {Fmt.Value(Cpu(pdCpu, "Procdesc exit"))} µs — against {Fmt.Value(helperCpu.Values.Sum())} µs for the helper alone, all on the calling thread. On 2 cores the extra CPU competes with the child's exec.");

        if (pdCalls is not null && cloneCalls is not null)
        {
            double Diff(string name) => pdCalls.GetValueOrDefault(name) - cloneCalls.GetValueOrDefault(name);
            var top = pdCalls.Keys.Where(k => Diff(k) >= 0.5).OrderByDescending(Diff).Take(8)
                .Select(k => $"{k} +{Fmt.Value(Diff(k))}");
            row.Diagnosis.Add($"- **System calls (strace -f -c, per child, the child's own included on both sides):** {Fmt.Value(pdCalls.Values.Sum())} against {Fmt.Value(cloneCalls.Values.Sum())} for the C clone; the largest differences: {string.Join(", ", top)}.");
            var reading = new List<string>();
            if (Diff("sched_yield") >= 5)
                reading.Add($"`sched_yield` ({Fmt.Value(Diff("sched_yield"))} per child) is spin-waiting in the hand-off to the spawner thread: the caller waits for the spawner in a `ManualResetEventSlim` and the spawner for work in a `SemaphoreSlim`, and both spin (yielding) before they block, the caller through the whole vfork-suspended exec of the child. That is most of the spawner's and the caller's CPU above; it costs wall time when the 2 cores are contended (the PD_DAEMON diagnostic below measures what the hand-off cost in wall time in this run)");
            if (Diff("newfstatat") >= 2)
                reading.Add($"`newfstatat` (+{Fmt.Value(Diff("newfstatat"))}) is the identity check, repeated by every call on the number (pdfork's registration, pdwait4, close)");
            if (Diff("waitid") >= 1.5)
                reading.Add($"`waitid` (+{Fmt.Value(Diff("waitid"))}, against one wait4) is pdwait4's protocol: WNOHANG, then a blocking WNOWAIT, then WNOHANG again to consume the status under the record's lock");
            if (Diff("futex") >= 1)
                reading.Add($"`futex` (+{Fmt.Value(Diff("futex"))}) is the hand-off's blocking and waking once the spinning gives up");
            if (reading.Count > 0)
                row.Diagnosis.Add("- **Reading the counts:** " + string.Join("; ", reading) + ".");
        }

        row.Diagnosis.Add($"- **Diagnostics from the same rounds:** passing an explicit envp (the default path reuses a block built once per change of the environment) is × {Fmt.Ratio(envp)} pdfork; pdfork from a thread other than the main one, which hands each creation to the spawner thread, is × {Fmt.Ratio(offMain)} pdfork on the main thread (created there: no hand-off).");
        row.Diagnosis.Add($"- **What is left:** of the 10 % allowance, the helper's own calls take {Fmt.Value(100 * (inC - 1))} %, the managed side {Fmt.Value(100 * (overHelper - 1))} % (an identity fstat in each of pdfork's registration, pdwait4 and close; the environment's change check; the record), and the .NET process the library runs in the rest (× {Fmt.Ratio(helperRatio / inC)} of the helper's cost: the runtime's SIGCHLD handling and open descriptors, which a child of Process.Start meets too).");
    }

    internal static void HeapRow(RowResult row, Dictionary<string, List<double>> r, string heap, string noHeap)
    {
        if (!row.AnyMissed)
            return;
        row.Diagnosis.Add($"- With the heap {Us(Stats.Median(r[heap]))}, without {Us(Stats.Median(r[noHeap]))}. CLONE_VM shares the page tables, so the heap itself is not copied (the C clone with 2 GiB shows it); a difference comes from the managed side (garbage collections triggered by pdfork's per-call allocations scan a larger heap's cards) or from the machine's noise between the two worker processes. Profile the heap worker (`--worker spawn --heap-mib 2048`) with `perf record -g` to tell.");
    }

    internal static void CallsRow(RowResult row, Dictionary<string, List<double>> r)
    {
        if (!row.AnyMissed)
            return;
        double pinvoke = Stats.Median(Stats.PairedRatios(r["P/Invoke fstat"], r["C getpid"]));
        double overhead = Stats.Median(r["pdgetpid"]) - Stats.Median(r["P/Invoke fstat"]);
        row.Diagnosis.Add($"- Crossing from managed code alone costs × {Fmt.Ratio(pinvoke)} on fstat (the diagnostic row: the same fstat through a `LibraryImport` with `SetLastError`). pdgetpid adds {Fmt.Value(overhead)} ns on top of that crossing: the identity check's bookkeeping — a ConcurrentDictionary lookup by pidfs inode, a second one in the last-seen-by-number table, a lookup in the library's own descriptors (a number that is the library's is not the caller's), and a 256-byte stat buffer zeroed on every call (`stackalloc` without `[SkipLocalsInit]`). pdkill, pdwait4 and poll make a second crossing for their system call, and pdwait4 takes the record's lock.");
        row.Diagnosis.Add("- What would move it: `[SkipLocalsInit]` on the stat path; one lookup instead of two (the last-seen-by-number table is only needed when the number names a different record than last time: compare before writing).");
    }

    internal static void ManyRow(RowResult row, List<ManyRow.Run4> pd, List<ManyRow.Run4> ps, List<ManyRow.Run4> closing, List<ManyRow.Run4> holding, int descriptors, double bareNs, double loadedNs)
    {
        if (!row.AnyMissed)
            return;
        double Med(List<ManyRow.Run4> runs, Func<ManyRow.Run4, double> f) => Stats.Median(runs.Select(f));
        double pdStart = Med(pd, x => x.StartMs), pdTotal = Med(pd, x => x.TotalMs), psStart = Med(ps, x => x.StartMs);
        row.Diagnosis.Add($"- **Starting is what misses.** The start phase is {Fmt.Value(pdStart)} ms of Procdesc's {Fmt.Value(pdTotal)} ms ({Fmt.Value(100 * pdStart / pdTotal)} %), against {Fmt.Value(psStart)} ms for Process. Awaiting all exits takes {Fmt.Value(Med(pd, x => x.AwaitMs))} ms against Process's {Fmt.Value(Med(ps, x => x.AwaitMs))} ms, with {Med(pd, x => x.ThreadsUsed):F0} extra threads against Process's {Med(ps, x => x.ThreadsUsed):F0}: on .NET 10, Process's cost at this scale is threads (its exit waits), not time, so a total of ≤ 0.5 × Process cannot come from the waiting side.");
        row.Diagnosis.Add($"- **Cause, measured: descriptors.** Procdesc keeps one close-on-exec pidfd per live child (the caller's; the library takes its own only after the last close): {descriptors} open with all children live, against {Fmt.Value(Med(ps, x => x.DescriptorsAtPeak))} for Process, which keeps none. Every clone copies the descriptor table (no CLONE_FILES) and every exec closes the close-on-exec ones, so each start pays for every descriptor already open: in C, clone + exec costs {Us(loadedNs)} with {descriptors} descriptors open against {Us(bareNs)} with none (× {Fmt.Ratio(loadedNs / bareNs)}). One start grows from {Fmt.Value(Med(pd, x => x.FirstTenthUs))} µs for the first tenth of the children to {Fmt.Value(Med(pd, x => x.LastTenthUs))} µs for the last (Process: {Fmt.Value(Med(ps, x => x.FirstTenthUs))} → {Fmt.Value(Med(ps, x => x.LastTenthUs))} µs). A profile of the start loop (`perf record -g`) shows `do_close_on_exec`, `filp_close`, `filp_flush` and `dup_fd` among the top kernel symbols.");
        row.Diagnosis.Add($"- **The two diagnostics confirm it.** With the same table on both sides (Process holding one close-on-exec descriptor per child) Process takes {Fmt.Value(Med(holding, x => x.TotalMs))} ms, and Procdesc's {Fmt.Value(pdTotal)} ms is × {Fmt.Ratio(pdTotal / Med(holding, x => x.TotalMs))} of it. Children made `WithoutOtherDescriptors()` — the child shares the table and keeps a private copy of 0-2 only (close_range with CLOSE_RANGE_UNSHARE), so a start costs the same however many descriptors are open — take {Fmt.Value(Med(closing, x => x.TotalMs))} ms: × {Fmt.Ratio(Med(closing, x => x.TotalMs) / Med(ps, x => x.TotalMs))} of Process (one start {Fmt.Value(Med(closing, x => x.FirstTenthUs))} µs for the first tenth, {Fmt.Value(Med(closing, x => x.LastTenthUs))} µs for the last).");
        row.Diagnosis.Add("- **What would move the default:** nothing that keeps the contract. The default child must inherit every descriptor made without close-on-exec (§1), and which ones those are is known only per descriptor (one `fcntl(F_GETFD)` each — the very cost the table copy has — since the caller may clear the flag on any of them at any time): a start that skipped the copy would drop that row. A caller that holds many descriptors and does not pass them on says so with `WithoutOtherDescriptors()`; any design that holds a descriptor per child pays the copy (this one holds the minimum, the caller's), and Process pays it too as soon as the caller holds as many.");
    }

    internal static void LatencyRow(RowResult row, List<double> toWait, List<double> toPoll, List<double> behindPoll)
    {
        if (!row.AnyMissed)
            return;
        bool libraryMet = row.Figures.Where(f => f.Name.StartsWith("exit", StringComparison.Ordinal)).All(f => f.Met == true);
        row.Diagnosis.Add($"- From the moment the exit is observable (the blocking poll wakes) to WaitAsync's continuation: p50 {Fmt.Value(Stats.Percentile(behindPoll, 50))} µs, p99 {Fmt.Value(Stats.Percentile(behindPoll, 99))} µs. From closing the pipe, the poll baseline alone — no library involved — takes p50 {Fmt.Value(Stats.Percentile(toPoll, 50))} µs, p99 {Fmt.Value(Stats.Percentile(toPoll, 99))} µs: `sh` must be scheduled, read EOF and exit before any observer can know.");
        if (libraryMet)
            row.Diagnosis.Add("- So the absolute figures miss by the child's own exit, which the poll baseline misses by as well; the library's share meets both goals. Nothing in the library moves this; a lighter child (a C program that reads and exits rather than a shell) or a quieter machine would. The tails of both columns follow the machine's load (see the load average above).");
        else
            row.Diagnosis.Add("- The library's share has two thread wake-ups in series: the reactor thread (blocked in epoll_wait) reaps with waitid and completes the task, then the continuation runs on a thread-pool thread (the task is created with RunContinuationsAsynchronously so that no user code runs on the reactor). On 2 cores under load each wake-up waits for a free core, which is where the tail comes from. What would move it: running continuations inline on the reactor for awaiters that opt in, or completing from the waiting thread itself when one is blocked in Wait().");
    }

    internal static void KillRow(RowResult row, List<double> disposed, List<double> killed)
    {
        if (!row.AnyMissed)
            return;
        row.Diagnosis.Add($"- Dispose() → reaped p99 {Fmt.Value(Stats.Percentile(disposed, 99))} µs against C's kill + waitpid p99 {Fmt.Value(Stats.Percentile(killed, 99))} µs. The library sends the kill from its reactor thread after rescanning `/proc/self/fd` for other copies (one fstat per open descriptor): the rescan and the reactor's wake-up are the difference. Fewer descriptors open, or a cheaper copy check (see row 1), would move it.");
    }

    internal static void MemoryRow(RowResult row, Dictionary<string, List<double>> retained, Dictionary<string, long> sizes)
    {
        if (!row.AnyMissed)
            return;
        long Size(string name) => sizes.GetValueOrDefault(name);
        double pd = Stats.Median(retained["ProcessDescriptor"]), ps = Stats.Median(retained["Process"]);
        long target = (long)(0.25 * ps);
        row.Diagnosis.Add($"- Per live child Procdesc keeps a `ProcessDescriptor` ({Size("ProcessDescriptor")} B), the library's `ChildRecord` ({Size("ChildRecord")} B) and two table slots of 8 B (by key, at most three quarters full; by descriptor number) — the {Fmt.Value(pd)} B measured. Process keeps {Fmt.Value(ps)} B, so the goal of 0.25 × is {target} B. Below this, the record and the `ProcessDescriptor` would have to be one object for children made through the object layer (two layers merged).");
    }
}
