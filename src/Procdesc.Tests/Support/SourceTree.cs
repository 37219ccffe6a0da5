using System.Diagnostics;

namespace Procdesc.Tests.Support;

/// <summary>The repository the tests run from, and the compilers the layout checks call.</summary>
internal static class SourceTree
{
    /// <summary>The directory holding Procdesc.sln, above the test's bin folder.</summary>
    internal static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Procdesc.sln")))
                dir = dir.Parent;
            dir.ShouldNotBeNull("the repository root");
            return dir.FullName;
        }
    }

    /// <summary>src/native: the C helpers.</summary>
    internal static string Native => Path.Combine(Root, "src", "native");

    /// <summary>Runs a program (a compiler, a probe) to its end, bounded; its exit code and all it printed.</summary>
    internal static (int Code, string Output) Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit(TimeScale.Ms(120_000)).ShouldBeTrue();
        return (process.ExitCode, output + error.Result);
    }
}
