using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>The `procdesc run` tool, run as a real separate process.</summary>
public class CliTests
{
    [Test]
    public void Run_ExitsWithTheChildsCode_AndReportsHowItEnded()
    {
        var result = Tool.Run(["run", "--", "/bin/sh", "-c", "echo out; exit 3"]);
        result.ExitCode.ShouldBe(3);
        result.StdOut.ShouldBe("out\n");
        result.StdErr.ShouldMatch(@"pid \d+ exited with code 3; user \d+\.\d{3}s system \d+\.\d{3}s wall \d+\.\d{3}s max RSS \d+ KiB");
    }

    [Test]
    public void Run_ExitsWith128PlusTheSignal_WhenTheChildIsKilled()
    {
        var result = Tool.Run(["run", "--", "sh", "-c", "kill -TERM $$"]);
        result.ExitCode.ShouldBe(128 + 15);
        result.StdErr.ShouldContain("killed by SIGTERM");
    }

    [Test]
    public void Run_DaemonFlag_IsAccepted()
    {
        Tool.Run(["run", "--daemon", "--", "true"]).ExitCode.ShouldBe(0); // PATH: /bin/true on Linux, /usr/bin/true on FreeBSD
    }

    [TestCase("/nonexistent/program", 127, "No such file or directory")]
    [TestCase("no-such-command-procdesc", 127, "command not found")]
    [TestCase("/etc", 126, "Permission denied")]
    public void Run_ProgramsThatCannotStart_GiveEnvStyleCodes(string program, int code, string message)
    {
        var result = Tool.Run(["run", "--", program]);
        result.ExitCode.ShouldBe(code);
        result.StdErr.ShouldContain(message);
    }

    [Test]
    public void UsageErrors_Exit125()
    {
        Tool.Run(["run"]).ExitCode.ShouldBe(125);
        Tool.Run(["run", "--bogus", "--", "/bin/true"]).ExitCode.ShouldBe(125);
        Tool.Run([]).ExitCode.ShouldBe(125);
        Tool.Run(["--help"]).ExitCode.ShouldBe(0);
    }

    [Test, OnlyOn("Linux"), Contract("§1 creation: the clone(CLONE_PIDFD) fallback where clone3 answers ENOSYS")]
    public void WhereClone3IsBlocked_CreationFallsBackToClone()
    {
        string wrapper = Path.Combine(AppContext.BaseDirectory, "without_clone3");
        var result = Tool.Run(["run", "--", "/bin/sh", "-c", "echo fallback; exit 5"], wrapper);
        result.StdErr.ShouldNotContain("clone3 is still reachable");
        result.ExitCode.ShouldBe(5, result.StdErr);
        result.StdOut.ShouldBe("fallback\n");
    }
}
