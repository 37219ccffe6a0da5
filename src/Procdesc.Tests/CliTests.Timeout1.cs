using Procdesc.Cli;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// `procdesc run` against coreutils' timeout(1), the tool it follows: each case runs the same child
/// under both and compares how they ended — the whole wait status (exit code, or the signal the
/// tool itself died of, core flag included), where timeout's is not an artifact of its process
/// group; the code a shell shows otherwise. Also the habits a shell user expects of both: SIGPIPE
/// at its default in the child (`yes | head -1`), SIGHUP left ignored under nohup, execvp's script
/// fallback, realtime signals, and no terminal control sequences.
/// </summary>
public partial class CliTests
{
    /// <summary>(what it shows, timeout's arguments, the tool's arguments after `run -q`, the child, exact).</summary>
    private static IEnumerable<TestCaseData> TimeoutCases()
    {
        string[] ignoresTerm = ["sh", "-c", "trap '' TERM; sleep 30"];
        yield return Case("the child's own code", ["10"], [], ["sh", "-c", "exit 3"]);
        yield return Case("success", ["10"], [], ["true"]);
        // SIGUSR1 rather than SIGINT: a test run started in the background has SIGINT ignored, and so would the child.
        yield return Case("killed by SIGUSR1: the tool dies of it too", ["10"], [], ["sh", "-c", "kill -USR1 $$"]);
        yield return Case("killed by SIGSEGV: the same, without a core", ["10"], [], ["sh", "-c", "kill -SEGV $$"]);
        yield return Case("killed by a realtime signal", ["10"], [], ["sh", "-c", "kill -36 $$"]);
        yield return Case("timed out: 124", ["0.3"], ["--timeout", "0.3s"], ["sleep", "30"]);
        // timeout sends the KILL to its whole process group, itself included, so it dies of
        // SIGKILL; the tool signals only its child and exits 137. A shell shows 137 for both.
        yield return Case("timed out with -s KILL: 137", ["-s", "KILL", "0.3"], ["--timeout", "0.3s", "-s", "KILL"], ["sleep", "30"], exact: false);
        yield return Case("timed out with -s RTMIN+2", ["-s", "RTMIN+2", "0.3"], ["--timeout", "0.3s", "-s", "RTMIN+2"], ["sleep", "30"]);
        yield return Case("timed out with -s 64", ["-s", "64", "0.3"], ["--timeout", "0.3s", "-s", "64"], ["sleep", "30"]);
        yield return Case("timed out, the child exits 0 on TERM: still 124", ["0.3"], ["--timeout", "0.3s"],
            ["sh", "-c", "trap 'exit 0' TERM; sleep 30 & wait"]);
        yield return Case("--preserve-status: the child's signal as 128+N", ["--preserve-status", "0.3"],
            ["--timeout", "0.3s", "--preserve-status"], ["sleep", "30"]);
        yield return Case("--preserve-status: the child's code", ["--preserve-status", "0.3"], ["--timeout", "0.3s", "--preserve-status"],
            ["sh", "-c", "trap 'exit 5' TERM; sleep 30 & wait"]);
        yield return Case("-k after an ignored TERM: 137", ["-k", "0.3", "0.3"], ["--timeout", "0.3s", "-k", "0.3s"], ignoresTerm, exact: false);
        yield return Case("not found: 127", ["10"], [], ["no-such-program-procdesc"]);
        yield return Case("a directory: 126", ["10"], [], ["/"]);
        yield return Case("bad usage: 125", ["--no-such-option"], ["--no-such-option"], ["true"]);
        yield return Case("a bad duration: 125", ["1x"], ["--timeout", "1x"], ["true"]);
        yield return Case("an unknown signal: 125", ["-s", "RTMIN+99", "1"], ["--timeout", "1s", "-s", "RTMIN+99"], ["true"]);

        static TestCaseData Case(string name, string[] timeout, string[] tool, string[] child, bool exact = true) =>
            new TestCaseData(timeout, tool, child, exact).SetArgDisplayNames(name);
    }

    [TestCaseSource(nameof(TimeoutCases))]
    [OnlyOn("Linux", "the reference is GNU coreutils' timeout; FreeBSD's timeout(1) is another program")]
    public void Run_EndsAsTimeout1Does(string[] timeoutArgs, string[] toolArgs, string[] child, bool exact)
    {
        ExitStatus reference = Ending(["timeout", .. timeoutArgs, .. child]);
        ExitStatus tool = Ending(["dotnet", Tool.AssemblyPath, "run", "-q", .. toolArgs, "--", .. child]);
        ShellCode(tool).ShouldBe(ShellCode(reference), $"timeout: {reference}; procdesc run: {tool}");
        if (exact)
        {
            tool.Signaled.ShouldBe(reference.Signaled, $"timeout: {reference}; procdesc run: {tool}");
            tool.CoreDumped.ShouldBe(reference.CoreDumped);
        }
    }

