using System.Runtime.InteropServices;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Contract §11: what the rest of the program may do — sweep every descriptor, run out of
/// descriptors at the first kill-on-close, dispose while another thread waits — and what still
/// holds. What would break the test runner itself runs in the scripted test host
/// (src/Procdesc.TestHost/Script.cs), a process of its own whose children this test watches.
/// </summary>
[Contract("§11")]
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class AdversityTests
{
    // ---- descriptor exhaustion ----------------------------------------------------------------

    /// <summary>RLIMIT_NOFILE at 3: every new descriptor fails with EMFILE, whatever is free below the old limit.</summary>
    private static void Exhaust(HostProcess host, bool fromOutside)
    {
        if (fromOutside)
            CLibc.SetSoftFileLimit(host.Pid, 3);
        else
            host.Send("limit 3");
    }

    private static void Replenish(HostProcess host, bool fromOutside, ulong saved)
    {
        if (fromOutside)
            CLibc.SetSoftFileLimit(host.Pid, saved);
        else
            host.Send("limit restore");
    }

    [TestCase(false, TestName = "Exhaustion_AtTheFirstKillOnClose_TheChildIsKilledAndReaped_OnceDescriptorsAreBack")]
    [TestCase(true, TestName = "Exhaustion_ByPrlimitFromOutside_AtTheFirstKillOnClose_TheChildIsKilledAndReaped")]
    [Contract("§11 runs out of descriptors, memory or processes"), CancelAfter(120_000)]
    public void Exhaustion_AtTheFirstKillOnClose(bool fromOutside, CancellationToken cancellation)
    {
        using var host = HostProcess.Scripted();
        ulong saved = CLibc.SoftFileLimit(host.Pid);
        int first = host.Fork("a");
        Exhaust(host, fromOutside);
        host.Send("dispose a");
        Replenish(host, fromOutside, saved);
        Kids.EventuallyGone(first).ShouldBeTrue("the first kill-on-close of the process, made with no descriptor free, is done once descriptors are back");

        // Nothing was dropped for good: later children are killed and reaped as usual.
        int later = host.Fork("b");
        host.Send("dispose b");
        Kids.EventuallyGone(later).ShouldBeTrue("a later kill-on-close child is reaped too");
    }

    [TestCase(false, TestName = "Exhaustion_AtTheFirstWaitAsyncAndKill_TheWaitCompletesWithTheStatus")]
    [TestCase(true, TestName = "Exhaustion_ByPrlimitFromOutside_AtTheFirstWaitAsyncAndKill_TheWaitCompletesWithTheStatus")]
    [Contract("§11 runs out of descriptors, memory or processes"), CancelAfter(120_000)]
    public void Exhaustion_AtTheFirstWaitAsync(bool fromOutside, CancellationToken cancellation)
    {
        using var host = HostProcess.Scripted();
        ulong saved = CLibc.SoftFileLimit(host.Pid);
        int child = host.Fork("a");
        Exhaust(host, fromOutside);
        host.Send("waitasync a");
        host.Send("pdkill a SIGKILL").ShouldBe("0 0", "the first pdkill of the process works without a free descriptor");
        string early = host.Send("await a 2000");
        Replenish(host, fromOutside, saved);
        string outcome = early == "pending" ? host.Send("await a 20000") : early;
        outcome.ShouldBe("signal SIGKILL", "the pending WaitAsync completes with the status (or fails with the errno), never with another exception");
        host.Send("dispose a");
        Kids.EventuallyGone(child).ShouldBeTrue();
    }

    [Test, Contract("§11 runs out of descriptors, memory or processes"), CancelAfter(120_000)]
    public void Exhaustion_WhileADaemonExits_ItIsReapedOnceDescriptorsAreBack(CancellationToken cancellation)
    {
        using var host = HostProcess.Scripted();
        int daemon = host.Fork("d", "daemon");
        host.Send("close d").ShouldBe("0 0");
        Kids.ReaperBarrier();
        host.Send("limit 3");
        CLibc.kill(daemon, (int)Signum.SIGKILL).ShouldBe(0);
        Kids.Eventually(() => Processes.State(daemon) is 'Z' or null).ShouldBeTrue();
        host.Send("limit restore");
        Kids.EventuallyGone(daemon).ShouldBeTrue("the daemon that exited under exhaustion is reaped");
    }

    // ---- sweeps of every descriptor the program does not use ---------------------------------

    [TestCase("proc", TestName = "Sweep_ByAProcLoop_NoCallReachesAnotherChild_AndKillOnCloseStillWorks")]
    [TestCase("close_range", TestName = "Sweep_ByCloseRange_NoCallReachesAnotherChild_AndKillOnCloseStillWorks")]
    [TestCase("dup2", TestName = "Sweep_ByDup2OverEveryNumber_NoCallReachesAnotherChild_AndKillOnCloseStillWorks")]
    [Contract("§11 closes descriptors it does not own"), CancelAfter(120_000)]
    public void Sweep_NoCallReachesAnotherChild(string how, CancellationToken cancellation)
    {
        using var host = HostProcess.Scripted();
        int a = host.Fork("a");
        int closedLater = host.Fork("x");
        int awaited = host.Fork("w");
        host.Send("waitasync w");
        host.Send(how == "close_range" ? "sweep close_range 1024" : $"sweep {how}");
        // Children made after the sweep get the numbers the library's own descriptors had.
        int[] after = Enumerable.Range(0, 6).Select(i => host.Fork($"b{i}")).ToArray();
        int b = after[0];

        host.Send("pdkill a SIGTERM").ShouldBe("0 0");
        host.Send("pdwait4 a").ShouldBe($"{a} {(int)Signum.SIGTERM} 0", "pdwait4 reaps the child the number named, with its status");
        Kids.ShouldBeReapedThroughTheLibrary(a, "a is gone");
        foreach (int other in after)
            Processes.StillRunning(other).ShouldBeTrue("children created after the sweep were neither signalled nor reaped");

        host.Send("close x").ShouldBe("0 0");
        Kids.EventuallyGone(closedLater).ShouldBeTrue("kill-on-close of a child made before the sweep");
        host.Send("close b0").ShouldBe("0 0");
        Kids.EventuallyGone(b).ShouldBeTrue("kill-on-close of a child made after the sweep");

        host.Send("pdkill w SIGKILL").ShouldBe("0 0");
        host.Send("await w 20000").ShouldBe("signal SIGKILL", "a WaitAsync pending across the sweep completes");
        host.Send("dispose w");
        Kids.EventuallyGone(awaited).ShouldBeTrue();
    }

    [Test, Contract("§11 closes descriptors it does not own"), CancelAfter(120_000)]
    public void Sweep_WhenEveryCopyOfAChildIsSwept_ItIsKilledAndReaped_AndNoOtherChildIs(CancellationToken cancellation)
    {
        using var host = HostProcess.Scripted();
        int kept = host.Fork("k");
        int swept = host.Fork("s");
        // The sweep keeps the numbers of the children the host still names: forget s first.
        host.Send("forget s");
        host.Send("sweep proc");
        int after = host.Fork("n");
        Kids.EventuallyGone(swept, TimeSpan.FromSeconds(30)).ShouldBeTrue("a child whose last descriptor was swept is killed and reaped");
        Processes.StillRunning(kept).ShouldBeTrue();
        Processes.StillRunning(after).ShouldBeTrue();
    }

    // ---- no /proc ------------------------------------------------------------------------------

    [Test, Contract("§11 closes descriptors it does not own"), CancelAfter(120_000)]
    public void WithoutProc_KillOnCloseStillCountsCopies(CancellationToken cancellation)
    {
        // .NET cannot start without /proc, but a sandbox may take it away afterwards: the host runs
        // in a mount namespace of its own, and an empty tmpfs hides /proc there before the library's
        // first call (hidden rather than unmounted: under the kernel matrix the root is 9p, and
        // beneath the guest's /proc lies this machine's own).
        if (Environment.UserName != "root")
            Assert.Ignore("needs root (a mount namespace, nsenter)");
        using var host = HostProcess.Scripted("unshare", "-m", "--propagation", "private");
        // -r: the host's own root (the kernel matrix runs the tests in a chroot), not the namespace's.
        var hide = System.Diagnostics.Process.Start("nsenter", ["-t", host.Pid.ToString(), "-m", "-r", "mount", "-t", "tmpfs", "none", "/proc"])!;
        hide.WaitForExit(30_000).ShouldBeTrue();
        hide.ExitCode.ShouldBe(0);
        host.Send("fds").ShouldBe("no /proc");

        int closed = host.Fork("a");
        host.Send("dispose a");
        Kids.EventuallyGone(closed).ShouldBeTrue("the last copy's close kills and reaps the child without /proc");

        int copied = host.Fork("b");
        host.Send("dup b c");
        host.Send("dispose b");
        ReaperBarrierIn(host);
        Processes.StillRunning(copied).ShouldBeTrue("the copy keeps the child alive: the census works without /proc");
        host.Send("dispose c");
        Kids.EventuallyGone(copied).ShouldBeTrue();
    }

    /// <summary><see cref="Kids.ReaperBarrier"/> in the host: a later close there has been handled.</summary>
    private static void ReaperBarrierIn(HostProcess host)
    {
        int pid = host.Fork("barrier");
        host.Send("dispose barrier");
        Kids.EventuallyGone(pid).ShouldBeTrue("the host's reactor handled a later close");
    }

    // ---- Dispose while another thread is blocked on the same descriptor -----------------------

    [Test, Contract("§11 disposes a ProcessDescriptor while another thread is blocked on it"), CancelAfter(60_000)]
    public void Dispose_WhileAnotherThreadIsInWait_KillsTheChildAtOnce_AndTheWaitReturnsSIGKILL(CancellationToken cancellation)
    {
        var pd = ProcessDescriptor.Start("/bin/sleep", "60");
        int tid = 0;
        ExitStatus? status = null;
        Exception? failure = null;
        var waiter = new Thread(() =>
        {
            tid = Threads.Gettid();
            try { status = pd.Wait(); }
            catch (Exception e) { failure = e; }
        }) { IsBackground = true };
        waiter.Start();
        try
        {
            Threads.EventuallyInWaitid(() => Volatile.Read(ref tid)).ShouldBeTrue("the waiter is blocked");
            pd.Dispose();
            waiter.Join(TimeSpan.FromSeconds(10)).ShouldBeTrue("Dispose killed the child at once, so Wait returned");
            failure.ShouldBeNull();
            status!.Value.TermSignal.ShouldBe(Signum.SIGKILL);
            Kids.EventuallyGone(pd.Pid).ShouldBeTrue();
        }
        finally
        {
            CLibc.kill(pd.Pid, (int)Signum.SIGKILL);
            waiter.Join(TimeSpan.FromSeconds(10));
        }
    }

    [Test, Contract("§11 disposes a ProcessDescriptor while another thread is blocked on it"), CancelAfter(120_000)]
    public void Dispose_RacingWithAWaitThatIsStarting_NeverLeavesTheWaitBlocked(CancellationToken cancellation)
    {
        // No handshake: Dispose lands before, during or after the start of Wait. Either Wait sees
        // the descriptor disposed (ObjectDisposedException) or it returns the SIGKILL status.
        for (int round = 0; round < 100 && !cancellation.IsCancellationRequested; round++)
        {
            var pd = ProcessDescriptor.Start("/bin/sleep", "60");
            Exception? failure = null;
            ExitStatus? status = null;
            var waiter = new Thread(() =>
            {
                try { status = pd.Wait(); }
                catch (Exception e) { failure = e; }
            }) { IsBackground = true };
            waiter.Start();
            if (round % 2 == 1)
                Thread.Yield();
            pd.Dispose();
            bool returned = waiter.Join(TimeSpan.FromSeconds(10));
            CLibc.kill(pd.Pid, (int)Signum.SIGKILL);
            returned.ShouldBeTrue($"round {round}: Wait returned");
            if (failure is not null)
                failure.ShouldBeOfType<ObjectDisposedException>($"round {round}");
            else
                status!.Value.TermSignal.ShouldBe(Signum.SIGKILL, $"round {round}");
            Kids.EventuallyGone(pd.Pid).ShouldBeTrue($"round {round}");
        }
    }

    [Test, Contract("§11 disposes a ProcessDescriptor while another thread is blocked on it"), CancelAfter(60_000)]
    public void Dispose_WhileAnotherThreadIsInPdwait4OnItsNumber_KillsTheChildAtOnce(CancellationToken cancellation)
    {
        var pd = ProcessDescriptor.Start("/bin/sleep", "60");
        int number = (int)pd.DangerousGetHandle();
        int tid = 0, waited = 0, status = 0;
        var waiter = new Thread(() =>
        {
            tid = Threads.Gettid();
            waited = pdwait4(number, out status, PdWaitOptions.None, out _);
        }) { IsBackground = true };
        waiter.Start();
        try
        {
            Threads.EventuallyInWaitid(() => Volatile.Read(ref tid)).ShouldBeTrue("the waiter is blocked");
            pd.Dispose();
            waiter.Join(TimeSpan.FromSeconds(10)).ShouldBeTrue("Dispose killed the child at once, so pdwait4 returned");
            waited.ShouldBe(pd.Pid);
            WTERMSIG(status).ShouldBe(Signum.SIGKILL);
            Kids.EventuallyGone(pd.Pid).ShouldBeTrue(Processes.LibraryState(pd.Pid));
        }
        finally
        {
            CLibc.kill(pd.Pid, (int)Signum.SIGKILL);
            waiter.Join(TimeSpan.FromSeconds(10));
        }
    }

    [Test, Contract("§11 disposes a ProcessDescriptor while another thread is blocked on it"), CancelAfter(60_000)]
    public void PdSyscallClose_WhileAnotherThreadIsInPdwait4_KeepsTheChild_AsFreeBsdsKernelDoes_UntilTheWaitReturns(CancellationToken cancellation)
    {
        // FreeBSD: a blocked pdwait holds a reference to the file, so close(2) of the number is not
        // the last close; the child lives until it exits, and the blocked call gets its status.
        var (read, write) = CLibc.Pipe();
        var before = Processes.OpenDescriptors();
        int pid = pdfork(out int fd, PD_CLOEXEC, PdChild.Exec(Kids.Shell, ["sh", "-c", "read x; exit 7"]).WithFd(0, read));
        pid.ShouldBeGreaterThan(0);
        CLibc.close(read);
        int tid = 0, waited = 0, status = 0;
        var waiter = new Thread(() =>
        {
            tid = Threads.Gettid();
            waited = pdwait4(fd, out status, PdWaitOptions.None, out _);
        }) { IsBackground = true };
        waiter.Start();
        try
        {
            Threads.EventuallyInWaitid(() => Volatile.Read(ref tid)).ShouldBeTrue("the waiter is blocked");
            close(fd).ShouldBe(0);
            Kids.ReaperBarrier();
            Processes.StillRunning(pid).ShouldBeTrue("the blocked call still holds the child");
            CLibc.close(write);
            write = -1;
            waiter.Join(TimeSpan.FromSeconds(10)).ShouldBeTrue();
            waited.ShouldBe(pid);
            WEXITSTATUS(status).ShouldBe(7, "the blocked call got the child's own status");
            Kids.EventuallyGone(pid).ShouldBeTrue();
            before.Add(read);
            Processes.NoDescriptorLeaked(before);
        }
        finally
        {
            CLibc.kill(pid, (int)Signum.SIGKILL);
            if (write >= 0)
                CLibc.close(write);
            waiter.Join(TimeSpan.FromSeconds(10));
        }
    }
}
