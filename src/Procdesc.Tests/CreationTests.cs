using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Contract §1, creation with pdfork, as only Linux shows it (/proc: the child's descriptors,
/// program, handlers and exit signal; this process's descriptors after a failed spawn), and what
/// PdChild describes beyond the rows. The cross-OS rows are compat-tests'.
/// </summary>
[Contract("§1")]
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class CreationTests
{
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
        // The conformance row checks the errno and the children; the spawn's own descriptors
        // (the failed child's pidfd among them) can only be counted here, in /proc/self/fd.
        var before = Processes.OpenDescriptors();
        int[] childrenBefore = Processes.Children();
        Expect.ShouldFailWith(pdfork(out int fd, PD_CLOEXEC, child), expected);
        fd.ShouldBe(-1);
        Processes.NoNewChildren(childrenBefore, "no child, not even a zombie");
        Processes.NoDescriptorLeaked(before);
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

    [Test, Contract("§1 child's own descriptor is not inherited by the child")]
    public void TheChildsOwnDescriptor_IsNotInTheChild_EvenWithoutCloexec()
    {
        int pid = Kids.Sleeper(out int fd, flags: 0);
        try
        {
            CLibc.IsCloseOnExec(fd).ShouldBeFalse();
            // No pidfd at all in the child, not even one of the library's own: the conformance row
            // can only ask the child about the number its descriptor has here.
            PidfdsOf(pid).ShouldBeEmpty();
        }
        finally
        {
            Kids.Cleanup(fd);
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

    [Test, Contract("§1 envp null = inherit: every change is seen, though the block is built once per change")]
    public void NullEnvironment_FollowsEveryChange_AfterTheBlockWasCached()
    {
        string Echo()
        {
            var (read, write) = CLibc.Pipe();
            int pid = pdfork(out int fd, PD_CLOEXEC, PdChild.Exec("/bin/sh", ["sh", "-c", "echo \"${PROCDESC_CHANGES-unset}\" >&3"]).WithFd(3, write));
            CLibc.close(write);
            pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
            close(fd);
            string output = ReadAll(read);
            CLibc.close(read);
            return output;
        }
        try
        {
            Environment.SetEnvironmentVariable("PROCDESC_CHANGES", null);
            Echo().ShouldBe("unset\n");
            Echo().ShouldBe("unset\n"); // from the cached block
            Environment.SetEnvironmentVariable("PROCDESC_CHANGES", "one");
            Echo().ShouldBe("one\n");
            Environment.SetEnvironmentVariable("PROCDESC_CHANGES", "two"); // same length, other value
            Echo().ShouldBe("two\n");
            Environment.SetEnvironmentVariable("PROCDESC_CHANGES", null);
            Echo().ShouldBe("unset\n");
        }
        finally
        {
            Environment.SetEnvironmentVariable("PROCDESC_CHANGES", null);
        }
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
