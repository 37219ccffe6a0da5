using Procdesc.Compat.Tests.Support;

namespace Procdesc.Compat.Tests;

/// <summary>Contract §9: numbering. Signal numbers differ between the systems; callers use canonical names.</summary>
public partial class Conformance
{
    [Test]
    [Row("§9", 1, "(extra) a wait status word's signal",
        "decoded by WTERMSIG / WSTOPSIG to the canonical Signum (SIGUSR1 is 30 on FreeBSD, 10 on Linux; SIGSTOP 17 / 19)")]
    public void S9_Extra_StatusSignals_DecodeToCanonicalNames()
    {
        int pid = Kids.Sh(out int fd, "kill -USR1 $$");
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WIFSIGNALED(status).ShouldBeTrue();
            WTERMSIG(status).ShouldBe(Signum.SIGUSR1);
            (status & 0x7f).ShouldBe(OperatingSystem.IsFreeBSD() ? 30 : 10, "the host's number inside the status word");
        }
        finally
        {
            Kids.Cleanup(fd);
        }

        // A stop signal that differs between the systems too (SIGSTOP: 17 on FreeBSD, 19 on Linux).
        pid = Kids.Stopped(out fd);
        try
        {
            pdwait4(fd, out int status, PdWaitOptions.WUNTRACED | PdWaitOptions.WNOHANG, out _).ShouldBe(pid, "the stop is reported");
            WIFSTOPPED(status).ShouldBeTrue();
            WSTOPSIG(status).ShouldBe(Signum.SIGSTOP);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§9", 2, "(extra) pdkill with a canonical Signum",
        "reaches the child as that signal (SIGUSR2, 31 on FreeBSD and 12 on Linux, trapped by the child's shell)")]
    public void S9_Extra_CanonicalSignal_ReachesTheChildAsThatSignal()
    {
        var (read, write) = CLibc.Pipe();
        int fd = -1;
        try
        {
            int pid = pdfork(out fd, PD_CLOEXEC, PdChild.Exec(Kids.Shell,
                ["sh", "-c", "trap 'exit 12' USR2; trap 'exit 13' USR1; trap 'exit 14' TERM; echo ready >&3; while :; do sleep 0.1; done"]).WithFd(3, write));
            CLibc.close(write);
            write = -1;
            pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
            using (var reader = new LineReader(read))
            {
                read = -1;
                reader.ReadLine().ShouldBe("ready", "the traps are set");
            }
            pdkill(fd, Signum.SIGUSR2).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WIFEXITED(status).ShouldBeTrue($"status 0x{status:x}");
            WEXITSTATUS(status).ShouldBe(12, "the USR2 trap ran");
        }
        finally
        {
            if (read >= 0) CLibc.close(read);
            if (write >= 0) CLibc.close(write);
            Kids.Cleanup(fd);
        }
    }
}
