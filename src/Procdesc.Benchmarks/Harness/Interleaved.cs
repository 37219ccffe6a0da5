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
    internal static Dictionary<string, List<double>> Run(IReadOnlyList<Subject> subjects, int rounds, Action<string>? progress = null)
    {
        // One warm-up batch each, discarded: JIT tiers, page cache, the library's threads.
        foreach (Subject s in subjects)
            s.Measure(Math.Max(1, s.Batch / 4));
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
}
