using System.Globalization;

namespace Procdesc.Benchmarks.Harness;

/// <summary>CPU time of this process's threads, by thread name (/proc/self/task/*/schedstat: ns on
/// a CPU), to attribute a subject's cost to the caller, the library's spawner and its reactor.</summary>
internal static class ThreadCpu
{
    internal static Dictionary<string, long> Snapshot()
    {
        var byName = new Dictionary<string, long>();
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                string name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                long ns = long.Parse(File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ')[0], CultureInfo.InvariantCulture);
                byName[name] = byName.GetValueOrDefault(name) + ns;
            }
            catch (IOException)
            {
                // the thread ended while we looked
            }
        }
        return byName;
    }

    /// <summary>after − before, per name (names that appear only after count from zero).</summary>
    internal static void Accumulate(Dictionary<string, long> total, Dictionary<string, long> before, Dictionary<string, long> after)
    {
        foreach (var (name, ns) in after)
            total[name] = total.GetValueOrDefault(name) + ns - before.GetValueOrDefault(name);
    }
}
