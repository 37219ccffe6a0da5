using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// What descriptors a child gets: by default every one of this process's without close-on-exec
/// (as exec passes them on); with <see cref="PdChild.WithoutOtherDescriptors"/> only 0-2 and the
/// mapped ones — by close_range with CLOSE_RANGE_UNSHARE in a child that shared this process's
/// table until then, or, where close_range is refused, by listing /proc/self/fd in the child's own
/// copy. Seen in /proc/PID/fd of a child that sleeps.
/// </summary>
[Contract("§1")]
[OnlyOn("Linux", "reads the child's descriptors in /proc")]
public class OtherDescriptorsInChildTests
{
    private const int F_DUPFD = 0;

    /// <summary>A descriptor for /dev/null without close-on-exec, numbered <paramref name="lowest"/> or above.</summary>
    private static int InheritableAbove(int lowest)
    {
        int file = CLibc.open("/dev/null", CLibc.O_RDONLY | CLibc.O_CLOEXEC, 0);
        file.ShouldBeGreaterThanOrEqualTo(0);
        int fd = CLibc.fcntl(file, F_DUPFD, lowest);
        CLibc.close(file);
        fd.ShouldBeGreaterThanOrEqualTo(lowest, $"fcntl(F_DUPFD, {lowest}): errno {CLibc.Errno}");
        CLibc.IsCloseOnExec(fd).ShouldBeFalse();
        return fd;
    }

