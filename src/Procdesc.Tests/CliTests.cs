using System.Text.Json;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// The `procdesc` tool, run as a real separate process: `run`'s exit codes, reports, timeouts and
/// usage errors here; forwarded signals, `info`, help and the parsers in the other CliTests files.
/// Programs are named through PATH (sh, true, sleep), which finds them on FreeBSD and Linux alike.
/// </summary>
public partial class CliTests
{
    private const string UsageLine = "usage: procdesc run [OPTIONS] -- PROGRAM [ARGS...]";

    [Test]
    public void Run_ExitsWithTheChildsCode_AndReportsHowItEndedAndWhatItCost()
    {
        var result = Tool.Run(["run", "--", "sh", "-c", "echo out; exit 3"]);
        result.ExitCode.ShouldBe(3);
        result.StdOut.ShouldBe("out\n");
        string[] lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(2, result.StdErr);
        lines[0].ShouldMatch(@"^procdesc: pid \d+ exited with code 3; user \d+\.\d{3}s system \d+\.\d{3}s wall \d+\.\d{3}s max RSS \d+ KiB$");
        lines[1].ShouldMatch(@"^procdesc: page faults \d+ minor \d+ major; context switches \d+ voluntary \d+ involuntary$");
    }

    [Test]
    public void Run_ExitsZero_WhenTheChildDoes()
    {
        Tool.Run(["run", "--", "true"]).ExitCode.ShouldBe(0);
    }

    // 128 + the signal's number; TERM and KILL have the same numbers on FreeBSD and Linux.
    [TestCase("TERM", 128 + 15, "SIGTERM")]
    [TestCase("KILL", 128 + 9, "SIGKILL")]
    public void Run_ExitsWith128PlusTheSignal_WhenTheChildIsKilled(string signal, int code, string name)
    {
        var result = Tool.Run(["run", "--", "sh", "-c", $"kill -{signal} $$"]);
        result.ExitCode.ShouldBe(code);
        result.StdErr.ShouldContain($"killed by {name};");
    }

    [Test]
    public void Run_WithoutDoubleDash_EverythingFromTheProgramOnIsTheProgramsOwn()
    {
        // -c and --daemon belong to sh here, as they would after env(1) or timeout(1).
        var result = Tool.Run(["run", "--quiet", "sh", "-c", "echo \"$0 $1\"", "x", "--daemon"]);
        result.ExitCode.ShouldBe(0, result.StdErr);
        result.StdOut.ShouldBe("x --daemon\n");
    }

    [Test]
    public void Run_AfterDoubleDash_ThePrograms_HelpIsNotTheTools()
    {
        var result = Tool.Run(["run", "--quiet", "--", "sh", "-c", "echo \"$0\"", "--help"]);
        result.ExitCode.ShouldBe(0, result.StdErr);
        result.StdOut.ShouldBe("--help\n");
    }

    [Test]
    public void Run_DaemonFlag_IsAccepted()
    {
        // That a daemon child outlives the tool is LifecycleTests.TheProcdescTool_KilledWithSIGKILL_….
        Tool.Run(["run", "--daemon", "--", "true"]).ExitCode.ShouldBe(0);
    }

    [Test]
    public void Quiet_PrintsNothing_AndKeepsTheExitCode()
    {
        var result = Tool.Run(["run", "--quiet", "--", "sh", "-c", "echo out; exit 3"]);
        result.ExitCode.ShouldBe(3);
        result.StdOut.ShouldBe("out\n");
        result.StdErr.ShouldBeEmpty();
    }

