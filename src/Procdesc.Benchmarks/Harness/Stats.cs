namespace Procdesc.Benchmarks.Harness;

internal static class Stats
{
    internal static double Median(IEnumerable<double> values) => Percentile(values, 50);

    /// <summary>The nearest-rank percentile: a value that was measured, never an interpolation.</summary>
    internal static double Percentile(IEnumerable<double> values, double p)
    {
        double[] sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0)
            return double.NaN;
        int rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>Per-round ratios subject/baseline: the two were measured seconds apart, so a ratio
    /// within one round cancels most of the machine's drift between rounds.</summary>
    internal static double[] PairedRatios(IReadOnlyList<double> subject, IReadOnlyList<double> baseline) =>
        subject.Zip(baseline, (s, b) => s / b).ToArray();
}
