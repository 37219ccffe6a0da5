using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>pdfork when RLIMIT_NOFILE leaves no descriptor (EMFILE, and nothing left behind) or just one.</summary>
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class ResourceLimitTests
{
    [Test, NonParallelizable, Contract("§1 creation fails: no child is left behind")]
    public unsafe void WithNoFreeDescriptor_PdforkFailsWithEMFILE_AndLeavesNothing()
    {
        var before = Processes.OpenDescriptors();
        int[] childrenBefore = Processes.Children();
        ulong* saved = stackalloc ulong[2];
        CLibc.getrlimit(CLibc.RLIMIT_NOFILE, saved).ShouldBe(0);
        int lowestFree = CLibc.dup(2);
        CLibc.close(lowestFree);
        ulong* lowered = stackalloc ulong[2];
        int pid, fd;
        Errno errno;
        try
        {
            // No number below the limit is free: the clone cannot make the pidfd.
            (lowered[0], lowered[1]) = ((ulong)lowestFree, saved[1]);
            CLibc.setrlimit(CLibc.RLIMIT_NOFILE, lowered).ShouldBe(0);
            pid = pdfork(out fd, PD_CLOEXEC, PdChild.Exec("/bin/sleep", ["sleep", "60"]));
            errno = GetLastError();
        }
        finally
        {
            CLibc.setrlimit(CLibc.RLIMIT_NOFILE, saved).ShouldBe(0);
        }
        if (pid > 0)
            Kids.Cleanup(fd);
        pid.ShouldBe(-1);
        fd.ShouldBe(-1);
        errno.ShouldBe(Errno.EMFILE);
        Processes.NoNewChildren(childrenBefore, "no child, not even a zombie");
        Processes.NoDescriptorLeaked(before);
    }

    [Test, NonParallelizable, Contract("§1 success: pid > 0, fd = the lowest free number")]
    public unsafe void WithExactlyOneFreeDescriptor_PdforkSucceeds_ForTheLibraryNeedsNoneOfItsOwn()
    {
        // One descriptor per live child: the caller's. With one number free below the limit, the
        // child is made, and its kill-on-close still works once the limit is back.
        ulong* saved = stackalloc ulong[2];
        CLibc.getrlimit(CLibc.RLIMIT_NOFILE, saved).ShouldBe(0);
        int lowestFree = CLibc.dup(2);
        CLibc.close(lowestFree);
        ulong* lowered = stackalloc ulong[2] { (ulong)lowestFree + 1, saved[1] };
        int pid, fd;
        try
        {
            CLibc.setrlimit(CLibc.RLIMIT_NOFILE, lowered).ShouldBe(0);
            pid = pdfork(out fd, PD_CLOEXEC, PdChild.Exec("/bin/sleep", ["sleep", "60"]));
        }
        finally
        {
            CLibc.setrlimit(CLibc.RLIMIT_NOFILE, saved).ShouldBe(0);
        }
        pid.ShouldBeGreaterThan(0, $"pdfork: {GetLastError()}");
        fd.ShouldBe(lowestFree);
        close(fd).ShouldBe(0);
        Kids.EventuallyGone(pid).ShouldBeTrue();
    }

    [Test, NonParallelizable, Contract("§1 success"), Contract("§2 procdesc, child running, exited or already reaped")]
    public unsafe void WithALimitBelowTheLibrarysFloor_EverythingStillWorks()
    {
        // The library keeps its own descriptors high (1024 and up) when it can; a limit lowered
        // below that after start-up must not break creation, waits or kill-on-close.
        ulong* saved = stackalloc ulong[2];
        CLibc.getrlimit(CLibc.RLIMIT_NOFILE, saved).ShouldBe(0);
        ulong* lowered = stackalloc ulong[2] { 512, saved[1] };
        var before = Processes.OpenDescriptors();
        before.Where(fd => fd < 1024).Max().ShouldBeLessThan(480, "room below the lowered limit");
        CLibc.setrlimit(CLibc.RLIMIT_NOFILE, lowered).ShouldBe(0);
        try
        {
            int waited = Kids.Exiting(out int fd, 4);
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(waited);
            WEXITSTATUS(status).ShouldBe(4);
            close(fd).ShouldBe(0);

            int killed = Kids.Sleeper(out int other);
            close(other).ShouldBe(0);
            Kids.EventuallyGone(killed).ShouldBeTrue();
        }
        finally
        {
            CLibc.setrlimit(CLibc.RLIMIT_NOFILE, saved).ShouldBe(0);
        }
        Processes.NoDescriptorLeaked(before);
    }
}
