using System.Reflection;
using System.Text.Json;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>`procdesc info`, help and version, run as a real separate process.</summary>
public partial class CliTests
{
    [Test]
    public void Info_ShowsTheSystemTheBackendAndEveryFeature()
    {
        var result = Tool.Run(["info"]);
        result.ExitCode.ShouldBe(0, result.StdErr);
        result.StdErr.ShouldBeEmpty();
        string[] lines = result.StdOut.Split('\n');
        lines.ShouldContain($"os       {HostFeatures.OperatingSystem}");
        lines.ShouldContain($"kernel   {HostFeatures.KernelRelease}");
        lines.ShouldContain($"backend  {HostFeatures.Backend}");
        HostFeatures.All.ShouldNotBeEmpty();
        foreach (HostFeature feature in HostFeatures.All)
        {
            lines.ShouldContain(l => l.StartsWith($"  {feature.Name} ", StringComparison.Ordinal)
                                     && l.Contains($"  {(feature.Found ? "yes" : "no ")}  {feature.Detail}", StringComparison.Ordinal),
                $"a line for {feature.Name}");
        }
    }

    [Test]
    public void InfoJson_IsOneObject_WithTheBackendAndEveryFeature()
    {
        var result = Tool.Run(["info", "--json"]);
        result.ExitCode.ShouldBe(0, result.StdErr);
        result.StdOut.Count(c => c == '\n').ShouldBe(1, "one line");
        using var json = JsonDocument.Parse(result.StdOut);
        JsonElement info = json.RootElement;
        info.GetProperty("os").GetString().ShouldBe(HostFeatures.OperatingSystem);
        info.GetProperty("kernelRelease").GetString().ShouldBe(HostFeatures.KernelRelease);
        info.GetProperty("backend").GetString().ShouldBe(HostFeatures.Backend);
        var features = info.GetProperty("features").EnumerateArray()
            .Select(f => new HostFeature(f.GetProperty("name").GetString()!, f.GetProperty("found").GetBoolean(), f.GetProperty("detail").GetString()!))
            .ToArray();
        features.ShouldBe(HostFeatures.All.ToArray());
    }

    [Test]
    public void Help_ListsTheCommands_AndEachCommandsHelpItsOptions()
    {
        var root = Tool.Run(["--help"]);
        root.ExitCode.ShouldBe(0);
        root.StdOut.ShouldContain("procdesc [command] [options]");
        root.StdOut.ShouldContain("  run ");
        root.StdOut.ShouldContain("  info ");
        root.StdOut.ShouldContain("--version");

        var run = Tool.Run(["run", "--help"]);
        run.ExitCode.ShouldBe(0);
        foreach (string option in new[] { "--daemon", "--timeout <DURATION>", "--signal <SIG>", "--kill-after <DURATION>", "--json", "--quiet", "PROGRAM" })
            run.StdOut.ShouldContain(option);

        var info = Tool.Run(["info", "-h"]);
        info.ExitCode.ShouldBe(0);
        info.StdOut.ShouldContain("--json");
    }

    [Test]
    public void Version_IsTheAssemblysInformationalVersion()
    {
        string expected = typeof(Procdesc.Cli.Duration).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var result = Tool.Run(["--version"]);
        result.ExitCode.ShouldBe(0);
        result.StdOut.ShouldBe(expected + "\n");
        expected.ShouldStartWith(typeof(ProcessDescriptor).Assembly.GetName().Version!.ToString(3));
    }
}
