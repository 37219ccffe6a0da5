using System.CommandLine;
using System.Text.Json;

namespace Procdesc.Cli;

/// <summary>
/// <c>procdesc info [--json]</c>: what this host offers the library — the system and kernel, the
/// backend in use, and each optional kernel feature the backend looks for, probed safely.
/// </summary>
internal sealed class InfoCommand
{
    private readonly Option<bool> _json = new("--json") { Description = "Print one JSON object on stdout instead of text." };

    internal InfoCommand()
    {
        Command = new Command("info", "Show the operating system, the kernel, the backend in use and the optional kernel features found.")
        {
            _json,
        };
        Command.SetAction(parsed => Execute(parsed.GetValue(_json)));
    }

    /// <summary>The System.CommandLine command.</summary>
    internal Command Command { get; }

    private static int Execute(bool json)
    {
        IReadOnlyList<HostFeature> features = HostFeatures.All;
        if (json)
        {
            using var stdout = ToolOutput.OpenStandardOutput();
            WriteJson(stdout, features);
            return 0;
        }
        Console.Out.WriteLine($"os       {HostFeatures.OperatingSystem}");
        Console.Out.WriteLine($"kernel   {HostFeatures.KernelRelease}");
        Console.Out.WriteLine($"backend  {HostFeatures.Backend}");
        Console.Out.WriteLine($"sandbox  programs: {HostFeatures.ProgramSandbox}; workers: {HostFeatures.WorkerSandbox}");
        Console.Out.WriteLine("features");
        int width = features.Count == 0 ? 0 : features.Max(f => f.Name.Length);
        foreach (HostFeature feature in features)
            Console.Out.WriteLine($"  {feature.Name.PadRight(width)}  {(feature.Found ? "yes" : "no ")}  {feature.Detail}");
        return 0;
    }

    /// <summary>Written field by field (no reflection, no serializer metadata to keep in step).</summary>
    private static void WriteJson(Stream to, IReadOnlyList<HostFeature> features)
    {
        using (var json = new Utf8JsonWriter(to, JsonOutput.Options))
        {
            json.WriteStartObject();
            json.WriteString("os", HostFeatures.OperatingSystem);
            json.WriteString("kernelRelease", HostFeatures.KernelRelease);
            json.WriteString("backend", HostFeatures.Backend);
            json.WriteString("programSandbox", HostFeatures.ProgramSandbox.ToString());
            json.WriteString("workerSandbox", HostFeatures.WorkerSandbox.ToString());
            json.WriteStartArray("features");
            foreach (HostFeature feature in features)
            {
                json.WriteStartObject();
                json.WriteString("name", feature.Name);
                json.WriteBoolean("found", feature.Found);
                json.WriteString("detail", feature.Detail);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        to.WriteByte((byte)'\n');
        to.Flush();
    }
}
