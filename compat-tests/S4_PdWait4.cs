using Procdesc.Compat.Tests.Support;

namespace Procdesc.Compat.Tests;

/// <summary>Contract §4: pdwait4, the wait4-shaped call.</summary>
public partial class Conformance
{
    /// <summary>A child that burns CPU in the shell for a while, then exits with 3.</summary>
    private const string BurnThenExit3 = "i=0; while [ $i -lt 40000 ]; do i=$((i+1)); done; exit 3";

    /// <summary>Option bits that are none of the contract's wait options: 0x01000000 and 0x40000000 are
    /// Linux's WNOWAIT and __WALL, the sign bit Linux's __WCLONE and FreeBSD's WLINUXCLONE.</summary>
    private static readonly int[] UnknownOptionBits = [64, 128, 1 << 20, 0x01000000, 0x40000000, int.MinValue];

    [Test]
    [Row("§4", 1, "child exited (zombie)",
        "the child's pid; status is a wait(2) status word; rusage filled (user/system time, maxrss, …); the child is reaped")]
    public void S4_ChildExited_ThePid_TheStatusWord_TheRusage_AndReaped()
    {
        int pid = Kids.Sh(out int fd, BurnThenExit3);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            CLibc.IsZombieChild(pid).ShouldBeTrue();

            pdwait4(fd, out int status, PdWaitOptions.None, out Rusage usage).ShouldBe(pid);

            status.ShouldBe(3 << 8, "the wait(2) status word of exit(3)");
            WIFEXITED(status).ShouldBeTrue();
            WEXITSTATUS(status).ShouldBe(3);
            WIFSIGNALED(status).ShouldBeFalse();
            WIFSTOPPED(status).ShouldBeFalse();
            usage.IsMissing.ShouldBeFalse();
            (usage.UserTime + usage.SystemTime).ShouldBeGreaterThan(TimeSpan.Zero, "the child burnt CPU");
            usage.MaxRssKiB.ShouldBeGreaterThan(0);
            Kids.ShouldBeReapedThroughTheLibrary(pid, "reaped by the call itself");
        }
        finally
        {
            Kids.Cleanup(fd);
        }

