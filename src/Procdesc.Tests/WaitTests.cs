using System.Runtime.InteropServices;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>Contract §4 (pdwait4, the wait4-shaped call) and §5 (pdwait, FreeBSD 15.1's call).</summary>
[Contract("§4"), Contract("§5")]
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public partial class WaitTests
{
    /// <summary>A child that burns CPU in the shell for a while, then exits with 3.</summary>
    private const string BurnThenExit3 = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; exit 3";

    // ---------------------------------------------------------------- §4 pdwait4

    [Test, Contract("§4 child exited (zombie): the pid, a wait status, rusage filled, the child reaped")]
    public void Pdwait4_OnAnExitedChild_ReturnsThePid_TheStatus_TheRusage_AndReaps()
    {
        int pid = Kids.Sh(out int fd, BurnThenExit3);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            Processes.State(pid).ShouldBe('Z');

            pdwait4(fd, out int status, PdWaitOptions.None, out Rusage usage).ShouldBe(pid);

            WIFEXITED(status).ShouldBeTrue();
            WEXITSTATUS(status).ShouldBe(3);
            WIFSIGNALED(status).ShouldBeFalse();
            WIFSTOPPED(status).ShouldBeFalse();
            usage.IsMissing.ShouldBeFalse();
            (usage.UserTime + usage.SystemTime).ShouldBeGreaterThan(TimeSpan.Zero, "the child burnt CPU");
            usage.MaxRssKiB.ShouldBeGreaterThan(0);
            Kids.ShouldBeReapedThroughTheLibrary(pid, "reaped by the call itself, not later");
            if (!Kids.ZombieUntilLastClose)
                Processes.Children().ShouldNotContain(pid);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§4 child exited: a death by signal is a wait status too")]
    public void Pdwait4_OnAKilledChild_ReportsTheSignal()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            pdwait4(fd, out int status, PdWaitOptions.None, out Rusage usage).ShouldBe(pid);
            WIFSIGNALED(status).ShouldBeTrue();
            WTERMSIG(status).ShouldBe(Signum.SIGKILL);
            WIFEXITED(status).ShouldBeFalse();
            WCOREDUMP(status).ShouldBeFalse();
            usage.IsMissing.ShouldBeFalse();
            Kids.ShouldBeReapedThroughTheLibrary(pid);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [TestCase(PdWaitOptions.None)]
    [TestCase(PdWaitOptions.WEXITED)]
    [TestCase(PdWaitOptions.WNOHANG)]
    [TestCase(PdWaitOptions.WNOHANG | PdWaitOptions.WEXITED)]
    [TestCase(PdWaitOptions.WUNTRACED)]
    [TestCase(PdWaitOptions.WCONTINUED)]
    [Contract("§4 WEXITED: implied, as for wait4")]
    public void Pdwait4_ImpliesWEXITED(PdWaitOptions options)
    {
        int pid = Kids.Exiting(out int fd, 42);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait4(fd, out int status, options, out _).ShouldBe(pid);
            WIFEXITED(status).ShouldBeTrue();
            WEXITSTATUS(status).ShouldBe(42);
            Kids.ShouldBeReapedThroughTheLibrary(pid);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [TestCase(PdWaitOptions.WNOHANG)]
    [TestCase(PdWaitOptions.WNOHANG | PdWaitOptions.WEXITED)]
    [TestCase(PdWaitOptions.WNOHANG | PdWaitOptions.WUNTRACED | PdWaitOptions.WCONTINUED)]
    [Contract("§4 WNOHANG and the child still running: 0; status 0")]
    public void Pdwait4_WithWNOHANG_OnARunningChild_ReturnsZero(PdWaitOptions options)
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdwait4(fd, out int status, options, out _).ShouldBe(0);
            status.ShouldBe(0);
            Processes.State(pid).ShouldNotBeNull();
            Processes.State(pid).ShouldNotBe('Z');
            // Nothing was consumed: the exit is still reported afterwards.
            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            pdwait4(fd, out status, PdWaitOptions.None, out _).ShouldBe(pid);
            WTERMSIG(status).ShouldBe(Signum.SIGKILL);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§4 WUNTRACED / WCONTINUED: report a stop / a continue (the child is not reaped)")]
    public void Pdwait4_WUNTRACEDReportsAStop_AndWCONTINUEDAContinue_WithoutReaping()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, Signum.SIGSTOP).ShouldBe(0);
            Kids.Eventually(() => Processes.State(pid) == 'T').ShouldBeTrue("the child stops");

            // Without WUNTRACED a stop is not reported.
            pdwait4(fd, out int status, PdWaitOptions.WNOHANG | PdWaitOptions.WCONTINUED, out _).ShouldBe(0);

            pdwait4(fd, out status, PdWaitOptions.WUNTRACED, out _).ShouldBe(pid);
            WIFSTOPPED(status).ShouldBeTrue();
            WSTOPSIG(status).ShouldBe(Signum.SIGSTOP);
            WIFEXITED(status).ShouldBeFalse();
            WIFSIGNALED(status).ShouldBeFalse();
            WIFCONTINUED(status).ShouldBeFalse();
            Processes.State(pid).ShouldBe('T', "a stop report does not reap");
            // As with wait4, one stop is reported once.
            pdwait4(fd, out status, PdWaitOptions.WNOHANG | PdWaitOptions.WUNTRACED, out _).ShouldBe(0);

            pdkill(fd, Signum.SIGCONT).ShouldBe(0);
            // Without WCONTINUED a continue is not reported.
            pdwait4(fd, out status, PdWaitOptions.WNOHANG | PdWaitOptions.WUNTRACED, out _).ShouldBe(0);

            pdwait4(fd, out status, PdWaitOptions.WCONTINUED, out _).ShouldBe(pid);
            WIFCONTINUED(status).ShouldBeTrue();
            WIFSTOPPED(status).ShouldBeFalse();
            WIFEXITED(status).ShouldBeFalse();
            WIFSIGNALED(status).ShouldBeFalse();
            Kids.Eventually(() => Processes.State(pid) is 'S' or 'R' or 'D').ShouldBeTrue("the child runs again, not reaped");

            // The child is still this descriptor's, and its end is still reported.
            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            pdwait4(fd, out status, PdWaitOptions.None, out _).ShouldBe(pid);
            WTERMSIG(status).ShouldBe(Signum.SIGKILL);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [TestCase(PdWaitOptions.None)]
    [TestCase(PdWaitOptions.WNOHANG)]
    [TestCase(PdWaitOptions.WEXITED | PdWaitOptions.WUNTRACED | PdWaitOptions.WCONTINUED)]
    [Contract("§4 already reaped through the library (a previous pdwait4): -1, ECHILD — never the kept status again")]
    public void Pdwait4_AfterAPdwait4_FailsWithECHILD(PdWaitOptions options)
    {
        Kids.Reaped(out int fd, 6);
        int copy = CLibc.dup(fd);
        try
        {
            copy.ShouldBeGreaterThanOrEqualTo(0);
            ShouldFailWith(pdwait4(fd, out int status, options, out _), Errno.ECHILD);
            status.ShouldBe(0);
            ShouldFailWith(pdwait4(fd, out _, options, out _), Errno.ECHILD);
            ShouldFailWith(pdwait4(copy, out status, options, out _), Errno.ECHILD);
            status.ShouldBe(0);
        }
        finally
        {
            close(copy);
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§4 already reaped through the library (a previous pdwait4 or pdwait through any duplicate): -1, ECHILD")]
    public void Pdwait4_AfterAReapThroughADuplicate_FailsWithECHILD()
    {
        // Reaped by pdwait4 through a dup'ed copy, asked through the original.
        int pid = Kids.Exiting(out int fd, 5);
        int copy = CLibc.dup(fd);
        try
        {
            copy.ShouldBeGreaterThanOrEqualTo(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait4(copy, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WEXITSTATUS(status).ShouldBe(5);
            ShouldFailWith(pdwait4(fd, out status, PdWaitOptions.None, out _), Errno.ECHILD);
            status.ShouldBe(0);
            ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _), Errno.ECHILD);
        }
        finally
        {
            close(copy);
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§4 already reaped through the library (a previous pdwait through any duplicate): -1, ECHILD")]
    public void Pdwait4_AfterAPdwaitThroughADuplicate_FailsWithECHILD()
    {
        int pid = Kids.Exiting(out int fd, 8);
        int copy = CLibc.dup(fd);
        try
        {
            copy.ShouldBeGreaterThanOrEqualTo(0);
            Kids.WaitForExit(copy).ShouldBeTrue();
            pdwait(copy, out int status, PdWaitOptions.WEXITED, out _, out PdSigInfo info).ShouldBe(0);
            info.Pid.ShouldBe(pid);
            WEXITSTATUS(status).ShouldBe(8);
            ShouldFailWith(pdwait4(fd, out status, PdWaitOptions.None, out _), Errno.ECHILD);
            status.ShouldBe(0);
            ShouldFailWith(pdwait4(copy, out _, PdWaitOptions.None, out _), Errno.ECHILD);
        }
        finally
        {
            close(copy);
            Kids.Cleanup(fd);
        }
    }

    [TestCase(PdWaitOptions.None)]
    [TestCase(PdWaitOptions.WEXITED)]
    [TestCase(PdWaitOptions.WNOHANG)]
    [Contract("§4 reaped outside the library (waitpid(pid)): Linux §10 L1, the kept status once, else -1, ECHILD"), Contract("§10 L1")]
    [OnlyOn("Linux")]
    public unsafe void Linux_Pdwait4_AfterAnOutsideWaitpid_ReturnsTheKeptStatusOnce_ThenECHILD(PdWaitOptions options)
    {
        int pid = Kids.Exiting(out int fd, 11);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            int raw;
            CLibc.waitpid(pid, &raw, 0).ShouldBe(pid);
            Processes.State(pid).ShouldBeNull();
            if (!Kernel.KeepsExitStatus)
            {
                // Before Linux 6.15 the kernel keeps nothing once another waiter reaped the child.
                ShouldFailWith(pdwait4(fd, out int lost, options, out _), Errno.ECHILD);
                lost.ShouldBe(0);
                return;
            }

            pdwait4(fd, out int status, options, out Rusage usage).ShouldBe(pid);
            WIFEXITED(status).ShouldBeTrue();
            WEXITSTATUS(status).ShouldBe(11);
            status.ShouldBe(raw, "the status the kernel kept is the one waitpid saw");
            usage.IsMissing.ShouldBeTrue("the kernel kept no rusage");
            usage.UserTime.ShouldBe(TimeSpan.Zero);
            usage.SystemTime.ShouldBe(TimeSpan.Zero);
            usage.MaxRssKiB.ShouldBe(0);

            ShouldFailWith(pdwait4(fd, out status, options, out usage), Errno.ECHILD);
            status.ShouldBe(0);
            ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.None, out _), Errno.ECHILD);
        }
        finally
        {
            close(fd);
        }
    }

    [Test, Contract("§4 reaped outside the library (waitpid(pid)): Linux §10 L1, a kept death by signal"), Contract("§10 L1")]
    [OnlyOn("Linux")]
    public unsafe void Linux_Pdwait4_AfterAnOutsideWaitpid_ReturnsAKeptSignal()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, Signum.SIGTERM).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            int raw;
            CLibc.waitpid(pid, &raw, 0).ShouldBe(pid);
            if (!Kernel.KeepsExitStatus)
            {
                ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.None, out _), Errno.ECHILD);
                return;
            }

            pdwait4(fd, out int status, PdWaitOptions.None, out Rusage usage).ShouldBe(pid);
            WIFSIGNALED(status).ShouldBeTrue();
            WTERMSIG(status).ShouldBe(Signum.SIGTERM);
            usage.IsMissing.ShouldBeTrue();
            ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.None, out _), Errno.ECHILD);
        }
        finally
        {
            close(fd);
        }
    }

    [Test, Contract("§4 reaped outside the library (waitpid(pid)): FreeBSD -1, ECHILD")]
    [OnlyOn("FreeBSD")]
    public unsafe void FreeBsd_Pdwait4_AfterAnOutsideWaitpid_FailsWithECHILD()
    {
        int pid = Kids.Exiting(out int fd, 11);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            int raw;
            CLibc.waitpid(pid, &raw, 0).ShouldBe(pid);
            ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.None, out _), Errno.ECHILD);
        }
        finally
        {
            close(fd);
        }
    }

    [Test, Contract("§4 fd not open / not a procdesc: -1, EBADF")]
    public void Pdwait4_OnADescriptorThatIsNotOpen_FailsWithEBADF()
    {
        foreach (int fd in NumbersNotOpen())
        {
            ShouldFailWith(pdwait4(fd, out int status, PdWaitOptions.None, out _), Errno.EBADF);
            status.ShouldBe(0);
            ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _), Errno.EBADF);
        }
    }

    [Test, Contract("§4 fd not open / not a procdesc (pipe, regular file, socket): -1, EBADF")]
    public void Pdwait4_OnADescriptorThatIsNotAProcdesc_FailsWithEBADF()
    {
        var descriptors = OpenNonProcdescs();
        try
        {
            foreach (var (what, fd) in descriptors)
            {
                ShouldFailWith(pdwait4(fd, out int status, PdWaitOptions.None, out _), Errno.EBADF, what);
                status.ShouldBe(0);
                ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _), Errno.EBADF, what);
            }
        }
        finally
        {
            foreach (var (_, fd) in descriptors)
                CLibc.close(fd);
        }
    }

    [TestCase(64)]
    [TestCase(128)]
    [TestCase(1 << 20)]
    [TestCase(64 | (int)PdWaitOptions.WEXITED)]
    [TestCase(128 | (int)PdWaitOptions.WNOHANG)]
    [TestCase(0x01000000)] // Linux's WNOWAIT: a host bit, not a FreeBSD option
    [TestCase(0x40000000)] // Linux's __WALL
    [TestCase(int.MinValue)]
    [Contract("§4 unknown option bits: -1, EINVAL")]
    public void Pdwait4_WithUnknownOptionBits_FailsWithEINVAL_AndReapsNothing(int options)
    {
        int pid = Kids.Exiting(out int fd, 2);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            ShouldFailWith(pdwait4(fd, out int status, (PdWaitOptions)options, out _), Errno.EINVAL);
            status.ShouldBe(0);
            Processes.State(pid).ShouldBe('Z', "a refused call reaps nothing");
            pdwait4(fd, out status, PdWaitOptions.None, out _).ShouldBe(pid);
            WEXITSTATUS(status).ShouldBe(2);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, CancelAfter(30_000)]
    [Contract("§4 blocking call while another thread reaps the same child: exactly one caller gets the status; the others -1, ECHILD")]
    public void Pdwait4_ConcurrentBlockingCallers_ExactlyOneGetsTheStatus_TheOthersECHILD(CancellationToken token)
    {
        for (int round = 0; round < 5; round++)
            OneRaceOfBlockedWait4s(token);
    }

    private static void OneRaceOfBlockedWait4s(CancellationToken token)
    {
        int pid = Kids.Sleeper(out int fd);
        var copies = new List<int> { fd, fd };
        try
        {
            for (int i = 0; i < 2; i++)
            {
                int copy = CLibc.dup(fd);
                copy.ShouldBeGreaterThanOrEqualTo(0);
                copies.Add(copy);
            }

            var waiters = copies.Select(copy => new BlockedWait4(copy)).ToArray();
            using var started = new CountdownEvent(waiters.Length);
            foreach (BlockedWait4 waiter in waiters)
                waiter.Start(started);
            started.Wait(token);
            foreach (BlockedWait4 waiter in waiters)
                waiter.Warmup.ShouldBe(0, "a WNOHANG call on the running child, made first by every waiter");

            if (OperatingSystem.IsLinux())
            {
                // Every waiter has entered its call and sleeps in the kernel (whatever it waits on).
                Kids.Eventually(() => waiters.All(w => w.Tid > 0 && Processes.State(w.Tid) == 'S'))
                    .ShouldBeTrue("every waiter blocks in pdwait4 before the child dies");
            }

            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            foreach (BlockedWait4 waiter in waiters)
                waiter.Join(token);

            waiters.Count(w => w.Result == pid).ShouldBe(1, Describe(waiters));
            BlockedWait4 winner = waiters.Single(w => w.Result == pid);
            WIFSIGNALED(winner.Status).ShouldBeTrue();
            WTERMSIG(winner.Status).ShouldBe(Signum.SIGKILL);
            foreach (BlockedWait4 loser in waiters.Where(w => w != winner))
            {
                loser.Result.ShouldBe(-1, Describe(waiters));
                loser.Canonical.ShouldBe(Errno.ECHILD, Describe(waiters));
                loser.Native.ShouldBe((int)Errno.ECHILD);
                loser.Status.ShouldBe(0);
            }
            Kids.ShouldBeReapedThroughTheLibrary(pid);
        }
        finally
        {
            // Killing first unblocks any waiter left behind by a failure.
            Kids.Cleanup(fd);
            foreach (int copy in copies.Skip(2))
                close(copy);
        }
    }

    // ---------------------------------------------------------------- §5 pdwait

    [Test, Contract("§5 success: 0 (not the pid); status, wrusage.self, siginfo (SIGCHLD, CLD_EXITED, pid, uid, status)")]
    public void Pdwait_OnAnExitedChild_ReturnsZero_AndFillsEverything()
    {
        int pid = Kids.Sh(out int fd, BurnThenExit3);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait(fd, out int status, PdWaitOptions.WEXITED, out WaitRusage usage, out PdSigInfo info).ShouldBe(0);

            WIFEXITED(status).ShouldBeTrue();
            WEXITSTATUS(status).ShouldBe(3);
            usage.Self.IsMissing.ShouldBeFalse();
            (usage.Self.UserTime + usage.Self.SystemTime).ShouldBeGreaterThan(TimeSpan.Zero, "the child burnt CPU");
            usage.Self.MaxRssKiB.ShouldBeGreaterThan(0);
            info.Signo.ShouldBe(Signum.SIGCHLD);
            info.Code.ShouldBe(PdSigInfo.CLD_EXITED);
            info.Pid.ShouldBe(pid);
            info.Uid.ShouldBe((int)getuid());
            info.Status.ShouldBe(3);
            Kids.ShouldBeReapedThroughTheLibrary(pid, "reaped");
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§5 success: siginfo code CLD_KILLED, status the signal")]
    public void Pdwait_OnAKilledChild_ReportsCLD_KILLED()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            pdwait(fd, out int status, PdWaitOptions.WEXITED, out WaitRusage usage, out PdSigInfo info).ShouldBe(0);

            WIFSIGNALED(status).ShouldBeTrue();
            WTERMSIG(status).ShouldBe(Signum.SIGKILL);
            WCOREDUMP(status).ShouldBeFalse();
            usage.Self.IsMissing.ShouldBeFalse();
            info.Signo.ShouldBe(Signum.SIGCHLD);
            info.Code.ShouldBe(PdSigInfo.CLD_KILLED);
            info.Pid.ShouldBe(pid);
            info.Uid.ShouldBe((int)getuid());
            info.Status.ShouldBe((int)Signum.SIGKILL);
            Kids.ShouldBeReapedThroughTheLibrary(pid);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§5 success: siginfo code CLD_DUMPED")]
    public void Pdwait_OnAChildThatDumpedCore_ReportsCLD_DUMPED()
    {
        DirectoryInfo dir = Directory.CreateTempSubdirectory("procdesc-core-");
        int fd = -1;
        try
        {
            int pid = pdfork(out fd, PD_CLOEXEC,
                PdChild.Exec(Kids.Shell, ["sh", "-c", "ulimit -c unlimited; kill -ABRT $$"]).WithWorkingDirectory(dir.FullName));
            pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
            Kids.WaitForExit(fd, 30_000).ShouldBeTrue();

            pdwait(fd, out int status, PdWaitOptions.WEXITED, out _, out PdSigInfo info).ShouldBe(0);
            WIFSIGNALED(status).ShouldBeTrue();
            // SIGABRT, not SIGQUIT: a shell runs background jobs with SIGQUIT ignored, and children keep that.
            WTERMSIG(status).ShouldBe(Signum.SIGABRT);
            WCOREDUMP(status).ShouldBeTrue();
            info.Signo.ShouldBe(Signum.SIGCHLD);
            info.Code.ShouldBe(PdSigInfo.CLD_DUMPED);
            info.Pid.ShouldBe(pid);
            info.Status.ShouldBe((int)Signum.SIGABRT);
            Kids.ShouldBeReapedThroughTheLibrary(pid);
        }
        finally
        {
            Kids.Cleanup(fd);
            dir.Delete(recursive: true);
        }
    }

    [Test, Contract("§5 success: siginfo code CLD_STOPPED / CLD_CONTINUED (WUNTRACED / WCONTINUED)")]
    public void Pdwait_ReportsCLD_STOPPED_AndCLD_CONTINUED_WithoutReaping()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, Signum.SIGSTOP).ShouldBe(0);
            Kids.Eventually(() => Processes.State(pid) == 'T').ShouldBeTrue("the child stops");

            pdwait(fd, out int status, PdWaitOptions.WUNTRACED, out _, out PdSigInfo info).ShouldBe(0);
            WIFSTOPPED(status).ShouldBeTrue();
            WSTOPSIG(status).ShouldBe(Signum.SIGSTOP);
            info.Signo.ShouldBe(Signum.SIGCHLD);
            info.Code.ShouldBe(PdSigInfo.CLD_STOPPED);
            info.Pid.ShouldBe(pid);
            info.Uid.ShouldBe((int)getuid());
            info.Status.ShouldBe((int)Signum.SIGSTOP);
            Processes.State(pid).ShouldBe('T', "a stop report does not reap");

            pdkill(fd, Signum.SIGCONT).ShouldBe(0);
            pdwait(fd, out status, PdWaitOptions.WCONTINUED, out _, out info).ShouldBe(0);
            WIFCONTINUED(status).ShouldBeTrue();
            info.Signo.ShouldBe(Signum.SIGCHLD);
            info.Code.ShouldBe(PdSigInfo.CLD_CONTINUED);
            info.Pid.ShouldBe(pid);
            info.Uid.ShouldBe((int)getuid());
            info.Status.ShouldBe((int)Signum.SIGCONT);
            Kids.Eventually(() => Processes.State(pid) is 'S' or 'R' or 'D').ShouldBeTrue("the child runs again, not reaped");

            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            pdwait(fd, out _, PdWaitOptions.WEXITED, out _, out info).ShouldBe(0);
            info.Code.ShouldBe(PdSigInfo.CLD_KILLED);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§5 success with WNOWAIT: reported, the child left waitable")]
    public void Pdwait_WithWNOWAIT_ReportsWithoutReaping()
    {
        int pid = Kids.Exiting(out int fd, 12);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            for (int i = 0; i < 2; i++)
            {
                pdwait(fd, out int status, PdWaitOptions.WEXITED | PdWaitOptions.WNOWAIT, out _, out PdSigInfo info).ShouldBe(0);
                WEXITSTATUS(status).ShouldBe(12);
                info.Code.ShouldBe(PdSigInfo.CLD_EXITED);
                info.Pid.ShouldBe(pid);
                info.Status.ShouldBe(12);
                Processes.State(pid).ShouldBe('Z', "WNOWAIT leaves the child waitable");
            }
            pdwait(fd, out int last, PdWaitOptions.WEXITED, out _, out PdSigInfo final).ShouldBe(0);
            WEXITSTATUS(last).ShouldBe(12);
            final.Pid.ShouldBe(pid);
            Kids.ShouldBeReapedThroughTheLibrary(pid);
            ShouldFailWith(pdwait(fd, out _, PdWaitOptions.WEXITED, out _, out _), Errno.ESRCH);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [TestCase(PdWaitOptions.None)]
    [TestCase(PdWaitOptions.WNOHANG)]
    [TestCase(PdWaitOptions.WNOWAIT)]
    [TestCase(PdWaitOptions.WNOHANG | PdWaitOptions.WNOWAIT)]
    [Contract("§5 options contain none of WEXITED, WUNTRACED, WCONTINUED, WTRAPPED: -1, EINVAL (WEXITED is not implied)")]
    public void Pdwait_WithoutAReportingOption_FailsWithEINVAL(PdWaitOptions options)
    {
        int pid = Kids.Exiting(out int fd, 1);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            ShouldFailWith(pdwait(fd, out int status, options, out _, out PdSigInfo info), Errno.EINVAL);
            status.ShouldBe(0);
            info.ShouldBe(default);
            Processes.State(pid).ShouldBe('Z', "a refused call reaps nothing");
            pdwait(fd, out status, PdWaitOptions.WEXITED, out _, out _).ShouldBe(0);
            WEXITSTATUS(status).ShouldBe(1);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [TestCase(64)]
    [TestCase(128)]
    [TestCase(1 << 20)]
    [TestCase(0x01000000)] // Linux's WNOWAIT
    [TestCase(0x40000000)] // Linux's __WALL
    [TestCase(int.MinValue)]
    [Contract("§5 unknown option bits: -1, EINVAL")]
    public void Pdwait_WithUnknownOptionBits_FailsWithEINVAL_AndReapsNothing(int bits)
    {
        int pid = Kids.Exiting(out int fd, 2);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            ShouldFailWith(pdwait(fd, out _, (PdWaitOptions)bits | PdWaitOptions.WEXITED, out _, out _), Errno.EINVAL);
            ShouldFailWith(pdwait(fd, out _, (PdWaitOptions)bits, out _, out _), Errno.EINVAL);
            Processes.State(pid).ShouldBe('Z', "a refused call reaps nothing");
            pdwait(fd, out int status, PdWaitOptions.WEXITED, out _, out _).ShouldBe(0);
            WEXITSTATUS(status).ShouldBe(2);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [TestCase(PdWaitOptions.WNOHANG | PdWaitOptions.WEXITED)]
    [TestCase(PdWaitOptions.WNOHANG | PdWaitOptions.WUNTRACED)]
    [TestCase(PdWaitOptions.WNOHANG | PdWaitOptions.WEXITED | PdWaitOptions.WUNTRACED | PdWaitOptions.WCONTINUED)]
    [Contract("§5 WNOHANG and the child still running: -1, EWOULDBLOCK (= EAGAIN)")]
    public void Pdwait_WithWNOHANG_OnARunningChild_FailsWithEWOULDBLOCK(PdWaitOptions options)
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            ShouldFailWith(pdwait(fd, out int status, options, out _, out PdSigInfo info), Errno.EAGAIN);
            GetLastError().ShouldBe(Errno.EWOULDBLOCK);
            status.ShouldBe(0);
            info.ShouldBe(default);
            Processes.State(pid).ShouldNotBeNull();
            Processes.State(pid).ShouldNotBe('Z');
            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            pdwait(fd, out _, PdWaitOptions.WEXITED, out _, out info).ShouldBe(0);
            info.Code.ShouldBe(PdSigInfo.CLD_KILLED);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [TestCase(PdWaitOptions.WEXITED)]
    [TestCase(PdWaitOptions.WEXITED | PdWaitOptions.WNOHANG)]
    [TestCase(PdWaitOptions.WEXITED | PdWaitOptions.WUNTRACED | PdWaitOptions.WCONTINUED)]
    [Contract("§5 already reaped through the library: -1, ESRCH")]
    public void Pdwait_AfterAReapThroughTheLibrary_FailsWithESRCH(PdWaitOptions options)
    {
        // Reaped by pdwait4 (Kids.Reaped); asked through the descriptor and through a dup'ed copy.
        Kids.Reaped(out int fd, 6);
        int copy = CLibc.dup(fd);
        try
        {
            copy.ShouldBeGreaterThanOrEqualTo(0);
            ShouldFailWith(pdwait(fd, out int status, options, out _, out PdSigInfo info), Errno.ESRCH);
            status.ShouldBe(0);
            info.ShouldBe(default);
            ShouldFailWith(pdwait(copy, out _, options, out _, out _), Errno.ESRCH);
            ShouldFailWith(pdwait(fd, out _, options, out _, out _), Errno.ESRCH);
        }
        finally
        {
            close(copy);
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§5 already reaped through the library (a previous pdwait through a duplicate): -1, ESRCH")]
    public void Pdwait_AfterAPdwaitThroughADuplicate_FailsWithESRCH()
    {
        int pid = Kids.Exiting(out int fd, 9);
        int copy = CLibc.dup(fd);
        try
        {
            copy.ShouldBeGreaterThanOrEqualTo(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait(copy, out int status, PdWaitOptions.WEXITED, out _, out PdSigInfo info).ShouldBe(0);
            info.Pid.ShouldBe(pid);
            WEXITSTATUS(status).ShouldBe(9);
            ShouldFailWith(pdwait(fd, out status, PdWaitOptions.WEXITED, out _, out info), Errno.ESRCH);
            status.ShouldBe(0);
            info.ShouldBe(default);
            ShouldFailWith(pdwait(copy, out _, PdWaitOptions.WEXITED | PdWaitOptions.WNOHANG, out _, out _), Errno.ESRCH);
        }
        finally
        {
            close(copy);
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§5 reaped outside the library (waitpid(pid)): Linux §10 L1, the kept status once, else -1, ESRCH"), Contract("§10 L1")]
    [OnlyOn("Linux")]
    public unsafe void Linux_Pdwait_AfterAnOutsideWaitpid_ReturnsTheKeptStatusOnce_ThenESRCH()
    {
        int pid = Kids.Exiting(out int fd, 13);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            int raw;
            CLibc.waitpid(pid, &raw, 0).ShouldBe(pid);
            Processes.State(pid).ShouldBeNull();
            if (!Kernel.KeepsExitStatus)
            {
                // Before Linux 6.15 the kernel keeps nothing once another waiter reaped the child.
                ShouldFailWith(pdwait(fd, out int lost, PdWaitOptions.WEXITED, out _, out PdSigInfo none), Errno.ESRCH);
                lost.ShouldBe(0);
                none.ShouldBe(default);
                return;
            }

            pdwait(fd, out int status, PdWaitOptions.WEXITED, out WaitRusage usage, out PdSigInfo info).ShouldBe(0);
            status.ShouldBe(raw);
            WEXITSTATUS(status).ShouldBe(13);
            usage.Self.IsMissing.ShouldBeTrue("the kernel kept no rusage");
            usage.Self.UserTime.ShouldBe(TimeSpan.Zero);
            usage.Self.MaxRssKiB.ShouldBe(0);
            info.Signo.ShouldBe(Signum.SIGCHLD);
            info.Code.ShouldBe(PdSigInfo.CLD_EXITED);
            info.Pid.ShouldBe(pid);
            info.Uid.ShouldBe((int)getuid());
            info.Status.ShouldBe(13);

            ShouldFailWith(pdwait(fd, out status, PdWaitOptions.WEXITED, out _, out info), Errno.ESRCH);
            status.ShouldBe(0);
            info.ShouldBe(default);
            ShouldFailWith(pdwait(fd, out _, PdWaitOptions.WEXITED | PdWaitOptions.WNOHANG, out _, out _), Errno.ESRCH);
        }
        finally
        {
            close(fd);
        }
    }

    [Test, Contract("§5 reaped outside the library (waitpid(pid)): Linux §10 L1, a kept death by signal"), Contract("§10 L1")]
    [OnlyOn("Linux")]
    public unsafe void Linux_Pdwait_AfterAnOutsideWaitpid_ReturnsAKeptSignal()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            int raw;
            CLibc.waitpid(pid, &raw, 0).ShouldBe(pid);
            if (!Kernel.KeepsExitStatus)
            {
                ShouldFailWith(pdwait(fd, out _, PdWaitOptions.WEXITED, out _, out _), Errno.ESRCH);
                return;
            }

            pdwait(fd, out int status, PdWaitOptions.WEXITED, out WaitRusage usage, out PdSigInfo info).ShouldBe(0);
            WTERMSIG(status).ShouldBe(Signum.SIGKILL);
            usage.Self.IsMissing.ShouldBeTrue();
            info.Code.ShouldBe(PdSigInfo.CLD_KILLED);
            info.Pid.ShouldBe(pid);
            info.Status.ShouldBe((int)Signum.SIGKILL);
            ShouldFailWith(pdwait(fd, out _, PdWaitOptions.WEXITED, out _, out _), Errno.ESRCH);
        }
        finally
        {
            close(fd);
        }
    }

    [Test, Contract("§5 reaped outside the library (waitpid(pid)): FreeBSD -1, ESRCH")]
    [OnlyOn("FreeBSD")]
    public unsafe void FreeBsd_Pdwait_AfterAnOutsideWaitpid_FailsWithESRCH()
    {
        int pid = Kids.Exiting(out int fd, 13);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            int raw;
            CLibc.waitpid(pid, &raw, 0).ShouldBe(pid);
            ShouldFailWith(pdwait(fd, out _, PdWaitOptions.WEXITED, out _, out _), Errno.ESRCH);
        }
        finally
        {
            close(fd);
        }
    }

    [Test, Contract("§5 fd not open: -1, EBADF")]
    public void Pdwait_OnADescriptorThatIsNotOpen_FailsWithEBADF()
    {
        foreach (int fd in NumbersNotOpen())
        {
            ShouldFailWith(pdwait(fd, out int status, PdWaitOptions.WEXITED, out _, out PdSigInfo info), Errno.EBADF);
            status.ShouldBe(0);
            info.ShouldBe(default);
            ShouldFailWith(pdwait(fd, out _, PdWaitOptions.WEXITED | PdWaitOptions.WNOHANG, out _, out _), Errno.EBADF);
        }
    }

    [Test, Contract("§5 fd open but not a procdesc (pipe, regular file, socket): -1, EINVAL")]
    public void Pdwait_OnADescriptorThatIsNotAProcdesc_FailsWithEINVAL()
    {
        var descriptors = OpenNonProcdescs();
        try
        {
            foreach (var (what, fd) in descriptors)
            {
                ShouldFailWith(pdwait(fd, out int status, PdWaitOptions.WEXITED, out _, out _), Errno.EINVAL, what);
                status.ShouldBe(0);
                ShouldFailWith(pdwait(fd, out _, PdWaitOptions.WEXITED | PdWaitOptions.WNOHANG, out _, out _), Errno.EINVAL, what);
            }
        }
        finally
        {
            foreach (var (_, fd) in descriptors)
                CLibc.close(fd);
        }
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Checks a C-style failure: -1, the canonical errno and the host's number. Call it
    /// directly on the call's result, so nothing runs in between to change errno.</summary>
    private static void ShouldFailWith(int result, Errno expected, string? what = null)
    {
        int native = Marshal.GetLastPInvokeError();
        Errno canonical = GetLastError();
        result.ShouldBe(-1, what);
        canonical.ShouldBe(expected, what);
        native.ShouldBe(NativeErrno(expected), what);
    }

    /// <summary>The host's number for an errno (only EAGAIN among those used here differs).</summary>
    private static int NativeErrno(Errno errno) =>
        OperatingSystem.IsFreeBSD() && errno == Errno.EAGAIN ? 35 : (int)errno;

    /// <summary>Descriptor numbers that name nothing: negative, huge, and one just closed.</summary>
    private static int[] NumbersNotOpen()
    {
        int closed = CLibc.dup(2);
        closed.ShouldBeGreaterThanOrEqualTo(0);
        CLibc.close(closed).ShouldBe(0);
        return [-1, int.MinValue, 1 << 20, int.MaxValue, closed];
    }

    /// <summary>Open descriptors of every kind that is not a process descriptor; the caller closes them.</summary>
    private static List<(string What, int Fd)> OpenNonProcdescs()
    {
        var (read, write) = CLibc.Pipe();
        var (a, b) = CLibc.SocketPair();
        int file = CLibc.open("/etc/passwd", CLibc.O_RDONLY | CLibc.O_CLOEXEC, 0);
        var result = new List<(string, int)>
        {
            ("pipe (read end)", read), ("pipe (write end)", write), ("socket", a), ("socket (peer)", b),
        };
        if (file >= 0)
            result.Add(("regular file", file));
        file.ShouldBeGreaterThanOrEqualTo(0, "open(/etc/passwd)");
        return result;
    }

    private static string Describe(IEnumerable<BlockedWait4> waiters) =>
        string.Join("; ", waiters.Select(w => $"fd {w.Fd}: {w.Result} ({w.Canonical})"));

    [LibraryImport("libc")]
    private static partial uint getuid();

}
