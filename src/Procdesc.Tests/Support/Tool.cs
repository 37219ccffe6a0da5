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

    /// <summary>
    /// Runs `procdesc WORDS REDIRECTION` through a shell (so that REDIRECTION can close or replace
    /// the tool's own stdout or stderr); bounded. With <paramref name="pipeStatus"/>, REDIRECTION
    /// is a pipeline and the exit code is the tool's (bash's PIPESTATUS).
    /// </summary>
    internal static Result RunInShell(string words, string redirection, string shell = "/bin/sh", bool pipeStatus = false, int timeoutMs = 60_000)
    {
        string tool = $"dotnet '{AssemblyPath}' {words}";
        string script = pipeStatus ? $"{tool} {redirection.Replace("${PIPESTATUS:-$?}", "${PIPESTATUS[0]}")}" : $"exec {tool} {redirection}";
        return Run(["-c", script], wrapper: shell, timeoutMs: timeoutMs, rawWrapperArguments: true);
    }

    /// <summary>tests' native/without_syscall.c: runs a program with some system calls answering ENOSYS.</summary>
    internal static string WithoutSyscall => Path.Combine(AppContext.BaseDirectory, "without_syscall");

    /// <summary>Runs `procdesc ARGS`, optionally through a wrapper program (with its own arguments first); bounded.</summary>
    internal static Result Run(IEnumerable<string> args, string? wrapper = null, int timeoutMs = 60_000, bool rawWrapperArguments = false,
        IReadOnlyList<string>? wrapperArguments = null, Dictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(wrapper ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach ((string name, string value) in environment ?? [])
            info.Environment[name] = value;
        foreach (string a in wrapperArguments ?? [])
            info.ArgumentList.Add(a);
        if (wrapper is not null && !rawWrapperArguments)
            info.ArgumentList.Add("dotnet");
        if (!rawWrapperArguments)
            info.ArgumentList.Add(AssemblyPath);
        foreach (string a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        timeoutMs = TimeScale.Ms(timeoutMs);
        if (!process.WaitForExit(timeoutMs))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"procdesc {string.Join(' ', args)} did not finish within {timeoutMs} ms");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
