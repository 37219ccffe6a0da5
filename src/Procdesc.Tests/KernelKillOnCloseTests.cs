using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Contract §12, Linux 7.1+: <see cref="PdChild.WithKernelKillOnClose"/> — the kernel's own
/// kill-on-last-close (CLONE_PIDFD_AUTOKILL), which counts every copy of the descriptor in every
/// process (FreeBSD's rule; §10 L2 closes), and what it costs (no rusage, no_new_privs). On
/// kernels without it, pdfork answers EOPNOTSUPP and leaves no child.
/// </summary>
[Contract("§12")]
[OnlyOn("Linux", "CLONE_PIDFD_AUTOKILL is Linux's; on FreeBSD pdfork always counts every copy (compat-tests)")]
public class KernelKillOnCloseTests
{
    private static PdChild Sleeper => PdChild.Exec("/bin/sleep", ["sleep", "60"]).WithKernelKillOnClose();

    private static void RequireTheKernelsKill()
    {
        if (!Kernel.KillsOnLastClose)
            Assert.Ignore($"Linux 7.1+ (CLONE_PIDFD_AUTOKILL); this kernel is {Environment.OSVersion.Version}: KernelKillOnClose_BeforeLinux7_1_EOPNOTSUPP checks it");
    }

    [Test, Contract("§12 kernel kill-on-close, kernel before 7.1: EOPNOTSUPP, no child")]
    public void KernelKillOnClose_BeforeLinux7_1_EOPNOTSUPP_AndNoChild()
    {
        if (Kernel.KillsOnLastClose)
            Assert.Ignore("this kernel has CLONE_PIDFD_AUTOKILL: the other tests here check it");
        int[] before = Processes.Children();
        var descriptors = Processes.OpenDescriptors();
        pdfork(out int fd, PD_CLOEXEC, Sleeper).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.EOPNOTSUPP);
        fd.ShouldBe(-1);
        Processes.NoNewChildren(before, "the flags were refused before any child existed");
        Processes.NoDescriptorLeaked(descriptors);
    }

    [Test, Contract("§12 kernel kill-on-close with PD_DAEMON: EINVAL, no child")]
    public void KernelKillOnClose_WithPD_DAEMON_EINVAL()
    {
        int[] before = Processes.Children();
        pdfork(out int fd, PD_DAEMON | PD_CLOEXEC, Sleeper).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.EINVAL);
        fd.ShouldBe(-1);
        Processes.NoNewChildren(before);
    }

    [Test, Contract("§12 kernel kill-on-close: the last close kills; the kernel reaps; the library forgets")]
    public void LastClose_KillsTheChild_WhichLeavesNoZombie_AndNoRecord()
    {
        RequireTheKernelsKill();
        int pid = pdfork(out int fd, PD_CLOEXEC, Sleeper);
        pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
        Processes.WaitUntilExecFinished(pid);
        Processes.StillRunning(pid).ShouldBeTrue();
        close(fd).ShouldBe(0);
        Kids.EventuallyGone(pid).ShouldBeTrue($"killed by the kernel and reaped by it: {Processes.LibraryState(pid)}");
        Kids.Eventually(() => !Processes.LibraryState(pid).Contains("record key", StringComparison.Ordinal))
            .ShouldBeTrue($"the library forgets the child: {Processes.LibraryState(pid)}");
    }

    [Test, Contract("§12 kernel kill-on-close: a copy in another process keeps the child alive (§10 L2 closes)")]
    public void ACopyInAnotherProcess_KeepsTheChildAlive_UntilThatProcessCloses()
    {
        RequireTheKernelsKill();
        int pid = pdfork(out int fd, PD_CLOEXEC, Sleeper);
        pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
        var (read, write) = CLibc.Pipe();
        int holder = -1, holderPid = -1;
        try
        {
            // Another process gets a copy of the descriptor as its fd 3, and holds it until its
            // stdin ends.
            holderPid = pdfork(out holder, PD_CLOEXEC, PdChild.Exec(Kids.Shell, ["sh", "-c", "read x"]).WithFd(0, read).WithFd(3, fd));
            holderPid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
            CLibc.close(read);
            read = -1;
            Processes.WaitUntilExecFinished(holderPid);
            close(fd).ShouldBe(0);
            fd = -1;
            Kids.ReaperBarrier();
            Processes.StillRunning(pid).ShouldBeTrue("the other process's copy keeps the child, as on FreeBSD");

            CLibc.close(write); // the holder exits: its copy, the last one, goes
            write = -1;
            Kids.EventuallyGone(pid).ShouldBeTrue($"killed once the last copy anywhere is gone: {Processes.LibraryState(pid)}");
            pdwait4(holder, out _, PdWaitOptions.None, out _).ShouldBe(holderPid, "the holder exited");
        }
        finally
        {
            if (write >= 0) CLibc.close(write);
            if (read >= 0) CLibc.close(read);
            Kids.Cleanup(holder);
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§12 kernel kill-on-close: a dup in this process keeps the child alive until it closes")]
    public void ADuplicate_KeepsTheChildAlive_UntilItCloses()
    {
        RequireTheKernelsKill();
        int pid = pdfork(out int fd, PD_CLOEXEC, Sleeper);
        pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
        int copy = CLibc.dup(fd);
        try
        {
            close(fd).ShouldBe(0);
            fd = -1;
            Kids.ReaperBarrier();
            Processes.StillRunning(pid).ShouldBeTrue("the duplicate keeps the child");
            pdgetpid(copy, out int seen).ShouldBe(0);
            seen.ShouldBe(pid);
            close(copy).ShouldBe(0);
            copy = -1;
            Kids.EventuallyGone(pid).ShouldBeTrue($"killed at the last close: {Processes.LibraryState(pid)}");
        }
        finally
        {
            Kids.Cleanup(copy);
            Kids.Cleanup(fd);
        }
    }

    [TestCase(false, TestName = "Pdwait4_ReportsTheExitStatus_WithoutRusage_ChildExited")]
    [TestCase(true, TestName = "Pdwait4_ReportsTheExitStatus_WithoutRusage_BlockingBeforeTheExit")]
    [Contract("§12 kernel kill-on-close: pdwait4 reports the status (the kernel reaped the child), rusage missing")]
    public void Pdwait4_ReportsTheExitStatus_WithoutRusage(bool blockFirst)
    {
        RequireTheKernelsKill();
        var (read, write) = CLibc.Pipe();
        int pid = pdfork(out int fd, PD_CLOEXEC, PdChild.Exec(Kids.Shell, ["sh", "-c", "read x; exit 7"]).WithFd(0, read).WithKernelKillOnClose());
        pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
        CLibc.close(read);
        try
        {
            if (!blockFirst)
            {
                CLibc.close(write);
                write = -1;
                Kids.WaitForExit(fd).ShouldBeTrue();
                Kids.EventuallyGone(pid).ShouldBeTrue("the kernel reaps it at exit: no zombie");
            }
            pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _).ShouldBe(blockFirst ? 0 : pid, "nothing to report while it runs");
            using var release = blockFirst ? new Timer(_ => CLibc.close(write), null, TimeScale.Ms(200), Timeout.Infinite) : null;
            pdwait4(fd, out int status, PdWaitOptions.None, out Rusage usage).ShouldBe(blockFirst ? pid : -1);
            if (!blockFirst)
            {
                GetLastError().ShouldBe(Errno.ECHILD, "the WNOHANG call above took the status");
                return;
            }
            write = -1;
            WIFEXITED(status).ShouldBeTrue();
            WEXITSTATUS(status).ShouldBe(7);
            usage.IsMissing.ShouldBeTrue("the kernel reaped the child: it kept no resource usage");
            pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(-1);
            GetLastError().ShouldBe(Errno.ECHILD);
            pdgetpid(fd, out int seen).ShouldBe(0);
            seen.ShouldBe(pid);
        }
        finally
        {
            if (write >= 0) CLibc.close(write);
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§12 kernel kill-on-close: the object layer's wait gets the status of a kill")]
    public async Task WaitAsync_ReportsAKill_WithoutRusage()
    {
        RequireTheKernelsKill();
        var child = ProcessDescriptor.Fork(Sleeper, PdFlags.CloExec);
        int pid = child.Pid;
        Task<ExitStatus> wait = child.WaitAsync();
        child.Kill(Signum.SIGTERM);
        ExitStatus status = await wait.WaitAsync(TimeScale.Of(TimeSpan.FromSeconds(10)));
        status.TermSignal.ShouldBe(Signum.SIGTERM);
        status.Usage.IsMissing.ShouldBeTrue();
        child.Dispose();
        Kids.EventuallyGone(pid).ShouldBeTrue();
    }

    [Test, Contract("§12 kernel kill-on-close: Dispose while another thread is in Wait kills the child")]
    public void Dispose_WhileAnotherThreadIsInWait_KillsTheChild()
    {
        RequireTheKernelsKill();
        var child = ProcessDescriptor.Fork(Sleeper, PdFlags.CloExec);
        int pid = child.Pid;
        Processes.WaitUntilExecFinished(pid);
        int tid = 0;
        ExitStatus? seen = null;
        Exception? failure = null;
        var waiter = new Thread(() =>
        {
            tid = Threads.Gettid();
            try { seen = child.Wait(); }
            catch (Exception e) { failure = e; }
        }) { IsBackground = true };
        waiter.Start();
        try
        {
            Threads.EventuallyInWaitid(() => Volatile.Read(ref tid)).ShouldBeTrue("the waiter is blocked");
            child.Dispose();
            waiter.Join(TimeScale.Of(TimeSpan.FromSeconds(10))).ShouldBeTrue($"Wait returned once Dispose killed the child: {Processes.LibraryState(pid)}");
            failure.ShouldBeNull();
            seen!.Value.TermSignal.ShouldBe(Signum.SIGKILL);
            Kids.EventuallyGone(pid).ShouldBeTrue();
        }
        finally
        {
            CLibc.kill(pid, (int)Signum.SIGKILL);
            waiter.Join(TimeScale.Of(TimeSpan.FromSeconds(10)));
        }
    }

    [Test, Contract("§12 kernel kill-on-close: the child runs with no_new_privs (CLONE_NNP)")]
    public void TheChild_RunsWithNoNewPrivs()
    {
        RequireTheKernelsKill();
        int pid = pdfork(out int fd, PD_CLOEXEC, Sleeper);
        pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
        try
        {
            Processes.WaitUntilExecFinished(pid);
            File.ReadLines($"/proc/{pid}/status").ShouldContain(line => line.StartsWith("NoNewPrivs:") && line.EndsWith("1"));
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§12 kernel kill-on-close: invisible to wait(-1) even after exec, no SIGCHLD (§10 L1 closes)")]
    public unsafe void AfterExec_WaitAnyNeverSeesTheChild()
    {
        RequireTheKernelsKill();
        int pid = pdfork(out int fd, PD_CLOEXEC, PdChild.Exec(Kids.Shell, ["sh", "-c", "exit 4"]).WithKernelKillOnClose());
        pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            int status;
            int waited = CLibc.waitpid(pid, &status, 1 /* WNOHANG */);
            waited.ShouldBe(-1, "the kernel reaped it: no waiter outside the library can take its status");
            pdwait4(fd, out int reported, PdWaitOptions.None, out _).ShouldBe(pid);
            WEXITSTATUS(reported).ShouldBe(4);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }
}
