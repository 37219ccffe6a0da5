using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>Contract §3: pdkill.</summary>
[Contract("§3")]
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class PdKillTests
{
    [TestCase(-1), TestCase(65), TestCase(129), TestCase(0xFFFF), TestCase(int.MinValue)]
    [Contract("§3 signal number < 0 or above the system's maximum")]
    public void BadSignals_AreEINVAL_CheckedBeforeTheDescriptor(int signal)
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, signal).ShouldBe(-1);
            GetLastError().ShouldBe(Errno.EINVAL);
            pdkill(-1, signal).ShouldBe(-1);
            GetLastError().ShouldBe(Errno.EINVAL, "EINVAL even with a bad descriptor");
            pdkill(fd, (Signum)signal).ShouldBe(-1);
            GetLastError().ShouldBe(Errno.EINVAL);
            Processes.State(pid).ShouldNotBe('Z');
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§3 fd not open / not a procdesc")]
    public void DescriptorsThatAreNoProcdesc_AreEBADF()
    {
        using var others = new OtherDescriptors();
        foreach (int fd in others.All.Concat([-1, 1 << 30, 9999]))
        {
            pdkill(fd, Signum.SIGTERM).ShouldBe(-1, $"fd {fd}");
            GetLastError().ShouldBe(Errno.EBADF);
        }
    }

    [Test, Contract("§3 child running: the signal is delivered to that process")]
    public void ARunningChild_GetsTheSignal()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, Signum.SIGTERM).ShouldBe(0);
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WIFSIGNALED(status).ShouldBeTrue();
            WTERMSIG(status).ShouldBe(Signum.SIGTERM);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§3 child running: canonical signals are translated")]
    public void CanonicalSignals_ReachTheChildAsThatSignal()
    {
        // The child traps USR2 and exits with a code naming it; anything else would kill it.
        int pid = Kids.Sh(out int fd, "trap 'exit 12' USR2; while :; do sleep 0.05; done");
        try
        {
            // Wait until the shell has installed its trap (SIGUSR2 is 12: bit 11 of SigCgt).
            Kids.Eventually(() => (Convert.ToUInt64(StatusField(pid, "SigCgt:"), 16) & (1UL << 11)) != 0).ShouldBeTrue();
            pdkill(fd, Signum.SIGUSR2).ShouldBe(0);
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WIFEXITED(status).ShouldBeTrue();
            WEXITSTATUS(status).ShouldBe(12);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§3 numbers Signum cannot name (realtime)")]
    public void RealtimeSignals_ByNativeNumber()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, 40).ShouldBe(0);
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WTERMSIG(status).ShouldBe((Signum)40);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§3 signal 0: permission check only")]
    public void SignalZero_SendsNothing()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, 0).ShouldBe(0);
            pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _).ShouldBe(0);
            Processes.State(pid).ShouldNotBeNull();
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§3 child exited, not yet reaped (zombie)")]
    public void AZombie_IsANoOp()
    {
        int pid = Kids.Exiting(out int fd, 3);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            Processes.State(pid).ShouldBe('Z');
            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WEXITSTATUS(status).ShouldBe(3, "the exit status, not the signal");
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§3 child already reaped")]
    public unsafe void AfterReap_ESRCH_WhoeverReapedIt()
    {
        Kids.Reaped(out int byLibrary);
        pdkill(byLibrary, Signum.SIGTERM).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.ESRCH);
        close(byLibrary);

        int pid = Kids.Exiting(out int byWaitpid, 0);
        int status;
        CLibc.waitpid(pid, &status, 0).ShouldBe(pid);
        pdkill(byWaitpid, 0).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.ESRCH);
        close(byWaitpid);
    }

    [Test, NonParallelizable, Contract("§3 child already reaped: ESRCH even if its pid now belongs to another process")]
    public void AfterReap_ARecycledPidIsNeverSignalled()
    {
        int oldPid = Kids.Reaped(out int oldFd);
        int newFd = -1;
        try
        {
            // Make the kernel hand the same pid out again (root: ns_last_pid), and retry if
            // another process on the machine takes it first.
            int newPid = 0;
            for (int attempt = 0; attempt < 20 && newPid != oldPid; attempt++)
            {
                if (newFd >= 0) Kids.Cleanup(newFd);
                File.WriteAllText("/proc/sys/kernel/ns_last_pid", (oldPid - 1).ToString());
                newPid = Kids.Sleeper(out newFd);
                if (Kids.ZombieUntilLastClose)
                    break;
            }
            if (Kids.ZombieUntilLastClose)
                newPid.ShouldNotBe(oldPid, "without pidfs the kept zombie holds the pid while its descriptor is open (N1)");
            else
                newPid.ShouldBe(oldPid, "the pid was recycled");

            pdkill(oldFd, Signum.SIGKILL).ShouldBe(-1);
            GetLastError().ShouldBe(Errno.ESRCH);
            pdgetpid(oldFd, out int cached).ShouldBe(0);
            cached.ShouldBe(oldPid);
            pdwait4(oldFd, out _, PdWaitOptions.WNOHANG, out _).ShouldBe(-1);
            GetLastError().ShouldBe(Errno.ECHILD);
            Processes.State(newPid).ShouldBeOneOf(['S', 'R', 'D'], "the new owner of the pid was not touched");
        }
        finally
        {
            Kids.Cleanup(newFd);
            close(oldFd);
        }
    }

    [Test, NonParallelizable, Contract("§3 caller lacks permission (other user)")]
    public void AnotherUsersChild_EPERM_WhenTheCallerIsUnprivileged()
    {
        // The child runs as nobody; the calling thread drops to another uid (Linux credentials are
        // per thread at the system-call level, and the saved uid 0 lets it come back).
        int pid = Kids.Sh(out int fd, "exec /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups /bin/sleep 60");
        try
        {
            Kids.Eventually(() => StatusField(pid, "Uid:").StartsWith("65534", StringComparison.Ordinal)).ShouldBeTrue();
            int result = 0;
            Errno errno = 0;
            var thread = new Thread(() =>
            {
                Credentials.SetResUid(1000, 1000, 0).ShouldBe(0);
                try
                {
                    result = pdkill(fd, Signum.SIGTERM);
                    errno = GetLastError();
                }
                finally
                {
                    Credentials.SetResUid(0, 0, 0).ShouldBe(0);
                }
            });
            thread.Start();
            thread.Join();
            result.ShouldBe(-1);
            errno.ShouldBe(Errno.EPERM);
            Processes.State(pid).ShouldBeOneOf('S', 'R', 'D'); // alive (D: briefly in uninterruptible I/O)
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    internal static string StatusField(int pid, string key) =>
        File.ReadAllText($"/proc/{pid}/status").Split('\n').First(l => l.StartsWith(key, StringComparison.Ordinal))[key.Length..].Trim();
}
