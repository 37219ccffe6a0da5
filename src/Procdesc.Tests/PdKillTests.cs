using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Contract §3, pdkill, where only Linux can show it: a signal number Signum cannot name, a pid the
/// kernel hands out again, credentials dropped by one thread only. The cross-OS rows are compat-tests.
/// </summary>
[Contract("§3")]
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class PdKillTests
{
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

            Expect.ShouldFailWith(pdkill(oldFd, Signum.SIGKILL), Errno.ESRCH);
            pdgetpid(oldFd, out int cached).ShouldBe(0);
            cached.ShouldBe(oldPid);
            Expect.ShouldFailWith(pdwait4(oldFd, out _, PdWaitOptions.WNOHANG, out _), Errno.ECHILD);
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
        // The child runs as nobody; only the calling thread drops to another uid (Linux credentials
        // are per thread at the system-call level, and the saved uid 0 lets it come back). So the
        // library must signal from the caller's thread, with the caller's credentials: the
        // conformance row drops them for the whole process, which cannot tell.
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

    private static string StatusField(int pid, string key) =>
        File.ReadAllText($"/proc/{pid}/status").Split('\n').First(l => l.StartsWith(key, StringComparison.Ordinal))[key.Length..].Trim();
}