        // A death by signal is an exit too.
        pid = Kids.ZombieKilledBy(out fd, Signum.SIGKILL);
        try
        {
            pdwait4(fd, out int status, PdWaitOptions.None, out Rusage usage).ShouldBe(pid);
            WIFSIGNALED(status).ShouldBeTrue();
            WTERMSIG(status).ShouldBe(Signum.SIGKILL);
            WIFEXITED(status).ShouldBeFalse();
            WCOREDUMP(status).ShouldBeFalse("SIGKILL never dumps core");
            usage.IsMissing.ShouldBeFalse();
            Kids.ShouldBeReapedThroughTheLibrary(pid, "reaped by the call itself");
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§4", 2, "WEXITED", "implied, as for wait4 (an exit is reported whatever the options)")]
    public void S4_WEXITED_IsImplied()
    {
        foreach (PdWaitOptions options in new[]
        {
            PdWaitOptions.None, PdWaitOptions.WEXITED, PdWaitOptions.WNOHANG, PdWaitOptions.WNOHANG | PdWaitOptions.WEXITED,
            PdWaitOptions.WUNTRACED, PdWaitOptions.WCONTINUED,
        })
        {
            int pid = Kids.Zombie(out int fd, 42);
            try
            {
                pdwait4(fd, out int status, options, out _).ShouldBe(pid, options.ToString());
                WIFEXITED(status).ShouldBeTrue(options.ToString());
                WEXITSTATUS(status).ShouldBe(42, options.ToString());
                Kids.ShouldBeReapedThroughTheLibrary(pid, options.ToString());
            }
            finally
            {
                Kids.Cleanup(fd);
            }
        }
    }

    [Test]
    [Row("§4", 3, "WNOHANG and the child still running", "0; status 0 (and nothing is consumed)")]
    public void S4_WNOHANG_ChildRunning_Zero()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            foreach (PdWaitOptions options in new[] { PdWaitOptions.WNOHANG, PdWaitOptions.WNOHANG | PdWaitOptions.WEXITED,
                         PdWaitOptions.WNOHANG | PdWaitOptions.WUNTRACED | PdWaitOptions.WCONTINUED })
            {
                pdwait4(fd, out int status, options, out Rusage usage).ShouldBe(0, options.ToString());
                status.ShouldBe(0);
                usage.ShouldBe(default);
            }
            Kids.IsRunning(pid).ShouldBeTrue();
            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait4(fd, out int final, PdWaitOptions.None, out _).ShouldBe(pid);
            WTERMSIG(final).ShouldBe(Signum.SIGKILL);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§4", 4, "WUNTRACED / WCONTINUED", "report a stop / a continue (the child is not reaped)")]
    public void S4_WUNTRACEDAndWCONTINUED_ReportAStopAndAContinue_WithoutReaping()
    {
        int pid = Kids.Stopped(out int fd);
        try
        {
            pdwait4(fd, out int status, PdWaitOptions.WCONTINUED | PdWaitOptions.WNOHANG, out _).ShouldBe(0, "without WUNTRACED a stop is not reported");
            // The stop is there to report, so a blocking call returns at once.
            pdwait4(fd, out status, PdWaitOptions.WUNTRACED, out _).ShouldBe(pid, "the stop is reported");
            WIFSTOPPED(status).ShouldBeTrue();
            WSTOPSIG(status).ShouldBe(Signum.SIGSTOP);
            WIFEXITED(status).ShouldBeFalse();
            WIFSIGNALED(status).ShouldBeFalse();
            WIFCONTINUED(status).ShouldBeFalse();
            CLibc.Exists(pid).ShouldBeTrue("a stop report does not reap");
            CLibc.IsZombieChild(pid).ShouldBeFalse();
            pdwait4(fd, out _, PdWaitOptions.WUNTRACED | PdWaitOptions.WNOHANG, out _).ShouldBe(0, "one stop is reported once");

            pdkill(fd, Signum.SIGCONT).ShouldBe(0);
            Kids.Eventually(() => CLibc.IsContinuedChild(pid)).ShouldBeTrue("the child continues");
            pdwait4(fd, out _, PdWaitOptions.WUNTRACED | PdWaitOptions.WNOHANG, out _).ShouldBe(0, "without WCONTINUED a continue is not reported");
            Kids.Eventually(() => pdwait4(fd, out status, PdWaitOptions.WCONTINUED | PdWaitOptions.WNOHANG, out _) == pid)
                .ShouldBeTrue("the continue is reported");
            WIFCONTINUED(status).ShouldBeTrue();
            WIFSTOPPED(status).ShouldBeFalse();
            WIFEXITED(status).ShouldBeFalse();
            WIFSIGNALED(status).ShouldBeFalse();
            Kids.IsRunning(pid).ShouldBeTrue("a continue report does not reap");

            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait4(fd, out status, PdWaitOptions.None, out _).ShouldBe(pid, "the end is still this descriptor's to report");
            WTERMSIG(status).ShouldBe(Signum.SIGKILL);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§4", 5, "already reaped through the library (a previous pdwait4 or pdwait through any duplicate)",
        "-1, ECHILD — never the kept status again")]
    public void S4_AlreadyReapedThroughTheLibrary_ECHILD()
    {
        AfterAReapThroughACopy(5, (via, how) =>
        {
            foreach (PdWaitOptions options in new[] { PdWaitOptions.None, PdWaitOptions.WNOHANG, PdWaitOptions.WEXITED | PdWaitOptions.WUNTRACED | PdWaitOptions.WCONTINUED })
            {
                ShouldFailWith(pdwait4(via, out int status, options, out Rusage usage), Errno.ECHILD, $"{how}, {options}");
                status.ShouldBe(0);
                usage.ShouldBe(default);
            }
        });
    }

    [Test]
    [Row("§4", 6, "reaped outside the library (waitpid(pid), a foreign wait(-1), SIGCHLD ignored)",
        "FreeBSD: -1, ECHILD. Linux (§10 L1): the status the kernel kept, once (rusage marked missing), then -1, ECHILD; without PIDFD_INFO_EXIT, -1, ECHILD (checked with waitpid(pid); wait(-1) in §1)")]
    [LinuxDifference("L1")]
    public void S4_ReapedOutsideTheLibrary_ECHILD()
    {
        foreach (PdWaitOptions options in new[] { PdWaitOptions.None, PdWaitOptions.WEXITED, PdWaitOptions.WNOHANG })
        {
            int exited = Kids.Zombie(out int fd, 11);
            Pdwait4AfterAnOutsideWaitpid(exited, fd, options, status => WEXITSTATUS(status).ShouldBe(11, options.ToString()));
        }
        int killed = Kids.ZombieKilledBy(out int killedFd, Signum.SIGTERM);
        Pdwait4AfterAnOutsideWaitpid(killed, killedFd, PdWaitOptions.None, status => WTERMSIG(status).ShouldBe(Signum.SIGTERM));
    }

    /// <summary>
    /// The caller's waitpid(pid) reaps the zombie behind <paramref name="fd"/>; then pdwait4 with
    /// <paramref name="options"/> answers the status the kernel kept, once (Linux with
    /// PIDFD_INFO_EXIT, checked by <paramref name="checkTheStatus"/>), and -1, ECHILD after that
    /// (at once on FreeBSD). Closes the descriptor.
    /// </summary>
    private static void Pdwait4AfterAnOutsideWaitpid(int pid, int fd, PdWaitOptions options, Action<int> checkTheStatus)
    {
        string what = options.ToString();
        try
        {
            if (!Kids.ReapedByWaitpid(pid, out int raw))
            {
                // The helper parent's child (H2): waitpid could not reap it, so the library answers in full.
                pdwait4(fd, out int own, PdWaitOptions.None, out Rusage full).ShouldBe(pid);
                checkTheStatus(own);
                full.IsMissing.ShouldBeFalse();
                return;
            }
            CLibc.Exists(pid).ShouldBeFalse();
            if (OperatingSystem.IsLinux() && PidfdInfoExit)
            {
                pdwait4(fd, out int status, options, out Rusage usage).ShouldBe(pid, $"Linux (L1): the kept status, {what}");
                status.ShouldBe(raw, what);
                checkTheStatus(status);
                usage.IsMissing.ShouldBeTrue(what);
                usage.UserTime.ShouldBe(TimeSpan.Zero, what);
                usage.SystemTime.ShouldBe(TimeSpan.Zero, what);
                usage.MaxRssKiB.ShouldBe(0, what);
            }
            ShouldFailWith(pdwait4(fd, out int after, options, out _), Errno.ECHILD, what);
            after.ShouldBe(0, what);
            ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.None, out _), Errno.ECHILD, $"{what}, then without options");
            ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _), Errno.ECHILD, $"{what}, then WNOHANG");
        }
        finally
        {
            close(fd);
        }
    }

    [Test]
    [Row("§4", 7, "fd not open / not a procdesc", "-1, EBADF")]
    public void S4_FdNotOpenOrNotAProcdesc_EBADF()
    {
        foreach (int fd in NumbersNotOpen())
        {
            ShouldFailWith(pdwait4(fd, out int status, PdWaitOptions.None, out _), Errno.EBADF, $"fd {fd}");
            status.ShouldBe(0);
            ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _), Errno.EBADF, $"fd {fd}, WNOHANG");
        }
        var descriptors = OpenNonProcdescs();
        try
        {
            foreach (var (what, fd) in descriptors)
            {
                ShouldFailWith(pdwait4(fd, out int status, PdWaitOptions.None, out _), Errno.EBADF, what);
                status.ShouldBe(0, what);
                ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _), Errno.EBADF, what);
            }
        }
        finally
        {
            CloseAll(descriptors);
        }
    }

    [Test]
    [Row("§4", 8, "unknown option bits", "-1, EINVAL (and nothing is reaped)")]
    public void S4_UnknownOptionBits_EINVAL()
    {
        int pid = Kids.Zombie(out int fd, 2);
        try
        {
            foreach (int bits in UnknownOptionBits)
            {
                ShouldFailWith(pdwait4(fd, out int status, (PdWaitOptions)bits, out _), Errno.EINVAL, $"0x{bits:x}");
                status.ShouldBe(0);
                ShouldFailWith(pdwait4(fd, out _, (PdWaitOptions)bits | PdWaitOptions.WEXITED | PdWaitOptions.WNOHANG, out _), Errno.EINVAL, $"0x{bits:x} with valid bits");
            }
            CLibc.IsZombieChild(pid).ShouldBeTrue("a refused call reaps nothing");
            pdwait4(fd, out int final, PdWaitOptions.None, out _).ShouldBe(pid);
            WEXITSTATUS(final).ShouldBe(2);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, CancelAfter(60_000)]
    [Row("§4", 9, "blocking call while another thread reaps the same child",
        "exactly one caller gets the status; the others get -1, ECHILD (four threads on the descriptor and its dups, five rounds)")]
    public void S4_ConcurrentBlockingCalls_ExactlyOneGetsTheStatus(CancellationToken token)
    {
        for (int round = 0; round < 5; round++)
            Wait4Race.Round(round, token);
    }
}
