using Procdesc.Compat.Tests.Support;

namespace Procdesc.Compat.Tests;

/// <summary>Contract §2: pdgetpid.</summary>
public partial class Conformance
{
    [Test]
    [Row("§2", 1, "procdesc, child running, exited or already reaped", "0, the child's pid (cached at creation; it does not change or vanish)")]
    public void S2_Procdesc_RunningExitedOrReaped_GivesThePid()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdgetpid(fd, out int running).ShouldBe(0);
            running.ShouldBe(pid);

            pdkill(fd, Signum.SIGKILL).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            CLibc.IsZombieChild(pid).ShouldBeTrue();
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

    [Test]
    [Row("§2", 2, "fd not open, negative, or huge", "-1, EBADF")]
    public void S2_FdNotOpenNegativeOrHuge_EBADF()
    {
        Kids.Reaped(out int closed);
        close(closed).ShouldBe(0);
        foreach (int fd in NumbersNotOpen().Append(closed))
        {
            ShouldFailWith(pdgetpid(fd, out int pid), Errno.EBADF, $"fd {fd}");
            pid.ShouldBe(0);
        }
    }

    [Test]
    [Row("§2", 3, "fd open but not a process descriptor (file, pipe, socket)", "-1, EBADF")]
    public void S2_FdOpenButNotAProcdesc_EBADF()
    {
        var descriptors = OpenNonProcdescs();
        try
        {
            foreach (var (what, fd) in descriptors)
                ShouldFailWith(pdgetpid(fd, out _), Errno.EBADF, what);
        }
        finally
        {
            CloseAll(descriptors);
        }
    }

    [Test]
    [Row("§2", 4, "(extra) a copy made with dup(2)", "the same pid through every copy, while running and after reap")]
    public void S2_Extra_EveryDupCopy_GivesThePid()
    {
        int pid = Kids.Sleeper(out int fd);
        int copy = CLibc.dup(fd);
        try
        {
            copy.ShouldBeGreaterThanOrEqualTo(0);
            pdgetpid(copy, out int viaCopy).ShouldBe(0);
            viaCopy.ShouldBe(pid);
            pdkill(copy, Signum.SIGKILL).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
            pdgetpid(copy, out int afterReap).ShouldBe(0);
            afterReap.ShouldBe(pid);
        }
        finally
        {
            close(copy);
            Kids.Cleanup(fd);
        }
    }
}
