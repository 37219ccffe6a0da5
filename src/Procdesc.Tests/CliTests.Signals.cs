using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Signals received by `procdesc run` reach the child through its descriptor, and the tool, which
/// survives them, exits as the child did. The tool is started through the library with its stdout
/// on a pipe; the child shares that stdout and prints "ready" once its trap is installed (the tool's
/// handlers are installed before the child exists), so the test signals only a child ready for it.
/// </summary>
public partial class CliTests
{
    [TestCase(Signum.SIGINT), TestCase(Signum.SIGTERM), TestCase(Signum.SIGHUP)]
    [TestCase(Signum.SIGQUIT), TestCase(Signum.SIGUSR1), TestCase(Signum.SIGUSR2)]
    [CancelAfter(60_000)]
    public void ASignalToTheTool_IsForwardedToTheChild(Signum signal, CancellationToken cancellation)
    {
        InheritedSignals.SkipIfIgnoredHere(signal, "the tool");
        string name = signal.ToString()[3..];
        using var tool = HostProcess.Start(Tool.AssemblyPath, "run", "--quiet", "--", "sh", "-c",
            $"trap 'exit 42' {name}; echo ready; while :; do sleep 0.05; done");
        tool.ReadLine().ShouldBe("ready");

        pdkill(tool.Fd, signal).ShouldBe(0);

        int status = tool.WaitForEnd();
        WIFEXITED(status).ShouldBeTrue($"the tool survived {signal} (status 0x{status:x})");
        WEXITSTATUS(status).ShouldBe(42, "the child's trap ran, and the tool exited with the child's code");
    }

    [Test, CancelAfter(60_000)]
    public void ATermToTheTool_KillsAChildWithoutATrap_AndTheToolThenDiesOfItToo()
    {
        using var tool = HostProcess.Start(Tool.AssemblyPath, "run", "--json", "--", "sh", "-c", "echo ready; exec sleep 30");
        tool.ReadLine().ShouldBe("ready");

        pdkill(tool.Fd, Signum.SIGTERM).ShouldBe(0);

        // The tool survived the signal long enough to forward it and report (on stdout here)…
        tool.ReadLine().ShouldContain("\"signal\":\"SIGTERM\"");
        // …then ended with its child's signal, as timeout(1) does: a shell shows 143.
        int status = tool.WaitForEnd();
        WIFSIGNALED(status).ShouldBeTrue($"status 0x{status:x}");
        WTERMSIG(status).ShouldBe(Signum.SIGTERM);
    }
}
