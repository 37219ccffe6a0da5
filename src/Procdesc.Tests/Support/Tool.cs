using System.Diagnostics;

namespace Procdesc.Tests.Support;

/// <summary>Runs the `procdesc` tool (src/Procdesc.Cli, built beside the tests) as a separate process.</summary>
internal static class Tool
{
    internal sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>The tool's assembly in the same configuration as the tests.</summary>
    internal static string AssemblyPath => SiblingAssembly("Procdesc.Cli");

    /// <summary>The assembly of another project of src/, built in the same configuration as the tests.</summary>
    internal static string SiblingAssembly(string project)
    {
        // .../src/Procdesc.Tests/bin/<Configuration>/net10.0/ → .../src/<project>/bin/<Configuration>/net10.0/<project>.dll
        var tests = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        string configuration = tests.Parent!.Name;
        string src = tests.Parent.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(src, project, "bin", configuration, tests.Name, project + ".dll");
    }

    /// <summary>Runs `procdesc ARGS`, optionally through a wrapper program; bounded.</summary>
    internal static Result Run(IEnumerable<string> args, string? wrapper = null, int timeoutMs = 60_000)
    {
        var info = new ProcessStartInfo(wrapper ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (wrapper is not null)
            info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(AssemblyPath);
        foreach (string a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutMs))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"procdesc {string.Join(' ', args)} did not finish within {timeoutMs} ms");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
