using Procdesc.Compat.Tests.Support;

namespace Procdesc.Compat.Tests;

/// <summary>Contract §5: pdwait, FreeBSD 15.1's call.</summary>
public partial class Conformance
{
    [Test]
    [Row("§5", 1, "success",
        "0 (not the pid); status, wrusage.self, siginfo (signo SIGCHLD, code CLD_EXITED / CLD_KILLED / CLD_DUMPED / CLD_STOPPED / CLD_CONTINUED, pid, uid, status) filled (CLD_DUMPED when the host dumps core, else CLD_KILLED, matching WCOREDUMP)")]
    public void S5_Success_ZeroAndEverythingFilled()
    {
        uint uid = CLibc.getuid();

        // CLD_EXITED, with the usage of a child that burnt CPU.
        int pid = Kids.Sh(out int fd, BurnThenExit3);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait(fd, out int status, PdWaitOptions.WEXITED, out WaitRusage usage, out PdSigInfo info).ShouldBe(0, "0, not the pid");
            WIFEXITED(status).ShouldBeTrue();
            WEXITSTATUS(status).ShouldBe(3);
            info.ShouldBe(new PdSigInfo(Signum.SIGCHLD, PdSigInfo.CLD_EXITED, pid, (int)uid, 3));
            usage.Self.IsMissing.ShouldBeFalse();
            (usage.Self.UserTime + usage.Self.SystemTime).ShouldBeGreaterThan(TimeSpan.Zero, "the child burnt CPU");
            usage.Self.MaxRssKiB.ShouldBeGreaterThan(0);
            Kids.ShouldBeReapedThroughTheLibrary(pid, "reaped");
        }
        finally
        {
            Kids.Cleanup(fd);
        }

        // CLD_STOPPED, CLD_CONTINUED, then CLD_KILLED.
        pid = Kids.Stopped(out fd);
        try
        {
            pdwait(fd, out int status, PdWaitOptions.WUNTRACED | PdWaitOptions.WNOHANG, out _, out PdSigInfo info).ShouldBe(0, "the stop is reported");
            WIFSTOPPED(status).ShouldBeTrue();
            WSTOPSIG(status).ShouldBe(Signum.SIGSTOP);
            info.ShouldBe(new PdSigInfo(Signum.SIGCHLD, PdSigInfo.CLD_STOPPED, pid, (int)uid, (int)Signum.SIGSTOP));
            CLibc.Exists(pid).ShouldBeTrue("a stop report does not reap");
            CLibc.IsZombieChild(pid).ShouldBeFalse();

            pdkill(fd, Signum.SIGCONT).ShouldBe(0);
            Kids.Eventually(() => pdwait(fd, out status, PdWaitOptions.WCONTINUED | PdWaitOptions.WNOHANG, out _, out info) == 0).ShouldBeTrue("the continue is reported");
            WIFCONTINUED(status).ShouldBeTrue();
            info.ShouldBe(new PdSigInfo(Signum.SIGCHLD, PdSigInfo.CLD_CONTINUED, pid, (int)uid, (int)Signum.SIGCONT));
            Kids.IsRunning(pid).ShouldBeTrue("stop and continue reports reap nothing");

            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait(fd, out status, PdWaitOptions.WEXITED, out WaitRusage usage, out info).ShouldBe(0);
            WIFSIGNALED(status).ShouldBeTrue();
            WTERMSIG(status).ShouldBe(Signum.SIGKILL);
            WCOREDUMP(status).ShouldBeFalse("SIGKILL never dumps core");
            info.ShouldBe(new PdSigInfo(Signum.SIGCHLD, PdSigInfo.CLD_KILLED, pid, (int)uid, (int)Signum.SIGKILL));
            usage.Self.IsMissing.ShouldBeFalse();
            Kids.ShouldBeReapedThroughTheLibrary(pid, "reaped");
        }
        finally
        {
            Kids.Cleanup(fd);
        }

