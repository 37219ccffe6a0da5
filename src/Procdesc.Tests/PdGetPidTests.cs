using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>Contract §2: pdgetpid.</summary>
[Contract("§2")]
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class PdGetPidTests
{
    [Test, Contract("§2 procdesc, child running, exited or already reaped")]
    public void ThePid_IsTheSame_WhileRunning_AfterExit_AndAfterReap()
    {
        int pid = Kids.Sh(out int fd, "read x", PD_CLOEXEC);
        try
        {
            pdgetpid(fd, out int running).ShouldBe(0);
            running.ShouldBe(pid);

            pdkill(fd, Signum.SIGTERM).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdgetpid(fd, out int exited).ShouldBe(0);
            exited.ShouldBe(pid);

            pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
            Kids.ShouldBeReapedThroughTheLibrary(pid);
            pdgetpid(fd, out int reaped).ShouldBe(0);
            reaped.ShouldBe(pid);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§2 procdesc: the pid through every copy")]
    public void EveryCopy_ReportsThePid()
    {
        int pid = Kids.Sleeper(out int fd);
        int copy = CLibc.dup(fd);
        try
        {
            pdgetpid(copy, out int viaCopy).ShouldBe(0);
            viaCopy.ShouldBe(pid);
        }
        finally
        {
            close(copy);
            Kids.Cleanup(fd);
        }
    }

    [TestCase(-1), TestCase(1 << 30), TestCase(int.MaxValue), TestCase(int.MinValue)]
    [Contract("§2 fd not open, negative, or huge")]
    public void NegativeOrHugeNumbers_AreEBADF(int fd)
    {
        pdgetpid(fd, out int pid).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.EBADF);
        pid.ShouldBe(0);
    }

    [Test, Contract("§2 fd not open")]
    public void AClosedDescriptor_IsEBADF()
    {
        Kids.Reaped(out int fd);
        close(fd).ShouldBe(0);
        pdgetpid(fd, out _).ShouldBe(-1);
        GetLastError().ShouldBe(Errno.EBADF);
    }

    [Test, Contract("§2 fd open but not a process descriptor (file, pipe, socket)")]
    public void OtherKindsOfDescriptor_AreEBADF()
    {
        using var others = new OtherDescriptors();
        foreach (int fd in others.All)
        {
            pdgetpid(fd, out _).ShouldBe(-1, $"fd {fd}");
            GetLastError().ShouldBe(Errno.EBADF);
        }
    }
}