    [Test]
    public void Run_YesIntoHead_DiesOfSigpipe_As_Under_Timeout1()
    {
        // Both run from a bash started by the library, whose SIGPIPE is at its default (a bash
        // started by Process.Start inherits the runtime's SIG_IGN, and so would timeout and yes).
        int reference = ViaBash("timeout 10 yes | head -1 >/dev/null; echo ${PIPESTATUS[0]}");
        int tool = ViaBash($"dotnet '{Tool.AssemblyPath}' run -q -- yes | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}");
        reference.ShouldBe(128 + SignalNames.ToHost(Signum.SIGPIPE));
        tool.ShouldBe(reference);

        // The opt-out: the tool's own dispositions, SIGPIPE ignored by the runtime: yes gets EPIPE.
        ViaBash($"dotnet '{Tool.AssemblyPath}' run -q --inherit-signals -- yes 2>/dev/null | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}").ShouldBe(1);
    }

    [Test]
    [OnlyOn("Linux", "the helper parent is Linux's")]
    public void Run_ThroughTheHelperParent_TheChildGetsSigpipeBack_AndTheScriptFallback()
    {
        var env = new Dictionary<string, string> { ["PROCDESC_LINUX_PARENT"] = "helper" };
        var pipe = Tool.Run(["-c", $"dotnet '{Tool.AssemblyPath}' run -q -- yes | head -1 >/dev/null; exit ${{PIPESTATUS[0]}}"],
            wrapper: "/bin/bash", rawWrapperArguments: true, environment: env);
        pipe.ExitCode.ShouldBe(141, pipe.StdErr);
        string script = ScriptWithoutShebang("echo \"$0 $1\"; exit 6");
        var run = Tool.Run(["run", "-q", "--", script, "arg"], environment: env);
        run.ExitCode.ShouldBe(6, run.StdErr);
        run.StdOut.ShouldBe($"{script} arg\n");
    }

    [Test]
    public void Run_UnderNohup_AnIgnoredSighupStaysIgnoredInTheChild()
    {
        // Here the tool does better than timeout(1), which catches HUP for itself and so starts
        // its child with HUP at its default: the child of `nohup timeout …` dies of a hangup.
        var result = Tool.Run(["-c", $"trap '' HUP; exec dotnet '{Tool.AssemblyPath}' run -q -- sh -c 'kill -HUP $$; echo survived'"],
            wrapper: "/bin/sh", rawWrapperArguments: true);
        result.StdOut.ShouldBe("survived\n", result.StdErr);
        result.ExitCode.ShouldBe(0);
    }

    [Test]
    public void Run_AScriptWithoutAShebangLine_RunsWithBinSh_As_Under_Timeout1()
    {
        string script = ScriptWithoutShebang("echo \"$0 $1\"; exit 6");
        var reference = Tool.Run(["10", script, "arg"], wrapper: "timeout", rawWrapperArguments: true);
        var tool = Tool.Run(["run", "-q", "--", script, "arg"]);
        reference.ExitCode.ShouldBe(6);
        tool.ExitCode.ShouldBe(reference.ExitCode, tool.StdErr);
        tool.StdOut.ShouldBe(reference.StdOut);
    }

    [Test]
    public void Run_ReportsARealtimeSignalByItsName()
    {
        var result = Tool.Run(["run", "--timeout", "0.2s", "-s", "RTMIN+2", "--", "sleep", "30"]);
        result.ExitCode.ShouldBe(124);
        result.StdErr.ShouldContain("killed by SIGRTMIN+2 after timing out (sent SIGRTMIN+2)");
    }

    [TestCase("run -- true")]
    [TestCase("run -- sh -c 'exit 3'")]
    [TestCase("run --json -- true")]
    [TestCase("info")]
    [TestCase("--help")]
    [TestCase("run --help")]
    [TestCase("run --no-such-option")]
    public void OnATerminal_TheToolWritesPlainText_NoControlSequence(string words)
    {
        // script(1) gives the tool a terminal as stdin, stdout and stderr.
        var result = Tool.Run(["-qec", $"dotnet '{Tool.AssemblyPath}' {words}", "/dev/null"], wrapper: "script", rawWrapperArguments: true);
        result.StdOut.ShouldNotBeEmpty();
        result.StdOut.ShouldNotContain("\u001b", customMessage: Escape(result.StdOut));
    }

    private static string Escape(string text) => text.Replace("\u001b", "ESC").Replace("\r", "\\r");

    private static string ScriptWithoutShebang(string body)
    {
        string path = Path.Combine(Path.GetTempPath(), $"procdesc-noshebang-{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>How <paramref name="argv"/> ended, run through the library with stdout and stderr on /dev/null; bounded.</summary>
    private static ExitStatus Ending(string[] argv)
    {
        using var devnull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite);
        int fd = (int)devnull.DangerousGetHandle();
        using var child = ProcessDescriptor.Fork(PdChild.ExecFromPath(argv[0], argv).WithFd(1, fd).WithFd(2, fd), PdFlags.CloExec);
        Task<ExitStatus> ending = child.WaitAsync();
        ending.Wait(TimeScale.Of(TimeSpan.FromSeconds(60))).ShouldBeTrue($"{string.Join(' ', argv)} ends");
        return ending.Result;
    }

    /// <summary>Runs a bash command line through the library (SIGPIPE at its default); the number it printed.</summary>
    private static int ViaBash(string command)
    {
        (string output, _, _) = Kids.Run(PdChild.ExecFromPath("bash", ["bash", "-c", command]), "bash");
        return int.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>What a shell shows as $?: the code, or 128 + this host's signal number.</summary>
    private static int ShellCode(ExitStatus status) => status.Exited ? status.ExitCode : 128 + (status.RawStatus & 0x7f);
}
