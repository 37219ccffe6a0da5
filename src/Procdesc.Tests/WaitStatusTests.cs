using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>Contract §9: the W* helpers decode the host's status words and return canonical signals.</summary>
[Contract("§9")]
public class WaitStatusTests
{
    [Test]
    public void ExitedStatus()
    {
        WIFEXITED(0x0300).ShouldBeTrue();
        WEXITSTATUS(0x0300).ShouldBe(3);
        WIFSIGNALED(0x0300).ShouldBeFalse();
        WIFSTOPPED(0x0300).ShouldBeFalse();
        WIFCONTINUED(0x0300).ShouldBeFalse();
    }

    [Test]
    public void SignaledStatus_WithAndWithoutCore()
    {
        WIFSIGNALED(0x09).ShouldBeTrue();
        WTERMSIG(0x09).ShouldBe(Signum.SIGKILL);
        WCOREDUMP(0x09).ShouldBeFalse();
        WIFSIGNALED(0x83).ShouldBeTrue();
        WTERMSIG(0x83).ShouldBe(Signum.SIGQUIT);
        WCOREDUMP(0x83).ShouldBeTrue();
        WIFEXITED(0x09).ShouldBeFalse();
    }

    [Test, OnlyOn("Linux")]
    public void StoppedAndContinued_LinuxWords()
    {
        WIFSTOPPED(0x137f).ShouldBeTrue();
        WSTOPSIG(0x137f).ShouldBe(Signum.SIGSTOP);
        WIFSIGNALED(0x137f).ShouldBeFalse();
        WIFCONTINUED(0xffff).ShouldBeTrue();
        WIFSTOPPED(0xffff).ShouldBeFalse();
        WIFSIGNALED(0xffff).ShouldBeFalse();
        WIFEXITED(0xffff).ShouldBeFalse();
    }

    [Test]
    public void RealChildren_DecodeAsTheyEnded()
    {
        // The child stops itself, and after SIGCONT waits for its stdin to close before exiting,
        // so that the "continued" report cannot be overtaken by the exit.
        var (read, write) = CLibc.Pipe();
        int pid = pdfork(out int fd, PD_CLOEXEC, PdChild.Exec("/bin/sh", ["sh", "-c", "kill -STOP $$; read x; exit 7"]).WithFd(0, read));
        CLibc.close(read);
        try
        {
            pid.ShouldBeGreaterThan(0);
            pdwait4(fd, out int stopped, PdWaitOptions.WUNTRACED, out _).ShouldBe(pid);
            WIFSTOPPED(stopped).ShouldBeTrue();
            WSTOPSIG(stopped).ShouldBe(Signum.SIGSTOP);
            pdkill(fd, Signum.SIGCONT).ShouldBe(0);
            pdwait4(fd, out int continued, PdWaitOptions.WCONTINUED, out _).ShouldBe(pid);
            WIFCONTINUED(continued).ShouldBeTrue();
            CLibc.close(write);
            write = -1;
            pdwait4(fd, out int exited, PdWaitOptions.None, out _).ShouldBe(pid);
            WIFEXITED(exited).ShouldBeTrue();
            WEXITSTATUS(exited).ShouldBe(7);
        }
        finally
        {
            if (write >= 0) CLibc.close(write);
            Kids.Cleanup(fd);
        }
    }
}
