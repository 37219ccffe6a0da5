using System.Diagnostics;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Pidfds the library did not create (pidfd_open, received over a socket) and copies it did not
/// make: the calls answer for the process the descriptor names, as far as the kernel allows.
/// </summary>
[OnlyOn("Linux")]
public class ForeignDescriptorTests
{
    [Test, Contract("§2 procdesc: a pidfd_open copy of a library child")]
    public void APidfdOpenCopy_NamesTheSameChild()
    {
        int pid = Kids.Exiting(out int fd, 5);
        int copy = CLibc.pidfd_open(pid);
        try
        {
            copy.ShouldBeGreaterThanOrEqualTo(0);
            pdgetpid(copy, out int viaCopy).ShouldBe(0);
            viaCopy.ShouldBe(pid);
            Kids.WaitForExit(copy).ShouldBeTrue();
            pdwait4(copy, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WEXITSTATUS(status).ShouldBe(5);
            pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(-1, "reaped through the library via the copy");
            GetLastError().ShouldBe(Errno.ECHILD);
        }
        finally
        {
            close(copy);
            close(fd);
        }
    }

    [Test, Contract("§6 a duplicate is still open (a copy received over a Unix socket)")]
    public void ACopyReceivedOverASocket_KeepsTheChildAlive_UntilItCloses()
    {
        int pid = Kids.Sleeper(out int fd);
        var (a, b) = CLibc.SocketPair();
        try
        {
            CLibc.SendFd(a, fd);
            int received = CLibc.ReceiveFd(b);
            received.ShouldNotBe(fd);
            pdgetpid(received, out int viaReceived).ShouldBe(0);
            viaReceived.ShouldBe(pid);

            close(fd).ShouldBe(0);
            Kids.ReaperBarrier();
            Processes.State(pid).ShouldBeOneOf('S', 'R', 'D'); // alive (D: briefly in uninterruptible I/O)

            close(received).ShouldBe(0);
            Kids.EventuallyGone(pid).ShouldBeTrue("the last copy closed: killed and reaped");
        }
        finally
        {
            CLibc.close(a);
            CLibc.close(b);
        }
    }

    [Test, Contract("§3 pdkill on a pidfd the library did not create")]
    public void APidfdOfAnotherLibrarysChild_CanBeSignalled_ButIsNotKilledOnClose()
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/sleep", "60") { UseShellExecute = false })!;
        int fd = CLibc.pidfd_open(process.Id);
        fd.ShouldBeGreaterThanOrEqualTo(0);
        try
        {
            pdgetpid(fd, out int pid).ShouldBe(0);
            pid.ShouldBe(process.Id);
            pdkill(fd, 0).ShouldBe(0);
            fstat(fd, out Stat stat).ShouldBe(0);
            stat.st_mode.ShouldBe(FilePermissions.S_IFREG | FilePermissions.S_IRWXU);

            // Kill-on-close is for children the library made: closing a foreign pidfd only closes it.
            close(fd).ShouldBe(0);
            fd = -1;
            Kids.ReaperBarrier();
            process.HasExited.ShouldBeFalse();
        }
        finally
        {
            if (fd >= 0) close(fd);
            process.Kill();
            process.WaitForExit(10_000).ShouldBeTrue();
        }
    }

    [Test, Contract("§4 fd names a process that is not this process's child")]
    public void APidfdOfThisProcess_CannotBeWaitedFor()
    {
        int self = CLibc.pidfd_open(Environment.ProcessId);
        try
        {
            pdgetpid(self, out int pid).ShouldBe(0);
            pid.ShouldBe(Environment.ProcessId);
            pdwait4(self, out _, PdWaitOptions.WNOHANG, out _).ShouldBe(-1);
            GetLastError().ShouldBe(Errno.ECHILD);
        }
        finally
        {
            close(self).ShouldBe(0);
        }
    }

    [Test, Contract("§2 a foreign pidfd whose process was reaped before the library saw it")]
    public void AForeignPidfd_OfAnAlreadyReapedProcess_HasNoPidToGive()
    {
        // The process waits for its stdin to close, so that the pidfd is opened while it lives.
        using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "read x"]) { UseShellExecute = false, RedirectStandardInput = true })!;
        int fd = CLibc.pidfd_open(process.Id);
        try
        {
            fd.ShouldBeGreaterThanOrEqualTo(0);
            process.StandardInput.Close();
            process.WaitForExit(10_000).ShouldBeTrue();
            Kids.EventuallyGone(process.Id).ShouldBeTrue();
            // The kernel forgets the pid at reap, and the library never saw it alive.
            pdgetpid(fd, out _).ShouldBe(-1);
            GetLastError().ShouldBe(Errno.ESRCH);
            pdkill(fd, 0).ShouldBe(-1);
            GetLastError().ShouldBe(Errno.ESRCH);
            Kids.WaitForExit(fd).ShouldBeTrue();
        }
        finally
        {
            close(fd);
        }
    }
}
