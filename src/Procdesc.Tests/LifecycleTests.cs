using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Contract §6 when the parent process goes away: a separate .NET program (Procdesc.TestHost, or
/// the procdesc tool) creates a child and then ends in each way a .NET program can end. Its
/// children are reparented to this test process (made a child subreaper for the purpose), which
/// reaps them and reads how they ended.
/// </summary>
[NonParallelizable]
[Contract("§6 the caller's process exits normally, crashes, or is killed with SIGKILL")]
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class LifecycleTests
{
    private static readonly TimeSpan DeathBound = TimeScale.Of(TimeSpan.FromSeconds(1));

    [OneTimeSetUp]
    public void AdoptOrphans() => Orphans.AdoptOrphans(true);

    [OneTimeTearDown]
    public void StopAdoptingOrphans() => Orphans.AdoptOrphans(false);

    private static IEnumerable<TestCaseData> WaysToEnd()
    {
        foreach (bool daemon in new[] { false, true })
        {
            string kind = daemon ? "Daemon" : "KillOnClose";
            yield return new TestCaseData("return", null, daemon).SetName($"{kind}_HostReturnsFromMain");
            yield return new TestCaseData("exit", null, daemon).SetName($"{kind}_HostCallsEnvironmentExit");
            yield return new TestCaseData("throw", null, daemon).SetName($"{kind}_HostDiesOfAnUnhandledException");
            yield return new TestCaseData("block", Signum.SIGTERM, daemon).SetName($"{kind}_HostKilledWithSIGTERM");
            yield return new TestCaseData("block", Signum.SIGINT, daemon).SetName($"{kind}_HostKilledWithSIGINT");
            yield return new TestCaseData("block", Signum.SIGKILL, daemon).SetName($"{kind}_HostKilledWithSIGKILL");
        }
    }

    [TestCaseSource(nameof(WaysToEnd)), CancelAfter(120_000)]
    public void WhenTheParentEnds_KillOnCloseChildrenDieWithinASecond_DaemonsLiveOn(string mode, Signum? signal, bool daemon, CancellationToken cancellation)
    {
        if (signal is { } ignored)
            InheritedSignals.SkipIfIgnoredHere(ignored, "the test host");
        using var host = HostProcess.TestHost(mode, daemon);
        int child = host.ReadChildPid();
        Processes.ParentOf(child).ShouldBe(host.Pid);
        if (signal is { } s)
            pdkill(host.Fd, s).ShouldBe(0);
        host.WaitForEnd();
        ExpectChildFate(child, daemon);
    }

    [TestCase(false), TestCase(true), CancelAfter(120_000)]
    [Contract("§6 the thread that created the child exits (thread-pool threads do)")]
    public void WhenTheCreatingThreadEnds_TheChildLivesOn_UntilTheProcessEnds(bool daemon, CancellationToken cancellation)
    {
        using var host = HostProcess.TestHost("thread-exits", daemon);
        int child = host.ReadChildPid();
        host.ReadLine().ShouldBe("thread-gone");
        Kids.ReaperBarrier(); // time for a death signal to arrive, were one coming
        Processes.StillRunning(child).ShouldBeTrue("the child outlives the thread that created it");

        pdkill(host.Fd, Signum.SIGKILL).ShouldBe(0);
        host.WaitForEnd();
        ExpectChildFate(child, daemon);
    }

    [TestCase(false), TestCase(true), CancelAfter(120_000)]
    [Contract("§6 the thread that created the child exits (thread-pool threads do)")]
    public void AChildMadeOnTheMainThread_OutlivesMainsReturn_AndDiesWithTheProcess(bool daemon, CancellationToken cancellation)
    {
        // The library creates a main thread's children on that thread (no hand-off): their death
        // signal follows it, which the runtime keeps until the process ends.
        using var host = HostProcess.TestHost("main-returns", daemon);
        int child = host.ReadChildPid();
        host.ReadLine().ShouldBe("main-returned");
        Kids.ReaperBarrier(); // time for a death signal to arrive, were one coming
        Processes.StillRunning(child).ShouldBeTrue("the child outlives Main's return while a foreground thread runs");

        pdkill(host.Fd, Signum.SIGKILL).ShouldBe(0);
        host.WaitForEnd();
        ExpectChildFate(child, daemon);
    }

    [TestCase(false), TestCase(true), CancelAfter(120_000)]
    [Contract("§6 the thread that created the child exits (thread-pool threads do)")]
    public void AChildMadeOnAThreadPoolThread_DiesOnlyWithTheProcess(bool daemon, CancellationToken cancellation)
    {
        using var host = HostProcess.TestHost("pool-thread", daemon);
        int child = host.ReadChildPid();
        Processes.StillRunning(child).ShouldBeTrue();
        pdkill(host.Fd, Signum.SIGKILL).ShouldBe(0);
        host.WaitForEnd();
        ExpectChildFate(child, daemon);
    }

    [TestCase(false), TestCase(true), CancelAfter(120_000)]
    public void TheProcdescTool_KilledWithSIGKILL_TakesItsChildAlong_UnlessDaemon(bool daemon, CancellationToken cancellation)
    {
        string[] args = daemon ? ["run", "--daemon", "--", "/bin/sleep", "60"] : ["run", "--", "/bin/sleep", "60"];
        using var tool = HostProcess.Start(Tool.AssemblyPath, args);
        int child = 0;
        Kids.Eventually(() => (child = Orphans.ChildrenOf(tool.Pid).FirstOrDefault(IsSleep)) != 0, TimeSpan.FromSeconds(30))
            .ShouldBeTrue("the tool started its child");
        pdkill(tool.Fd, Signum.SIGKILL).ShouldBe(0);
        tool.WaitForEnd();
        ExpectChildFate(child, daemon);
    }

    /// <summary>A kill-on-close child is dead (SIGKILL) within a second of its parent's end and
    /// leaves no zombie; a daemon child is alive, then ends and is reaped.</summary>
    private static void ExpectChildFate(int child, bool daemon)
    {
        if (!daemon)
        {
            int status = Orphans.Reap(child, DeathBound);
            status.ShouldNotBe(-1, $"child {child} still alive {DeathBound.TotalSeconds} s after its parent ended");
            WIFSIGNALED(status).ShouldBeTrue();
            WTERMSIG(status).ShouldBe(Signum.SIGKILL);
            Processes.State(child).ShouldBeNull("reaped: no zombie");
            return;
        }
        Kids.Eventually(() => Processes.ParentOf(child) == Environment.ProcessId).ShouldBeTrue("reparented once its parent ended");
        Processes.StillRunning(child).ShouldBeTrue("a PD_DAEMON child survives its parent");
        CLibc.kill(child, (int)Signum.SIGTERM).ShouldBe(0);
        int ended = Orphans.Reap(child, TimeSpan.FromSeconds(10));
        WTERMSIG(ended).ShouldBe(Signum.SIGTERM, "it lived until this test ended it");
    }

    private static bool IsSleep(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/comm").Trim() == "sleep"; }
        catch (IOException) { return false; }
    }
}