    private static SortedSet<int> DescriptorsOf(int pid)
    {
        Processes.WaitUntilExecFinished(pid);
        SortedSet<int> fds = [];
        foreach (string entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            fds.Add(int.Parse(Path.GetFileName(entry)));
        return fds;
    }

    private static string TargetOf(int pid, int fd) => new FileInfo($"/proc/{pid}/fd/{fd}").LinkTarget ?? "";

    private static readonly PdChild Sleep = PdChild.Exec("/bin/sleep", ["sleep", "60"]);

    [Test, Contract("§1 the child inherits what exec passes on")]
    public void ByDefault_TheChildInheritsEveryDescriptorWithoutCloseOnExec_AndNoOtherOne()
    {
        int low = InheritableAbove(100), high = InheritableAbove(3000);
        var (read, write) = CLibc.Pipe(); // close-on-exec: never inherited
        int fd = -1;
        try
        {
            int pid = pdfork(out fd, PD_CLOEXEC, Sleep);
            pid.ShouldBeGreaterThan(0);
            SortedSet<int> inChild = DescriptorsOf(pid);
            inChild.ShouldContain(low);
            inChild.ShouldContain(high);
            inChild.ShouldNotContain(read);
            inChild.ShouldNotContain(write);
            inChild.ShouldNotContain(fd);
        }
        finally
        {
            Kids.Cleanup(fd);
            foreach (int f in new[] { low, high, read, write })
                CLibc.close(f);
        }
    }

    [Test, Contract("§1 WithoutOtherDescriptors: only 0-2 and the mapped ones")]
    public void WithoutOtherDescriptors_TheChildHasOnly0To2AndTheMappedOnes_AndThisProcessKeepsAll()
    {
        int low = InheritableAbove(100), high = InheritableAbove(3000);
        var (read, write) = CLibc.PipeAbove(2000);
        var (lowRead, lowWrite) = CLibc.Pipe();
        int fd = -1;
        try
        {
            // A mapped source above every number the child keeps (the shared table must still
            // hold it when the map is applied), and a mapped target above the sources.
            PdChild child = Sleep.WithFd(3, write).WithFd(200, lowWrite).WithoutOtherDescriptors();
            child.ClosesOtherDescriptors.ShouldBeTrue();
            int pid = pdfork(out fd, PD_CLOEXEC, child);
            pid.ShouldBeGreaterThan(0, $"pdfork: {GetLastError()}");
            DescriptorsOf(pid).ShouldBe(new SortedSet<int> { 0, 1, 2, 3, 200 });
            TargetOf(pid, 3).ShouldBe(Processes.LinkTarget(write));
            TargetOf(pid, 200).ShouldBe(Processes.LinkTarget(lowWrite));

            // The child closed its own copy, not this process's table, which it shared until then.
            foreach (int f in new[] { low, high, read, write, lowRead, lowWrite, fd })
                CLibc.IsOpen(f).ShouldBeTrue($"descriptor {f} of this process");
            CLibc.IsCloseOnExec(low).ShouldBeFalse();
        }
        finally
        {
            Kids.Cleanup(fd);
            foreach (int f in new[] { low, high, read, write, lowRead, lowWrite })
                CLibc.close(f);
        }
    }

    [Test, Contract("§1 WithoutOtherDescriptors: only 0-2 and the mapped ones")]
    public void WithoutOtherDescriptors_AFailedExec_ReportsTheErrno_AndThisProcessKeepsItsDescriptors()
    {
        int high = InheritableAbove(3000);
        try
        {
            var before = Processes.OpenDescriptors();
            Expect.ShouldFailWith(pdfork(out int fd, PD_CLOEXEC, PdChild.Exec("/nonexistent/program", ["x"]).WithoutOtherDescriptors()), Errno.ENOENT);
            fd.ShouldBe(-1);
            CLibc.IsOpen(high).ShouldBeTrue();
            Processes.NoDescriptorLeaked(before);
        }
        finally
        {
            CLibc.close(high);
        }
    }

    /// <summary>In <paramref name="host">the test host</paramref>: a child made WithoutOtherDescriptors
    /// has 0-2 only, a default one the host's inheritable <paramref name="low"/> and <paramref name="high"/>.</summary>
    private static void ClosingChildHasOnly0To2_InheritingOneHas(HostProcess host, int low, int high)
    {
        int closing = int.Parse(host.Send("fork a closing").Split(' ')[0]);
        int inheriting = int.Parse(host.Send("fork b").Split(' ')[0]);
        DescriptorsOf(closing).ShouldBe(new SortedSet<int> { 0, 1, 2 });
        SortedSet<int> control = DescriptorsOf(inheriting);
        control.ShouldContain(low);
        control.ShouldContain(high);
        host.Send("dispose a");
        host.Send("dispose b");
        Kids.EventuallyGone(closing).ShouldBeTrue();
        Kids.EventuallyGone(inheriting).ShouldBeTrue();
    }

    [Test, Contract("§12 a call the kernel or a seccomp filter refuses: the fallback")]
    public void WithoutOtherDescriptors_WhereCloseRangeIsRefused_TheChildClosesThemByListing()
    {
        // close_range (436) answered ENOSYS, as on Linux before 5.9 or under a filter that does not
        // know it: the child cannot share the table, so it closes its copy's descriptors one by one.
        using var host = HostProcess.Scripted(Tool.WithoutSyscall, "436");
        int low = int.Parse(host.Send("nocloexec 100"));
        int high = int.Parse(host.Send("nocloexec 3000"));
        ClosingChildHasOnly0To2_InheritingOneHas(host, low, high);
    }

    [Test, Contract("§12 a call the kernel or a seccomp filter refuses: the fallback"), CancelAfter(120_000)]
    public void WithoutOtherDescriptors_WhereCloseRangeIsRefusedAndProcIsGone_TheChildClosesEveryNumberUpToItsLimit(CancellationToken cancellation)
    {
        // The last fallback: no close_range and no /proc/self/fd to list, so the child closes every
        // number below its soft RLIMIT_NOFILE. The host runs in a mount namespace of its own, where
        // an empty tmpfs hides /proc (as AdversityTests.WithoutProc_… does), under the filter.
        if (Environment.UserName != "root")
            Assert.Ignore("needs root (a mount namespace, nsenter)");
        using var host = HostProcess.Scripted("unshare", "-m", "--propagation", "private", Tool.WithoutSyscall, "436");
        int low = int.Parse(host.Send("nocloexec 100"));
        int high = int.Parse(host.Send("nocloexec 3000"));
        var hide = System.Diagnostics.Process.Start("nsenter", ["-t", host.Pid.ToString(), "-m", "-r", "mount", "-t", "tmpfs", "none", "/proc"])!;
        hide.WaitForExit(30_000).ShouldBeTrue();
        hide.ExitCode.ShouldBe(0);
        host.Send("fds").ShouldBe("no /proc");

        ClosingChildHasOnly0To2_InheritingOneHas(host, low, high);
    }
}