    [Test]
    public void Json_IsOneObjectOnStdout_WithTheDocumentedFieldsAndTypes()
    {
        var result = Tool.Run(["run", "--json", "--", "sh", "-c", "exit 3"]);
        result.ExitCode.ShouldBe(3);
        result.StdErr.ShouldBeEmpty();
        result.StdOut.Count(c => c == '\n').ShouldBe(1, "one line");
        using var json = JsonDocument.Parse(result.StdOut);
        JsonElement report = json.RootElement;
        report.ValueKind.ShouldBe(JsonValueKind.Object);

        report.GetProperty("pid").GetInt32().ShouldBeGreaterThan(0);
        report.GetProperty("exited").GetBoolean().ShouldBeTrue();
        report.GetProperty("exitCode").GetInt32().ShouldBe(3);
        report.GetProperty("signal").ValueKind.ShouldBe(JsonValueKind.Null);
        report.GetProperty("signalNumber").ValueKind.ShouldBe(JsonValueKind.Null);
        report.GetProperty("coreDumped").GetBoolean().ShouldBeFalse();
        report.GetProperty("timedOut").GetBoolean().ShouldBeFalse();
        report.GetProperty("timeoutSignalsSent").GetArrayLength().ShouldBe(0);
        report.GetProperty("toolExitCode").GetInt32().ShouldBe(3);
        report.GetProperty("rusageMissing").GetBoolean().ShouldBeFalse();
        foreach (string seconds in new[] { "wallSeconds", "userSeconds", "systemSeconds" })
            report.GetProperty(seconds).GetDouble().ShouldBeGreaterThanOrEqualTo(0, seconds);
        report.GetProperty("wallSeconds").GetDouble().ShouldBeGreaterThan(0);
        report.GetProperty("maxRssKiB").GetInt64().ShouldBeGreaterThan(0);
        foreach (string count in new[] { "minorFaults", "majorFaults", "voluntaryContextSwitches", "involuntaryContextSwitches" })
            report.GetProperty(count).GetInt64().ShouldBeGreaterThanOrEqualTo(0, count);
        report.GetProperty("minorFaults").GetInt64().ShouldBeGreaterThan(0, "an exec faults pages in");
    }

    [Test]
    public void Json_OfAKilledChild_NamesTheSignal_WithThisHostsNumber()
    {
        var result = Tool.Run(["run", "--json", "--", "sh", "-c", "kill -TERM $$"]);
        result.ExitCode.ShouldBe(143);
        using var json = JsonDocument.Parse(result.StdOut);
        JsonElement report = json.RootElement;
        report.GetProperty("exited").GetBoolean().ShouldBeFalse();
        report.GetProperty("exitCode").ValueKind.ShouldBe(JsonValueKind.Null);
        report.GetProperty("signal").GetString().ShouldBe("SIGTERM");
        report.GetProperty("signalNumber").GetInt32().ShouldBe(15);
        report.GetProperty("toolExitCode").GetInt32().ShouldBe(143);
    }

    [Test]
    public void Timeout_SendsTerm_AndTheToolExits124()
    {
        var result = Tool.Run(["run", "--timeout", "200ms", "--", "sleep", "30"]);
        result.ExitCode.ShouldBe(124, result.StdErr);
        result.StdErr.ShouldContain("killed by SIGTERM after timing out (sent SIGTERM)");
    }

    // timeout(1): a child that SIGKILL ended exits 137, not 124, even when the timeout sent it.
    [TestCase("KILL", "SIGKILL", 137), TestCase("SIGKILL", "SIGKILL", 137), TestCase("kill", "SIGKILL", 137), TestCase("9", "SIGKILL", 137)]
    [TestCase("USR1", "SIGUSR1", 124), TestCase("RTMIN+2", "SIGRTMIN+2", 124), TestCase("rtmax-1", "SIGRTMAX-1", 124)]
    public void Timeout_SendsTheSignalGiven(string signal, string name, int code)
    {
        var report = RunJson(["--timeout", "100ms", "--signal", signal, "--", "sleep", "30"], code);
        report.GetProperty("timedOut").GetBoolean().ShouldBeTrue();
        report.GetProperty("signal").GetString().ShouldBe(name);
        SignalsSent(report).ShouldBe([name]);
        report.GetProperty("wallSeconds").GetDouble().ShouldBeLessThan(20, "ended by the timeout, not by sleep");
    }

