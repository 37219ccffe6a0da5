using System.Diagnostics;
using System.Runtime;
using System.Runtime.InteropServices;

namespace Procdesc.Benchmarks.Harness;

internal static class Machine
{
    internal static MachineInfo Describe() => new()
    {
        Cores = Environment.ProcessorCount,
        Cpu = FirstValue("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        MemoryMiB = long.Parse((FirstValue("/proc/meminfo", "MemTotal") ?? "0 kB").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024,
        Kernel = Read("/proc/sys/kernel/osrelease"),
        Os = OsName(),
        Dotnet = $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier})",
        Gc = (GCSettings.IsServerGC ? "server GC" : "workstation GC") + (GCSettings.LatencyMode == GCLatencyMode.Batch ? "" : ", concurrent"),
        CCompiler = CompilerVersion(),
        Backend = PdSyscall.Backend,
        PidMax = int.TryParse(Read("/proc/sys/kernel/pid_max"), out int pidMax) ? pidMax : 0,
        LoadAverageAtStart = LoadAverage(),
    };

    internal static string LoadAverage()
    {
        string[] parts = Read("/proc/loadavg").Split(' ');
        return parts.Length >= 3 ? $"{parts[0]}, {parts[1]}, {parts[2]}" : "?";
    }

    private static string Read(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (IOException) { return "?"; }
        catch (UnauthorizedAccessException) { return "?"; }
    }

    private static string? FirstValue(string path, string key)
    {
        foreach (string line in Read(path).Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon > 0 && line[..colon].Trim() == key)
                return line[(colon + 1)..].Trim();
        }
        return null;
    }

    private static string OsName()
    {
        foreach (string line in Read("/etc/os-release").Split('\n'))
            if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))
                return line["PRETTY_NAME=".Length..].Trim('"');
        return RuntimeInformation.OSDescription;
    }

    private static string CompilerVersion()
    {
        try
        {
            var info = new ProcessStartInfo("cc", "--version") { RedirectStandardOutput = true, UseShellExecute = false };
            using var cc = Process.Start(info)!;
            string first = cc.StandardOutput.ReadLine() ?? "cc";
            cc.StandardOutput.ReadToEnd();
            cc.WaitForExit();
            return first;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "cc (version unknown)";
        }
    }
}
