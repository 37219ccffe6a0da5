using System.Globalization;

namespace Procdesc.TestSupport;

/// <summary>
/// One factor for every bound the tests set (waits for a child's exit, a host's line, a tool's end):
/// PROCDESC_TEST_TIME_SCALE, which the kernel matrix sets under emulation, where every step is
/// slower. A bound is a promise that a bug fails instead of hanging, never a speed claim.
/// </summary>
internal static class TimeScale
{
    internal static readonly double Factor =
        double.TryParse(Environment.GetEnvironmentVariable("PROCDESC_TEST_TIME_SCALE"), NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && f >= 1 ? f : 1;

    internal static TimeSpan Of(TimeSpan bound) => bound * Factor;

    /// <summary>A bound in milliseconds, scaled; negative (infinite) stays as it is.</summary>
    internal static int Ms(int bound) => bound < 0 ? bound : (int)Math.Min(int.MaxValue, bound * Factor);
}