    [Test]
    public void Timeout_Exits124_EvenWhenTheChildThenExitsOnItsOwnTerms()
    {
        // The child turns the timeout's USR1 into "exit 7"; timeout(1) reports 124 all the same.
        // 1 s is far more than sh needs to install its trap.
        var report = RunJson(["--timeout", "1s", "--signal", "USR1", "--", "sh", "-c",
            "trap 'exit 7' USR1; while :; do sleep 0.05; done"], 124);
        report.GetProperty("timedOut").GetBoolean().ShouldBeTrue();
        report.GetProperty("exited").GetBoolean().ShouldBeTrue();
        report.GetProperty("exitCode").GetInt32().ShouldBe(7);
        SignalsSent(report).ShouldBe(["SIGUSR1"]);
    }

    [Test]
    public void KillAfter_SendsKill_WhenTheChildIgnoresTheTimeoutsSignal_AndTheToolExits137()
    {
        // exec: the ignored TERM carries over into sleep, and no grandchild is left behind by the KILL.
        var report = RunJson(["--timeout", "1s", "--kill-after", "200ms", "--", "sh", "-c", "trap '' TERM; exec sleep 30"], 137);
        report.GetProperty("timedOut").GetBoolean().ShouldBeTrue();
        report.GetProperty("signal").GetString().ShouldBe("SIGKILL");
        SignalsSent(report).ShouldBe(["SIGTERM", "SIGKILL"]);
        report.GetProperty("wallSeconds").GetDouble().ShouldBeLessThan(20);
    }

    [Test]
    public void Timeout_NotReached_TheChildsOwnCodeAndNoSignal()
    {
        var report = RunJson(["--timeout", "30s", "--kill-after", "1s", "--", "sh", "-c", "exit 5"], 5);
        report.GetProperty("timedOut").GetBoolean().ShouldBeFalse();
        SignalsSent(report).ShouldBeEmpty();
    }

    [Test]
    public void Timeout_Zero_MeansNoTimeout_AsInTimeout1()
    {
        RunJson(["--timeout", "0", "--", "sh", "-c", "sleep 0.1; exit 6"], 6).GetProperty("timedOut").GetBoolean().ShouldBeFalse();
    }

    [TestCase("/nonexistent/program", 127, "procdesc: /nonexistent/program: No such file or directory")]
    [TestCase("no-such-command-procdesc", 127, "procdesc: no-such-command-procdesc: command not found")]
    [TestCase("/etc", 126, "procdesc: /etc: Permission denied")]
    public void Run_ProgramsThatCannotStart_GiveEnvStyleCodes(string program, int code, string message)
    {
        var result = Tool.Run(["run", "--", program]);
        result.ExitCode.ShouldBe(code);
        result.StdErr.ShouldBe(message + "\n");
        result.StdOut.ShouldBeEmpty();
    }

