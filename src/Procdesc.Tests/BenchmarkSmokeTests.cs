using System.Diagnostics;
using System.Text.Json;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// The benchmark harness (src/Procdesc.Benchmarks, `make bench`) run with --smoke — a few
/// iterations of every row — as a separate process, so that it cannot rot between benchmark runs.
/// Nothing about timing is asserted: only that every row runs and the report is written.
/// </summary>
[OnlyOn("Linux", "the benchmarks and their C baselines use clone and pidfds")]
public class BenchmarkSmokeTests
{
    private static readonly int[] AllRows = [1, 2, 3, 4, 5, 6, 7, 8, 9];

    [Test]
    public void SmokeRun_RunsEveryRow_AndWritesBothReports()
    {
        string output = Path.Combine(Path.GetTempPath(), $"procdesc-bench-smoke-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            var (exitCode, log) = RunHarness(["--smoke", "--out", output], TimeSpan.FromMinutes(5));
            exitCode.ShouldBe(0, log);

            string markdown = File.ReadAllText(Path.Combine(output, "bench-report.md"));
            foreach (int row in AllRows)
                markdown.ShouldContain($"\n## {row}. ", customMessage: log);
            markdown.ShouldNotContain("The row failed", customMessage: log);

            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "bench-report.json")));
            JsonElement root = json.RootElement;
            root.GetProperty("smoke").GetBoolean().ShouldBeTrue();
            root.GetProperty("machine").GetProperty("cores").GetInt32().ShouldBeGreaterThan(0);
            var rows = root.GetProperty("rows").EnumerateArray().ToList();
            rows.Select(r => r.GetProperty("number").GetInt32()).ShouldBe(AllRows);
            foreach (JsonElement row in rows)
            {
                row.TryGetProperty("error", out _).ShouldBeFalse($"row {row.GetProperty("number")} failed\n{log}");
                if (row.TryGetProperty("notMeasured", out JsonElement why) && why.ValueKind == JsonValueKind.String)
                    continue; // a kernel that lacks what the row needs (row 6 before Linux 6.9): said so in the report
                var figures = row.GetProperty("figures").EnumerateArray().ToList();
                figures.ShouldNotBeEmpty();
                // Every row states at least one goal, and every goal has a verdict.
                figures.Where(f => f.TryGetProperty("goal", out _)).ShouldNotBeEmpty();
                foreach (JsonElement f in figures.Where(f => f.TryGetProperty("goal", out _)))
                    f.TryGetProperty("met", out _).ShouldBeTrue();
            }
        }
        finally
        {
            if (Directory.Exists(output))
                Directory.Delete(output, recursive: true);
        }
    }

    [Test]
    public void UnknownArguments_AreRefused_WithUsage()
    {
        var (exitCode, log) = RunHarness(["--no-such-option"], TimeSpan.FromMinutes(1));
        exitCode.ShouldBe(2);
        log.ShouldContain("usage:");
    }

    /// <summary>Runs the harness built beside the tests; bounded, killed (with its children) on overrun.</summary>
    private static (int ExitCode, string Log) RunHarness(IEnumerable<string> args, TimeSpan bound)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Tool.SiblingAssembly("Procdesc.Benchmarks"));
        foreach (string a in args)
            info.ArgumentList.Add(a);
        using var harness = Process.Start(info)!;
        Task<string> stdout = harness.StandardOutput.ReadToEndAsync();
        Task<string> stderr = harness.StandardError.ReadToEndAsync();
        if (!harness.WaitForExit(bound))
        {
            harness.Kill(entireProcessTree: true);
            Assert.Fail($"the benchmark harness did not finish within {bound.TotalSeconds:F0} s");
        }
        harness.WaitForExit();
        return (harness.ExitCode, stdout.Result + stderr.Result);
    }
}
