using System.Globalization;

namespace Procdesc.Benchmarks.Harness;

/// <summary>
/// System calls per operation, counted with `strace -f -c` (the process and its children) over two
/// batch sizes of a line worker, so that start-up and warm-up cancel out: (calls with N2 − calls
/// with N1) / (N2 − N1). strace slows every system call, so counts of spin-waits are indicative.
/// </summary>
internal static class SyscallCount
{
    internal static bool Available => Environment.GetEnvironmentVariable("PATH")?.Split(':')
        .Any(dir => File.Exists(Path.Combine(dir, "strace"))) == true;

    internal static Dictionary<string, double> PerOperation(string program, string[] args, int small, int large)
    {
        Dictionary<string, long> a = Count(program, args, small), b = Count(program, args, large);
        return b.Keys.Union(a.Keys).ToDictionary(k => k, k => (b.GetValueOrDefault(k) - a.GetValueOrDefault(k)) / (double)(large - small));
    }

    private static Dictionary<string, long> Count(string program, string[] args, int n)
    {
        string output = Path.Combine(Path.GetTempPath(), $"procdesc-bench-strace-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (var worker = LineWorker.Command("strace", ["-f", "-c", "-o", output, program, .. args], $"strace {Path.GetFileName(program)}"))
                worker.AskLong(n.ToString(CultureInfo.InvariantCulture));
            var counts = new Dictionary<string, long>();
            foreach (string line in File.ReadLines(output))
            {
                string[] t = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (t.Length >= 5 && double.TryParse(t[0], CultureInfo.InvariantCulture, out _)
                    && long.TryParse(t[3], CultureInfo.InvariantCulture, out long calls) && t[^1] != "total")
                    counts[t[^1]] = calls;
            }
            return counts;
        }
        finally
        {
            File.Delete(output);
        }
    }
}
