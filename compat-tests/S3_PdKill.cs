using Procdesc.Compat.Tests.Support;

namespace Procdesc.Compat.Tests;

/// <summary>Contract §3: pdkill.</summary>
public partial class Conformance
{
    /// <summary>The host's largest signal number (FreeBSD 128, Linux 64).</summary>
    private static int MaxSignal => OperatingSystem.IsFreeBSD() ? 128 : 64;

    [Test]
    [Row("§3", 1, "signal number < 0 or above the system's maximum",
        "-1, EINVAL — checked before the descriptor (so a bad fd with a bad signal is EINVAL)")]
    public void S3_SignalBelowZeroOrAboveTheMaximum_EINVAL_BeforeTheDescriptor()
    {
        int pid = Kids.Sleeper(out int fd);
        var others = OpenNonProcdescs();
        try
        {
            int[] notOpen = NumbersNotOpen();
            // 129 is above both systems' maximum.
            foreach (int signal in new[] { -1, MaxSignal + 1, 129, 0xFFFF, int.MinValue, int.MaxValue })
            {
                ShouldFailWith(pdkill(fd, signal), Errno.EINVAL, $"signal {signal}");
                ShouldFailWith(pdkill(fd, (Signum)signal), Errno.EINVAL, $"signal {signal} as a Signum");
                foreach (int number in notOpen)
                    ShouldFailWith(pdkill(number, signal), Errno.EINVAL, $"signal {signal}, fd {number} (not open)");
                foreach (var (what, other) in others)
                    ShouldFailWith(pdkill(other, signal), Errno.EINVAL, $"signal {signal}, {what}");
            }
            Kids.IsRunning(pid).ShouldBeTrue("nothing was sent");
            pdkill(fd, MaxSignal).ShouldBe(0, "the maximum itself is a valid signal");
        }
        finally
        {
            CloseAll(others);
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§3", 2, "fd not open / not a procdesc", "-1, EBADF")]
    public void S3_FdNotOpenOrNotAProcdesc_EBADF()
    {
        var descriptors = OpenNonProcdescs();
        try
        {
            foreach (var (what, fd) in descriptors)
                ShouldFailWith(pdkill(fd, Signum.SIGTERM), Errno.EBADF, what);
            foreach (int fd in NumbersNotOpen())
            {
                ShouldFailWith(pdkill(fd, Signum.SIGTERM), Errno.EBADF, $"fd {fd}");
                ShouldFailWith(pdkill(fd, 0), Errno.EBADF, $"fd {fd}, signal 0");
            }
        }
        finally
        {
            CloseAll(descriptors);
        }
    }

    [Test]
    [Row("§3", 3, "child running", "0, the signal is delivered to that process and never to another one")]
    public void S3_ChildRunning_TheSignalReachesThatChildOnly()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            using var other = EchoChild.Start();
            pdkill(fd, Signum.SIGTERM).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WIFSIGNALED(status).ShouldBeTrue();
            WTERMSIG(status).ShouldBe(Signum.SIGTERM);

            pdwait4(other.Fd, out _, PdWaitOptions.WNOHANG, out _).ShouldBe(0, "the other child got nothing");
            other.Answers().ShouldBeTrue("the other child still runs");
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§3", 4, "signal 0", "0, permission check only, nothing sent")]
    public void S3_SignalZero_PermissionCheckOnly()
    {
        using var child = EchoChild.Start();
        pdkill(child.Fd, 0).ShouldBe(0);
        pdwait4(child.Fd, out _, PdWaitOptions.WNOHANG | PdWaitOptions.WUNTRACED | PdWaitOptions.WCONTINUED, out _).ShouldBe(0);
        child.Answers().ShouldBeTrue("nothing reached the child");
    }

    [Test]
    [Row("§3", 5, "child exited, not yet reaped (zombie)", "0, no-op")]
    public void S3_Zombie_NoOp()
    {
        int pid = Kids.Zombie(out int fd, 3);
        try
        {
            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            pdkill(fd, 0).ShouldBe(0);
            CLibc.IsZombieChild(pid).ShouldBeTrue("still a zombie: nothing was reaped");
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WIFEXITED(status).ShouldBeTrue("the exit status, not the signal");
            WEXITSTATUS(status).ShouldBe(3);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§3", 6, "child already reaped (by pdwait4, pdwait, waitpid, or the library)",
        "-1, ESRCH — even if its pid number now belongs to another process (checked after pdwait4, pdwait and waitpid(pid); a pid cannot be made to recycle portably, so the reuse case is not forced here)")]
    public unsafe void S3_AlreadyReaped_ESRCH()
    {
        Kids.Reaped(out int byPdwait4);
        try
        {
            ShouldFailWith(pdkill(byPdwait4, Signum.SIGTERM), Errno.ESRCH, "after pdwait4");
            ShouldFailWith(pdkill(byPdwait4, 0), Errno.ESRCH, "after pdwait4, signal 0");
        }
        finally
        {
            Kids.Cleanup(byPdwait4);
        }

        int pid = Kids.Zombie(out int byPdwait, 0);
        try
        {
            pdwait(byPdwait, out _, PdWaitOptions.WEXITED, out _, out _).ShouldBe(0);
            Kids.ShouldBeReapedThroughTheLibrary(pid);
            ShouldFailWith(pdkill(byPdwait, Signum.SIGKILL), Errno.ESRCH, "after pdwait");
        }
        finally
        {
            Kids.Cleanup(byPdwait);
        }

        pid = Kids.Zombie(out int byWaitpid, 0);
        try
        {
            if (Kids.ReapedByWaitpid(pid, out _))
            {
                ShouldFailWith(pdkill(byWaitpid, Signum.SIGKILL), Errno.ESRCH, "after waitpid(pid)");
                ShouldFailWith(pdkill(byWaitpid, 0), Errno.ESRCH, "after waitpid(pid), signal 0");
            }
        }
        finally
        {
            Kids.Cleanup(byWaitpid);
        }
    }

    [Test]
    [Row("§3", 7, "caller lacks permission (other user)",
        "-1, EPERM (the child runs as uid 65534; the caller drops to uid 54321 for the call: needs root)")]
    public void S3_CallerLacksPermission_EPERM()
    {
        if (CLibc.geteuid() != 0)
        {
            // Without root no process of another user can be made: check the half that is left.
            using var own = EchoChild.Start();
            pdkill(own.Fd, 0).ShouldBe(0, "the caller's own child: permitted");
            Report.Note("partial: not root, so no child of another user could be made; only the permitted case was checked");
            return;
        }
        int fd = -1;
        try
        {
            int pid;
            using (AsUser.Become(real: Nobody, effective: Nobody, saved: 0, group: Nobody))
                pid = Kids.Sleeper(out fd);
            Kids.IsRunning(pid).ShouldBeTrue();

            int result, errno;
            using (AsUser.Become(real: 54321, effective: 54321, saved: 0, group: null))
            {
                result = pdkill(fd, Signum.SIGTERM);
                errno = (int)GetLastError();
            }
            result.ShouldBe(-1);
            ((Errno)errno).ShouldBe(Errno.EPERM);
            Kids.IsRunning(pid).ShouldBeTrue("nothing was delivered");
            pdkill(fd, Signum.SIGTERM).ShouldBe(0, "root again: permitted");
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WTERMSIG(status).ShouldBe(Signum.SIGTERM);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    private const uint Nobody = 65534;

    /// <summary>
    /// This whole process runs with other ids for a moment (setresgid/setresuid: process-wide on
    /// both systems). The saved uid stays 0, so Dispose can return to root.
    /// </summary>
    private sealed class AsUser : IDisposable
    {
        private readonly bool _group;

        private AsUser(bool group) => _group = group;

        internal static AsUser Become(uint real, uint effective, uint saved, uint? group)
        {
            if (group is uint gid)
                CLibc.setresgid(gid, gid, 0).ShouldBe(0, $"setresgid: errno {CLibc.Errno}");
            CLibc.setresuid(real, effective, saved).ShouldBe(0, $"setresuid: errno {CLibc.Errno}");
            return new AsUser(group is not null);
        }

        /// <summary>Only the real ids change; the effective ids stay root's.</summary>
        internal static AsUser BecomeReal(uint uid, uint gid)
        {
            CLibc.setresgid(gid, 0, 0).ShouldBe(0, $"setresgid: errno {CLibc.Errno}");
            CLibc.setresuid(uid, 0, 0).ShouldBe(0, $"setresuid: errno {CLibc.Errno}");
            return new AsUser(true);
        }

        public void Dispose()
        {
            CLibc.setresuid(0, 0, 0).ShouldBe(0, $"back to root: errno {CLibc.Errno}");
            if (_group)
                CLibc.setresgid(0, 0, 0).ShouldBe(0, $"back to group 0: errno {CLibc.Errno}");
        }
    }
}