    [Test]
    public void Run_AFileThatIsNotExecutable_Gives126()
    {
        string file = Path.Combine(Path.GetTempPath(), $"procdesc-not-executable-{Environment.ProcessId}");
        File.WriteAllText(file, "#!/bin/sh\nexit 0\n");
        try
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var result = Tool.Run(["run", "--", file]);
            result.ExitCode.ShouldBe(126, result.StdErr);
            result.StdErr.ShouldBe($"procdesc: {file}: Permission denied\n");
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static IEnumerable<TestCaseData> UsageErrors()
    {
        TestCaseData Case(string[] args, string message, string name) => new TestCaseData(args, message).SetName($"UsageError_{name}");
        yield return Case([], "procdesc: missing command: run or info (see procdesc --help)", "NoCommand");
        yield return Case(["bogus"], "procdesc: unknown command or argument 'bogus' (see procdesc --help)", "UnknownCommand");
        yield return Case(["--bogus"], "procdesc: unknown option '--bogus' (see procdesc --help)", "UnknownRootOption");
        yield return Case(["run"], $"procdesc: missing PROGRAM ({UsageLine})", "MissingProgram");
        yield return Case(["run", "--daemon", "--"], $"procdesc: missing PROGRAM ({UsageLine})", "MissingProgramAfterDoubleDash");
        yield return Case(["run", "--bogus", "--", "true"], $"procdesc: unknown option '--bogus' ({UsageLine})", "UnknownRunOption");
        yield return Case(["run", "--bogus", "true"], $"procdesc: unknown option '--bogus' ({UsageLine})", "UnknownRunOptionWithoutDoubleDash");
        yield return Case(["run", "--timeout"], $"procdesc: Required argument missing for option: '--timeout'. ({UsageLine})", "TimeoutWithoutValue");
        yield return Case(["run", "--timeout", "soon", "--", "true"], "procdesc: invalid duration 'soon' for --timeout", "BadDuration");
        yield return Case(["run", "--timeout", "-1", "--", "true"], "procdesc: invalid duration '-1' for --timeout", "NegativeDuration");
        yield return Case(["run", "--timeout", "1", "--kill-after", "1x", "--", "true"], "procdesc: invalid duration '1x' for --kill-after", "BadKillAfter");
        yield return Case(["run", "--timeout", "1", "--signal", "NOPE", "--", "true"], "procdesc: invalid signal 'NOPE' for --signal", "BadSignal");
        yield return Case(["run", "--kill-after", "1", "--", "true"], $"procdesc: --kill-after needs --timeout ({UsageLine})", "KillAfterWithoutTimeout");
        yield return Case(["run", "--signal", "KILL", "--", "true"], $"procdesc: --signal needs --timeout ({UsageLine})", "SignalWithoutTimeout");
        yield return Case(["run", "--json", "--quiet", "--", "true"], $"procdesc: --json and --quiet cannot be used together ({UsageLine})", "JsonAndQuiet");
        yield return Case(["info", "--bogus"], "procdesc: unknown option '--bogus' (see procdesc info --help)", "UnknownInfoOption");
    }

    [TestCaseSource(nameof(UsageErrors))]
    public void UsageErrors_OneLineOnStderr_Exit125(string[] args, string message)
    {
        var result = Tool.Run(args);
        result.ExitCode.ShouldBe(125, result.StdErr);
        result.StdOut.ShouldBeEmpty();
        result.StdErr.ShouldStartWith(message);
        result.StdErr.TrimEnd('\n').ShouldNotContain('\n', customMessage: "one line");
    }

    [Test, OnlyOn("Linux", "the without_syscall wrapper is a Linux seccomp filter"),
     Contract("§1 creation: the clone(CLONE_PIDFD) fallback where clone3 answers ENOSYS")]
    public void WhereClone3IsBlocked_CreationFallsBackToClone()
    {
        var result = Tool.Run(["run", "--", "/bin/sh", "-c", "echo fallback; exit 5"], Tool.WithoutSyscall, wrapperArguments: ["435"]);
        result.StdErr.ShouldNotContain("is still reachable");
        result.ExitCode.ShouldBe(5, result.StdErr);
        result.StdOut.ShouldBe("fallback\n");
    }

    /// <summary>`procdesc run --json ARGS`: checks the exit code and returns the parsed report.</summary>
    private static JsonElement RunJson(string[] args, int expectedExitCode)
    {
        var result = Tool.Run(["run", "--json", .. args]);
        result.ExitCode.ShouldBe(expectedExitCode, $"stdout: {result.StdOut}\nstderr: {result.StdErr}");
        result.StdErr.ShouldBeEmpty();
        using var json = JsonDocument.Parse(result.StdOut);
        return json.RootElement.Clone();
    }

    private static string[] SignalsSent(JsonElement report) =>
        [.. report.GetProperty("timeoutSignalsSent").EnumerateArray().Select(e => e.GetString()!)];
}
