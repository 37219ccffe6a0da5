namespace Procdesc.Benchmarks.Harness;

/// <summary>One thing measured in rounds: it runs a batch of <see cref="Batch"/> operations and
/// returns the nanoseconds per operation of that batch.</summary>
internal sealed record Subject(string Name, int Batch, Func<int, double> Measure);

/// <summary>
/// Runs subjects in interleaved rounds: every round runs one batch of each, in an order that
/// rotates from round to round, so that a baseline and its subject are always measured seconds
/// apart and no subject always runs first (or right after the same neighbour).
/// </summary>
internal static class Interleaved
{
    /// <summary>At most this many warm-up rounds (each subject's batch / 4 per round): measured, row 1 reaches a round without compilation after 12 to 22 (methods run once per batch — the harness's own — need 30 calls for each of tier 0 → instrumented → tier 1).</summary>
    private const int MaxWarmUpRounds = 40;

    /// <summary>The pause after each warm-up round: longer than the runtime's tiering delay (100 ms),
    /// so that methods counted up to tier 1 in the round are recompiled before the next one.</summary>
    private static readonly TimeSpan TieringPause = TimeSpan.FromMilliseconds(250);

    /// <summary>Warm-up rounds the last <see cref="Run"/> took.</summary>
    internal static int LastWarmUpRounds { get; private set; }

    /// <summary>
    /// Warm-up rounds, discarded, until the JIT is idle — no method compiled (tier 0, instrumented
    /// or tier 1) over a whole round and its pause (System.Runtime.JitInfo), at least two rounds,
    /// at most <see cref="MaxWarmUpRounds"/> — so that the measured rounds are the steady state
    /// of every .NET subject alike, not the runtime's tier-up; then the rounds.
    /// <paramref name="afterWarmUp"/> runs between the two (a row's own counters start there).
    /// </summary>
    internal static Dictionary<string, List<double>> Run(IReadOnlyList<Subject> subjects, int rounds, Action<string>? progress = null, Action? afterWarmUp = null)
    {
        long compiled = -1;
        int warmUp = 0;
        while (warmUp < MaxWarmUpRounds)
        {
            foreach (Subject s in subjects)
                s.Measure(Math.Max(1, s.Batch / 4));
            warmUp++;
            Thread.Sleep(TieringPause);
            long now = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: false);
            if (warmUp >= 2 && now == compiled)
                break;
            compiled = now;
        }
        LastWarmUpRounds = warmUp;
        progress?.Invoke($"warmed up in {warmUp} rounds");
        afterWarmUp?.Invoke();
        var results = subjects.ToDictionary(s => s.Name, _ => new List<double>());
        for (int round = 0; round < rounds; round++)
        {
            for (int k = 0; k < subjects.Count; k++)
            {
                Subject s = subjects[(k + round) % subjects.Count];
                results[s.Name].Add(s.Measure(s.Batch));
            }
            progress?.Invoke($"round {round + 1}/{rounds}");
        }
        return results;
    }

    /// <summary>How the warm-up is described in a row's method.</summary>
    internal static string WarmUpText => $"after {LastWarmUpRounds} warm-up rounds (each subject's batch / 4; rounds until the JIT compiled nothing over a round and a 250 ms pause, at least 2, at most {MaxWarmUpRounds})";
}