        // A death that may dump core (SIGABRT): the child lifts its core size limit if it may;
        // whether a core is then written is the host's setting. Not SIGQUIT: a shell runs
        // background jobs with SIGQUIT ignored, and children keep that.
        string dir = Directory.CreateTempSubdirectory("procdesc-compat-").FullName;
        fd = -1;
        try
        {
            pid = pdfork(out fd, PD_CLOEXEC, PdChild.Exec(Kids.Shell, ["sh", "-c", "ulimit -c unlimited 2>/dev/null; kill -ABRT $$"]).WithWorkingDirectory(dir));
            pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait(fd, out int status, PdWaitOptions.WEXITED, out _, out PdSigInfo info).ShouldBe(0);
            WIFSIGNALED(status).ShouldBeTrue();
            WTERMSIG(status).ShouldBe(Signum.SIGABRT);
            int code = WCOREDUMP(status) ? PdSigInfo.CLD_DUMPED : PdSigInfo.CLD_KILLED;
            info.ShouldBe(new PdSigInfo(Signum.SIGCHLD, code, pid, (int)uid, (int)Signum.SIGABRT));
            Kids.ShouldBeReapedThroughTheLibrary(pid, "reaped");
        }
        finally
        {
            Kids.Cleanup(fd);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    [Row("§5", 2, "options contain none of WEXITED, WUNTRACED, WCONTINUED, WTRAPPED", "-1, EINVAL (WEXITED is not implied)")]
    public void S5_NoReportingOption_EINVAL()
    {
        int pid = Kids.Zombie(out int fd, 1);
        try
        {
            foreach (PdWaitOptions options in new[] { PdWaitOptions.None, PdWaitOptions.WNOHANG, PdWaitOptions.WNOWAIT, PdWaitOptions.WNOHANG | PdWaitOptions.WNOWAIT })
            {
                ShouldFailWith(pdwait(fd, out int status, options, out WaitRusage usage, out PdSigInfo info), Errno.EINVAL, options.ToString());
                status.ShouldBe(0);
                usage.ShouldBe(default);
                info.ShouldBe(default);
            }
            CLibc.IsZombieChild(pid).ShouldBeTrue("a refused call reaps nothing");
            pdwait(fd, out int final, PdWaitOptions.WEXITED, out _, out _).ShouldBe(0);
            WEXITSTATUS(final).ShouldBe(1);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§5", 3, "unknown option bits", "-1, EINVAL (and nothing is reaped)")]
    public void S5_UnknownOptionBits_EINVAL()
    {
        int pid = Kids.Zombie(out int fd, 2);
        try
        {
            foreach (int bits in UnknownOptionBits)
            {
                ShouldFailWith(pdwait(fd, out _, (PdWaitOptions)bits | PdWaitOptions.WEXITED, out _, out _), Errno.EINVAL, $"0x{bits:x} | WEXITED");
                ShouldFailWith(pdwait(fd, out _, (PdWaitOptions)bits, out _, out _), Errno.EINVAL, $"0x{bits:x}");
            }
            CLibc.IsZombieChild(pid).ShouldBeTrue("a refused call reaps nothing");
            pdwait(fd, out int final, PdWaitOptions.WEXITED, out _, out _).ShouldBe(0);
            WEXITSTATUS(final).ShouldBe(2);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§5", 4, "WNOHANG and the child still running",
        "-1, EWOULDBLOCK (= EAGAIN: canonical Errno.EAGAIN, host number 35 on FreeBSD, 11 on Linux)")]
    public void S5_WNOHANG_ChildRunning_EWOULDBLOCK()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            foreach (PdWaitOptions options in new[] { PdWaitOptions.WNOHANG | PdWaitOptions.WEXITED, PdWaitOptions.WNOHANG | PdWaitOptions.WUNTRACED,
                         PdWaitOptions.WNOHANG | PdWaitOptions.WEXITED | PdWaitOptions.WUNTRACED | PdWaitOptions.WCONTINUED })
            {
                ShouldFailWith(pdwait(fd, out int status, options, out _, out PdSigInfo info), Errno.EAGAIN, options.ToString());
                GetLastError().ShouldBe(Errno.EWOULDBLOCK);
                status.ShouldBe(0);
                info.ShouldBe(default);
            }
            Kids.IsRunning(pid).ShouldBeTrue();
            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait(fd, out _, PdWaitOptions.WEXITED, out _, out PdSigInfo final).ShouldBe(0);
            final.Code.ShouldBe(PdSigInfo.CLD_KILLED);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§5", 5, "already reaped through the library", "-1, ESRCH (after pdwait4 or pdwait, through any duplicate)")]
    public void S5_AlreadyReapedThroughTheLibrary_ESRCH()
    {
        AfterAReapThroughACopy(6, (via, how) =>
        {
            foreach (PdWaitOptions options in new[] { PdWaitOptions.WEXITED, PdWaitOptions.WEXITED | PdWaitOptions.WNOHANG,
                         PdWaitOptions.WEXITED | PdWaitOptions.WUNTRACED | PdWaitOptions.WCONTINUED })
            {
                ShouldFailWith(pdwait(via, out int status, options, out _, out PdSigInfo info), Errno.ESRCH, $"{how}, {options}");
                status.ShouldBe(0);
                info.ShouldBe(default);
            }
        });
    }

    [Test]
    [Row("§5", 6, "reaped outside the library",
        "FreeBSD: -1, ESRCH. Linux (§10 L1): the kept status, once (rusage marked missing), then -1, ESRCH; without PIDFD_INFO_EXIT, -1, ESRCH (checked with waitpid(pid))")]
    [LinuxDifference("L1")]
    public void S5_ReapedOutsideTheLibrary_ESRCH()
    {
        int exited = Kids.Zombie(out int fd, 13);
        PdwaitAfterAnOutsideWaitpid(exited, fd, PdSigInfo.CLD_EXITED, 13);
        int killed = Kids.ZombieKilledBy(out int killedFd, Signum.SIGKILL);
        PdwaitAfterAnOutsideWaitpid(killed, killedFd, PdSigInfo.CLD_KILLED, (int)Signum.SIGKILL);
    }

    /// <summary>
    /// The caller's waitpid(pid) reaps the zombie behind <paramref name="fd"/>; then pdwait answers
    /// the status the kernel kept, once (Linux with PIDFD_INFO_EXIT: siginfo code
    /// <paramref name="code"/>, status <paramref name="value"/>), and -1, ESRCH after that (at once
    /// on FreeBSD). Closes the descriptor.
    /// </summary>
    private static void PdwaitAfterAnOutsideWaitpid(int pid, int fd, int code, int value)
    {
        var expected = new PdSigInfo(Signum.SIGCHLD, code, pid, (int)CLibc.getuid(), value);
        try
        {
            if (!Kids.ReapedByWaitpid(pid, out int raw))
            {
                // The helper parent's child (H2): waitpid could not reap it, so the library answers in full.
                pdwait(fd, out int ownStatus, PdWaitOptions.WEXITED, out WaitRusage full, out PdSigInfo own).ShouldBe(0);
                own.ShouldBe(expected);
                StatusWordValue(ownStatus).ShouldBe(value, "the status word says the same");
                full.Self.IsMissing.ShouldBeFalse();
                return;
            }
            if (OperatingSystem.IsLinux() && PidfdInfoExit)
            {
                pdwait(fd, out int status, PdWaitOptions.WEXITED, out WaitRusage usage, out PdSigInfo info).ShouldBe(0, "Linux (L1): the kept status");
                status.ShouldBe(raw);
                StatusWordValue(status).ShouldBe(value, "the status word says the same");
                info.ShouldBe(expected);
                usage.Self.IsMissing.ShouldBeTrue();
                usage.Self.UserTime.ShouldBe(TimeSpan.Zero);
                usage.Self.MaxRssKiB.ShouldBe(0);
            }
            ShouldFailWith(pdwait(fd, out int after, PdWaitOptions.WEXITED, out _, out PdSigInfo none), Errno.ESRCH);
            after.ShouldBe(0);
            none.ShouldBe(default);
            ShouldFailWith(pdwait(fd, out _, PdWaitOptions.WEXITED | PdWaitOptions.WNOHANG, out _, out _), Errno.ESRCH);
        }
        finally
        {
            close(fd);
        }

        int StatusWordValue(int status) => code == PdSigInfo.CLD_EXITED ? WEXITSTATUS(status) : (int)WTERMSIG(status);
    }

    [Test]
    [Row("§5", 7, "fd not open", "-1, EBADF")]
    public void S5_FdNotOpen_EBADF()
    {
        foreach (int fd in NumbersNotOpen())
        {
            ShouldFailWith(pdwait(fd, out int status, PdWaitOptions.WEXITED, out _, out PdSigInfo info), Errno.EBADF, $"fd {fd}");
            status.ShouldBe(0);
            info.ShouldBe(default);
            ShouldFailWith(pdwait(fd, out _, PdWaitOptions.WEXITED | PdWaitOptions.WNOHANG, out _, out _), Errno.EBADF, $"fd {fd}, WNOHANG");
        }
    }

    [Test]
    [Row("§5", 8, "fd open but not a procdesc", "-1, EINVAL")]
    public void S5_FdOpenButNotAProcdesc_EINVAL()
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
            CloseAll(descriptors);
        }
    }

    [Test]
    [Row("§5", 9, "(extra) WNOWAIT", "reports the exit without reaping: the same report again, then a normal pdwait reaps")]
    public void S5_Extra_WNOWAIT_ReportsWithoutReaping()
    {
        int pid = Kids.Zombie(out int fd, 12);
        try
        {
            for (int i = 0; i < 2; i++)
            {
                pdwait(fd, out int status, PdWaitOptions.WEXITED | PdWaitOptions.WNOWAIT, out _, out PdSigInfo info).ShouldBe(0);
                WEXITSTATUS(status).ShouldBe(12);
                info.Code.ShouldBe(PdSigInfo.CLD_EXITED);
                info.Pid.ShouldBe(pid);
                info.Status.ShouldBe(12);
                CLibc.IsZombieChild(pid).ShouldBeTrue("WNOWAIT leaves the child waitable");
            }
            pdwait(fd, out int last, PdWaitOptions.WEXITED, out _, out PdSigInfo final).ShouldBe(0);
            WEXITSTATUS(last).ShouldBe(12);
            final.Pid.ShouldBe(pid);
            Kids.ShouldBeReapedThroughTheLibrary(pid);
            ShouldFailWith(pdwait(fd, out _, PdWaitOptions.WEXITED, out _, out _), Errno.ESRCH, "the normal pdwait reaped");
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }
}
