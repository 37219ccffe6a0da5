using System.Runtime.InteropServices;
using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>Contract §1: creation with pdfork.</summary>
[Contract("§1")]
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class CreationTests
{
    [Test, Contract("§1 flags outside PD_DAEMON | PD_CLOEXEC")]
    public void UnknownFlags_FailWithEINVAL_AndCreateNoChild()
    {
        var before = Processes.OpenDescriptors();
        int[] childrenBefore = Processes.Children();
        foreach (int flags in new[] { 0x4, 0x8, 0x100, int.MinValue, -1 })
        {
            pdfork(out int fd, flags, PdChild.Exec("/bin/true", ["true"])).ShouldBe(-1);
            GetLastError().ShouldBe(Errno.EINVAL);
            Marshal.GetLastPInvokeError().ShouldBe(22);
            fd.ShouldBe(-1);
        }
        Processes.NoNewChildren(childrenBefore);
        Processes.NoDescriptorLeaked(before);
    }

    private static IEnumerable<TestCaseData> ExecFailures()
    {
        yield return new TestCaseData(PdChild.Exec("/nonexistent/program", ["x"]), Errno.ENOENT).SetName("ExecFailure_ENOENT");
        yield return new TestCaseData(PdChild.Exec("/etc", ["x"]), Errno.EACCES).SetName("ExecFailure_EACCES_Directory");
        yield return new TestCaseData(PdChild.Exec("/bin/true", ["true"]).WithWorkingDirectory("/nonexistent"), Errno.ENOENT).SetName("ExecFailure_ChdirENOENT");
        yield return new TestCaseData(PdChild.Exec("/bin/true", ["true"]).WithFd(5, 1 << 20), Errno.EBADF).SetName("ExecFailure_FdMoveEBADF");
    }

    [TestCaseSource(nameof(ExecFailures)), Contract("§1 the child's exec fails")]
    public void ExecFailure_ReportsTheErrno_AndLeavesNothingBehind(PdChild child, Errno expected)
    {
        var before = Processes.OpenDescriptors();
        int[] childrenBefore = Processes.Children();
        pdfork(out int fd, PD_CLOEXEC, child).ShouldBe(-1);
        GetLastError().ShouldBe(expected);
        Marshal.GetLastPInvokeError().ShouldBe((int)expected);
        fd.ShouldBe(-1);
        Processes.NoNewChildren(childrenBefore, "no child, not even a zombie");
        Processes.NoDescriptorLeaked(before);
    }

    [TestCase(UnixFileMode.UserRead | UnixFileMode.UserExecute, Errno.ENOEXEC, TestName = "ExecFailure_ENOEXEC_ExecutableButNoProgram")]
    [TestCase(UnixFileMode.UserRead | UnixFileMode.UserWrite, Errno.EACCES, TestName = "ExecFailure_EACCES_NotExecutable")]
    [Contract("§1 the child's exec fails")]
    public void ExecFailure_OfAFile_ReportsTheErrno(UnixFileMode mode, Errno expected)
    {
        string path = Path.Combine(Path.GetTempPath(), $"procdesc-exec-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, [0x01, 0x02, 0x03, 0x04]);
        File.SetUnixFileMode(path, mode);
        try
        {
            int[] childrenBefore = Processes.Children();
            pdfork(out _, PD_CLOEXEC, PdChild.Exec(path, ["x"])).ShouldBe(-1);
            GetLastError().ShouldBe(expected);
            Processes.NoNewChildren(childrenBefore);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test, Contract("§1 success: pid > 0, fd = the lowest free number")]
    public void Success_ReturnsThePid_AndTheLowestFreeDescriptor()
    {
        int probe = CLibc.dup(2);
        CLibc.close(probe);
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pid.ShouldBeGreaterThan(0);
            fd.ShouldBe(probe);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, NonParallelizable, Contract("§1 success: fd = the lowest free number (0–2 included)")]
    public void Success_CanReturnDescriptorZero()
    {
        int savedStdin = CLibc.fcntl(0, 1030 /* F_DUPFD_CLOEXEC */, 10);
        savedStdin.ShouldBeGreaterThan(0);
        int fd = -1;
        try
        {
            CLibc.close(0).ShouldBe(0);
            pdfork(out fd, PD_CLOEXEC, PdChild.Exec("/bin/sleep", ["sleep", "60"])).ShouldBeGreaterThan(0);
            fd.ShouldBe(0);
            pdgetpid(0, out int pid).ShouldBe(0);
            pid.ShouldBeGreaterThan(0);
        }
        finally
        {
            Kids.Cleanup(fd);
            CLibc.dup2(savedStdin, 0).ShouldBe(0);
            CLibc.close(savedStdin);
        }
    }

    [Test, Contract("§1 when pdfork returns, the exec has already happened")]
    public void WhenPdforkReturns_TheChildRunsTheNewProgram()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            // vfork semantics: the parent is woken once the exec is past its point of no return.
            // The exe link is the new program's at that moment on 6.12 and later; on 6.1 it may lag
            // behind for a moment (measured in the kernel matrix), so look again, bounded.
            Kids.Eventually(() => Path.GetFileName(File.ResolveLinkTarget($"/proc/{pid}/exe", false)!.ToString()) == "sleep")
                .ShouldBeTrue("the child runs the new program");
            Processes.WaitUntilExecFinished(pid);
            File.ReadAllText($"/proc/{pid}/cmdline").ShouldBe("sleep\060\0");
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§1 child's getppid() is the caller's pid")]
    public void TheChildsParent_IsTheCaller()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            Processes.ParentOf(pid).ShouldBe(Environment.ProcessId);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§1 child's own descriptor is not inherited by the child")]
    public void TheChildsOwnDescriptor_IsNotInTheChild_EvenWithoutCloexec()
    {
        int pid = Kids.Sleeper(out int fd, flags: 0);
        try
        {
            CLibc.IsCloseOnExec(fd).ShouldBeFalse();
            PidfdsOf(pid).ShouldBeEmpty();
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§1 the caller's other descriptors: inherited only without PD_CLOEXEC"), Contract("§1 PD_CLOEXEC")]
    public void OtherProcessDescriptors_AreInheritedOnlyWithoutCloexec()
    {
        Kids.Sleeper(out int inheritable, flags: 0);
        Kids.Sleeper(out int closeOnExec, flags: PD_CLOEXEC);
        int pid = Kids.Sleeper(out int third);
        try
        {
            CLibc.IsCloseOnExec(inheritable).ShouldBeFalse();
            CLibc.IsCloseOnExec(closeOnExec).ShouldBeTrue();
            var inChild = PidfdsOf(pid);
            inChild.ShouldContain(inheritable);
            inChild.ShouldNotContain(closeOnExec);
        }
        finally
        {
            Kids.Cleanup(third);
            Kids.Cleanup(closeOnExec);
            Kids.Cleanup(inheritable);
        }
    }

    [Test, Contract("§1 WithFd: the child gets parentFd as childFd")]
    public void FdMoves_GiveTheChildTheRequestedNumbers_EvenWhenSwapped()
    {
        var (readA, writeA) = CLibc.Pipe();
        var (readB, writeB) = CLibc.Pipe();
        try
        {
            // The child sees writeA as 4 and writeB as 3, and says so on each.
            var child = PdChild.Exec("/bin/sh", ["sh", "-c", "echo three >&3; echo four >&4"])
                .WithFd(3, writeB).WithFd(4, writeA);
            int pid = pdfork(out int fd, PD_CLOEXEC, child);
            pid.ShouldBeGreaterThan(0);
            CLibc.close(writeA);
            CLibc.close(writeB);
            writeA = writeB = -1;
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WEXITSTATUS(status).ShouldBe(0);
            close(fd);
            ReadAll(readA).ShouldBe("four\n");
            ReadAll(readB).ShouldBe("three\n");
        }
        finally
        {
            foreach (int f in new[] { readA, writeA, readB, writeB })
                if (f >= 0) CLibc.close(f);
        }
    }

    [Test, Contract("§1 WithWorkingDirectory and the environment")]
    public void WorkingDirectoryAndEnvironment_AreTheRequestedOnes()
    {
        var (read, write) = CLibc.Pipe();
        var child = PdChild.Exec("/bin/sh", ["sh", "-c", "echo \"$(pwd) $PD_TEST\" >&3"], ["PD_TEST=hello", "PATH=/usr/bin:/bin"])
            .WithWorkingDirectory("/tmp").WithFd(3, write);
        int pid = pdfork(out int fd, PD_CLOEXEC, child);
        CLibc.close(write);
        pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
        close(fd);
        ReadAll(read).ShouldBe("/tmp hello\n");
        CLibc.close(read);
    }

    [Test, Contract("§1 envp null = inherit (the environment as .NET sees it)")]
    public void NullEnvironment_PassesThisProcesssEnvironment()
    {
        Environment.SetEnvironmentVariable("PROCDESC_INHERITED", "yes");
        var (read, write) = CLibc.Pipe();
        int pid = pdfork(out int fd, PD_CLOEXEC, PdChild.Exec("/bin/sh", ["sh", "-c", "echo $PROCDESC_INHERITED >&3"]).WithFd(3, write));
        CLibc.close(write);
        pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
        close(fd);
        ReadAll(read).ShouldBe("yes\n");
        CLibc.close(read);
    }

    [Test, Contract("§1 handlers are reset and signals unblocked in the child")]
    public void TheChild_StartsWithDefaultHandlers_AndTheCallersSignalMask()
    {
        using var registration = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, context => context.Cancel = true);
        int pid = Kids.Sleeper(out int fd);
        try
        {
            string status = File.ReadAllText($"/proc/{pid}/status");
            // SIGTERM is caught in this process; sleep must not inherit a catcher (exec resets it)
            // and must not have it blocked.
            Mask(status, "SigCgt:").ShouldBe(0UL);
            (Mask(status, "SigBlk:") & (1UL << 14)).ShouldBe(0UL);
            pdkill(fd, Signum.SIGTERM).ShouldBe(0);
            pdwait4(fd, out int st, PdWaitOptions.None, out _).ShouldBe(pid);
            WTERMSIG(st).ShouldBe(Signum.SIGTERM);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§1 waitpid(pid, …) with the explicit pid sees and reaps it")]
    public unsafe void WaitpidWithTheExplicitPid_ReapsTheChild()
    {
        int pid = Kids.Exiting(out int fd, 9);
        try
        {
            int status;
            CLibc.waitpid(pid, &status, 0).ShouldBe(pid);
            WEXITSTATUS(status).ShouldBe(9);
            Processes.State(pid).ShouldBeNull();
        }
        finally
        {
            close(fd);
        }
    }

    [Test, Contract("§1 SIGCHLD (Linux: §10 L1)"), Contract("§10 L1")]
    [OnlyOn("Linux")]
    public void Linux_AfterExec_TheExitSignalIsSIGCHLD()
    {
        int pid = Kids.Sleeper(out int fd);
        try
        {
            // Field 38 of /proc/PID/stat is exit_signal: the kernel resets it to SIGCHLD at exec.
            Processes.StatField(pid, 38).ShouldBe("17");
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test, Contract("§1 wait(-1) (Linux: §10 L1)"), Contract("§10 L1")]
    [OnlyOn("Linux")]
    public unsafe void Linux_AfterExec_WaitAnySeesTheChild_AndTheLibraryStillAnswers()
    {
        int pid = Kids.Exiting(out int fd, 4);
        try
        {
            Kids.WaitForExit(fd).ShouldBeTrue();
            // wait(-1) must find this child and no other: let earlier tests' children (the runtime
            // reaps System.Diagnostics.Process children in the background) be gone first.
            Kids.Eventually(() => Processes.Children().SequenceEqual([pid])).ShouldBeTrue(
                $"children: {string.Join(", ", Processes.Children())}");
            byte* info = stackalloc byte[128];
            CLibc.waitid(CLibc.P_ALL, 0, info, CLibc.WEXITED | CLibc.WNOHANG | CLibc.WNOWAIT).ShouldBe(0);
            (*(int*)(info + 16)).ShouldBe(pid, "waitid(P_ALL) sees the exec'd child (L1)");
            int status;
            CLibc.waitpid(-1, &status, 0).ShouldBe(pid, "and wait(-1) reaps it");
            if (!Kernel.KeepsExitStatus)
            {
                // Before Linux 6.15 the kernel keeps nothing once another waiter reaped the child.
                pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(-1);
                GetLastError().ShouldBe(Errno.ECHILD);
                return;
            }
            // The library answers from the status the kernel kept, once (PIDFD_INFO_EXIT).
            pdwait4(fd, out int kept, PdWaitOptions.None, out Rusage usage).ShouldBe(pid);
            WEXITSTATUS(kept).ShouldBe(4);
            usage.IsMissing.ShouldBeTrue();
            pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(-1);
            GetLastError().ShouldBe(Errno.ECHILD);
        }
        finally
        {
            close(fd);
        }
    }

    internal static List<int> PidfdsOf(int pid)
    {
        Processes.WaitUntilExecFinished(pid);
        var result = new List<int>();
        foreach (string entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            if (new FileInfo(entry).LinkTarget == "anon_inode:[pidfd]")
                result.Add(int.Parse(Path.GetFileName(entry)));
        }
        return result;
    }

    internal static unsafe string ReadAll(int fd)
    {
        var text = new System.Text.StringBuilder();
        byte* buffer = stackalloc byte[256];
        nint n;
        while ((n = CLibc.read(fd, buffer, 256)) > 0)
            text.Append(System.Text.Encoding.UTF8.GetString(buffer, (int)n));
        return text.ToString();
    }

    private static ulong Mask(string status, string key)
    {
        string line = status.Split('\n').First(l => l.StartsWith(key, StringComparison.Ordinal));
        return Convert.ToUInt64(line[key.Length..].Trim(), 16);
    }
}
