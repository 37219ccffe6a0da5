using System.Diagnostics;
using System.Runtime.InteropServices;
using Procdesc.Compat.Tests.Support;

namespace Procdesc.Compat.Tests;

/// <summary>Contract §1: creation with pdfork.</summary>
public partial class Conformance
{
    [Test]
    [Row("§1", 1, "flags outside PD_DAEMON (0x1) | PD_CLOEXEC (0x2)", "-1, EINVAL, no child created (fd -1, no process descriptor made)")]
    public void S1_FlagsOutsidePD_DAEMONAndPD_CLOEXEC_EINVAL_NoChild()
    {
        var childrenBefore = Kids.ChildrenOfThisProcess();
        var descriptorsBefore = ProcessDescriptorNumbers();
        foreach (int flags in new[] { 0x4, 0x8, 0x100, PD_DAEMON | PD_CLOEXEC | 0x10, int.MinValue, -1 })
        {
            ShouldFailWith(pdfork(out int fd, flags, PdChild.Exec("/bin/sleep", ["sleep", "60"])), Errno.EINVAL, $"flags 0x{flags:x}");
            fd.ShouldBe(-1);
        }
        ProcessDescriptorNumbers().ShouldBe(descriptorsBefore, "no process descriptor was made");
        Kids.ChildrenOfThisProcess().Except(childrenBefore).ShouldBeEmpty("no child was created");
    }

    [Test]
    [Row("§1", 2, "the child's exec fails (ENOENT, EACCES, ENOEXEC, …)",
        "-1 with the exec's errno; no child is left behind (not even a zombie); fd untouched (-1, no process descriptor made)")]
    public void S1_ExecFails_ReturnsTheExecErrno_AndLeavesNoChild()
    {
        string dir = Directory.CreateTempSubdirectory("procdesc-compat-").FullName;
        try
        {
            string garbage = Path.Combine(dir, "garbage");
            File.WriteAllBytes(garbage, [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
            File.SetUnixFileMode(garbage, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            string notExecutable = Path.Combine(dir, "not-executable");
            File.WriteAllText(notExecutable, "#!/bin/sh\nexit 0\n");
            File.SetUnixFileMode(notExecutable, UnixFileMode.UserRead | UnixFileMode.UserWrite);

            var cases = new (string What, PdChild Child, Errno Expected)[]
            {
                ("no such file", PdChild.Exec(Path.Combine(dir, "nonexistent"), ["x"]), Errno.ENOENT),
                ("a directory", PdChild.Exec(dir, ["x"]), Errno.EACCES),
                ("a file without execute permission", PdChild.Exec(notExecutable, ["x"]), Errno.EACCES),
                ("an executable file in no known format", PdChild.Exec(garbage, ["x"]), Errno.ENOEXEC),
                // The child fails before its exec: the same report, the same nothing left behind.
                ("a working directory that does not exist", PdChild.Exec("/usr/bin/true", ["true"]).WithWorkingDirectory(Path.Combine(dir, "nonexistent")), Errno.ENOENT),
                ("a descriptor to hand over that is not open", PdChild.Exec("/usr/bin/true", ["true"]).WithFd(5, 1 << 20), Errno.EBADF),
            };
            var childrenBefore = Kids.ChildrenOfThisProcess();
            var descriptorsBefore = ProcessDescriptorNumbers();
            foreach (var (what, child, expected) in cases)
            {
                ShouldFailWith(pdfork(out int fd, PD_CLOEXEC, child), expected, what);
                fd.ShouldBe(-1, what);
                ProcessDescriptorNumbers().ShouldBe(descriptorsBefore, $"{what}: no process descriptor was made");
            }
            Kids.ChildrenOfThisProcess().Except(childrenBefore).ShouldBeEmpty("no child is left behind, not even a zombie");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    [Row("§1", 3, "success", "the child's pid (> 0); fd = a new descriptor, the lowest free number (0–2 included)")]
    public void S1_Success_ReturnsThePid_AndTheLowestFreeNumber_ZeroIncluded()
    {
        // Another thread of the runtime may take a number in between: a bounded number of tries.
        bool gotTheLowest = false;
        for (int attempt = 0; attempt < 3 && !gotTheLowest; attempt++)
        {
            int expected = CLibc.LowestFreeNumber();
            int pid = Kids.Sleeper(out int fd);
            try
            {
                pid.ShouldBeGreaterThan(0);
                CLibc.Exists(pid).ShouldBeTrue();
                gotTheLowest = fd == expected;
            }
            finally
            {
                Kids.Cleanup(fd);
            }
        }
        gotTheLowest.ShouldBeTrue("the descriptor is the lowest free number");

        using var aside = new StdinAside();
        int pid0 = SleeperOnZero(PD_CLOEXEC);
        pdgetpid(0, out int viaZero).ShouldBe(0);
        viaZero.ShouldBe(pid0);
    }

    [Test]
    [Row("§1", 4, "when pdfork returns with success",
        "the exec has already happened (vfork-like): the child runs the new program (stopped with SIGSTOP at once, ps names the new program)")]
    public void S1_WhenPdforkReturns_TheExecHasHappened()
    {
        // A program name no shell or runtime has: the copy of /bin/sleep under a new name.
        string dir = Directory.CreateTempSubdirectory("procdesc-compat-").FullName;
        string program = Path.Combine(dir, "pdcompatprog");
        File.Copy("/bin/sleep", program);
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        int fd = -1;
        try
        {
            int pid = pdfork(out fd, PD_CLOEXEC, PdChild.Exec(program, ["pdcompatprog", "60"]));
            pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
            // No wait of any kind: the child is frozen where it is, then looked at.
            pdkill(fd, Signum.SIGSTOP).ShouldBe(0);
            var (output, _) = Kids.Run(PdChild.ExecFromPath("ps", ["ps"]).Path, "ps", "-o", "comm=", "-p", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            output.Trim().ShouldBe("pdcompatprog", "the child already runs the new program");
        }
        finally
        {
            Kids.Cleanup(fd);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    [Row("§1", 5, "child's getppid()", "the caller's pid")]
    public void S1_ChildsGetppid_IsTheCaller()
    {
        string line = Kids.FirstLine(Kids.Shell, "sh", "-c", "echo $PPID");
        string self = CLibc.getpid().ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (Kids.HelperParent)
        {
            // The helper parent's child: its parent is the helper, whose parent is the caller.
            int helper = int.Parse(line, System.Globalization.CultureInfo.InvariantCulture);
            File.ReadAllText($"/proc/{helper}/comm").Trim().ShouldBe("procdesc-parent");
            string stat = File.ReadAllText($"/proc/{helper}/stat");
            stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1].ShouldBe(self, "the helper is the caller's child");
            Report.Note("documented Linux difference H1: the child's parent is the library's helper parent, a child of the caller");
            return;
        }
        line.ShouldBe(self);
    }

    [Test]
    [Row("§1", 6, "child's own descriptor", "not inherited by the child (checked with a descriptor made without PD_CLOEXEC)")]
    public void S1_ChildsOwnDescriptor_IsNotInherited()
    {
        using var aside = new StdinAside();
        // The child's own descriptor is 0 here (the lowest free number), which its shell can name.
        // Another thread of the runtime may hold 0 for an instant: then the question is asked again (bounded).
        string answer = "";
        int own = -1;
        for (int attempt = 0; attempt < 5 && own != 0; attempt++)
        {
            Kids.Eventually(() => !CLibc.IsOpen(0)).ShouldBeTrue("descriptor 0 is free");
            answer = AskAChildWhetherItsFd0IsOpen(flags: 0, out own);
        }
        own.ShouldBe(0, "the child's descriptor is 0");
        answer.ShouldBe("closed", "the child does not hold its own descriptor");
    }

    [Test]
    [Row("§1", 7, "the caller's other descriptors", "inherited across the exec only if they were made without PD_CLOEXEC")]
    public void S1_OtherDescriptors_InheritedOnlyWithoutPD_CLOEXEC()
    {
        using var aside = new StdinAside();

        SleeperOnZero(flags: 0);
        AskAChildWhetherItsFd0IsOpen(PD_CLOEXEC, out _).ShouldBe("open", "a descriptor made without PD_CLOEXEC is inherited");
        Kids.Cleanup(0);

        SleeperOnZero(flags: PD_CLOEXEC);
        AskAChildWhetherItsFd0IsOpen(PD_CLOEXEC, out _).ShouldBe("closed", "a descriptor made with PD_CLOEXEC is not inherited");
        Kids.Cleanup(0);
    }

    [Test]
    [Row("§1", 8, "PD_CLOEXEC", "the new descriptor is close-on-exec (FD_CLOEXEC set); without it, it is not")]
    public void S1_PD_CLOEXEC_SetsFD_CLOEXEC_AndOnlyIt()
    {
        foreach (int flags in new[] { 0, PD_CLOEXEC, PD_DAEMON, PD_DAEMON | PD_CLOEXEC })
        {
            Kids.Sleeper(out int fd, flags);
            try
            {
                CLibc.IsCloseOnExec(fd).ShouldBe((flags & PD_CLOEXEC) != 0, $"flags 0x{flags:x}");
            }
            finally
            {
                Kids.Cleanup(fd);
            }
        }
    }

    [Test]
    [Row("§1", 9, "SIGCHLD",
        "FreeBSD: never delivered to the caller for this child while a descriptor is open. Linux (§10 L1): the exec reset the exit signal, so SIGCHLD is delivered when the child exits")]
    [LinuxDifference("L1")]
    public void S1_SIGCHLD_NeverDeliveredWhileADescriptorIsOpen()
    {
        Kids.NoChildLeftForWaitAny();
        using var signals = new SignalWatch();
        int pid = Kids.Sleeper(out int fd);
        try
        {
            pdkill(fd, Signum.SIGTERM).ShouldBe(0);
            Kids.WaitForExit(fd).ShouldBeTrue();
            signals.Settle();
            if (Kids.NoSigchldForChildren)
            {
                signals.Sigchld.ShouldBe(0, "FreeBSD (and the helper parent's child): no SIGCHLD for a child with an open descriptor");
            }
            else
            {
                Kids.Eventually(() => signals.Sigchld > 0).ShouldBeTrue("Linux (L1): SIGCHLD arrives when the exec'd child exits");
            }
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            WTERMSIG(status).ShouldBe(Signum.SIGTERM);
        }
        finally
        {
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§1", 10, "wait(-1), waitpid(-1, …), waitid(P_ALL, …)",
        "FreeBSD: never see or reap the child (no other children: -1, ECHILD, also with WNOHANG). Linux (§10 L1): after the exec they see and reap it; pdwait4 then answers the status the kernel kept, once (PIDFD_INFO_EXIT; without it -1, ECHILD)")]
    [LinuxDifference("L1")]
    public unsafe void S1_WaitAny_NeverSeesTheChild()
    {
        Kids.NoChildLeftForWaitAny();
        var (read, write) = CLibc.Pipe();
        int fd = -1;
        try
        {
            int pid = pdfork(out fd, PD_CLOEXEC, PdChild.Exec(Kids.Shell, ["sh", "-c", "read x; exit 4"]).WithFd(0, read));
            pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
            int status;
            if (Kids.HelperParent)
            {
                // The helper parent's child: never this process's, so no wait(-1) sees it; the
                // helper itself, running, is what waitpid(-1, WNOHANG) finds (README, H3).
                CLibc.waitpid(-1, &status, CLibc.WNOHANG).ShouldBe(0);
                CLibc.close(write);
                write = -1;
                Kids.WaitForExit(fd).ShouldBeTrue();
                CLibc.WaitidAll(reap: false).ShouldBe(0, "no exited child of this process");
                CLibc.waitpid(-1, &status, CLibc.WNOHANG).ShouldBe(0);
                CLibc.IsZombieChild(pid).ShouldBeTrue("still there for its descriptor");
                pdwait4(fd, out int kept, PdWaitOptions.None, out Rusage usage).ShouldBe(pid);
                WEXITSTATUS(kept).ShouldBe(4);
                usage.IsMissing.ShouldBeFalse();
                Report.Note("the helper parent's child: FreeBSD's row holds (wait(-1) never sees it); H3: the running helper is a child of the caller");
                return;
            }

            // Running.
            if (OperatingSystem.IsFreeBSD())
            {
                CLibc.waitpid(-1, &status, CLibc.WNOHANG).ShouldBe(-1);
                CLibc.Errno.ShouldBe(CLibc.ECHILD);
                CLibc.WaitidAll(reap: false).ShouldBe(-1);
                CLibc.Errno.ShouldBe(CLibc.ECHILD);
            }
            else
            {
                CLibc.waitpid(-1, &status, CLibc.WNOHANG).ShouldBe(0, "Linux (L1): the running child is visible to waitpid(-1)");
            }

            // Exited.
            CLibc.close(write);
            write = -1;
            Kids.WaitForExit(fd).ShouldBeTrue();
            if (OperatingSystem.IsFreeBSD())
            {
                CLibc.WaitidAll(reap: false).ShouldBe(-1);
                CLibc.Errno.ShouldBe(CLibc.ECHILD);
                CLibc.waitpid(-1, &status, CLibc.WNOHANG).ShouldBe(-1);
                CLibc.Errno.ShouldBe(CLibc.ECHILD);
                CLibc.waitpid(-1, &status, 0).ShouldBe(-1, "a blocking wait(-1) returns at once");
                CLibc.Errno.ShouldBe(CLibc.ECHILD);
                CLibc.IsZombieChild(pid).ShouldBeTrue("still there for its descriptor");
                pdwait4(fd, out int kept, PdWaitOptions.None, out Rusage usage).ShouldBe(pid);
                WEXITSTATUS(kept).ShouldBe(4);
                usage.IsMissing.ShouldBeFalse();
            }
            else
            {
                CLibc.WaitidAll(reap: false).ShouldBe(pid, "Linux (L1): waitid(P_ALL) sees the exited child");
                CLibc.waitpid(-1, &status, 0).ShouldBe(pid, "Linux (L1): wait(-1) reaps it");
                WEXITSTATUS(status).ShouldBe(4);
                if (PidfdInfoExit)
                {
                    pdwait4(fd, out int kept, PdWaitOptions.None, out Rusage usage).ShouldBe(pid, "the status the kernel kept");
                    kept.ShouldBe(status);
                    usage.IsMissing.ShouldBeTrue();
                }
                ShouldFailWith(pdwait4(fd, out _, PdWaitOptions.None, out _), Errno.ECHILD);
            }
        }
        finally
        {
            if (read >= 0) CLibc.close(read);
            if (write >= 0) CLibc.close(write);
            Kids.Cleanup(fd);
        }
    }

    [Test]
    [Row("§1", 11, "waitpid(pid, …) with the explicit pid", "does see and reap it")]
    public unsafe void S1_WaitpidWithTheExplicitPid_SeesAndReaps()
    {
        int pid = Kids.Exiting(out int fd, 9);
        try
        {
            int status;
            if (Kids.HelperParent)
            {
                Kids.WaitForExit(fd).ShouldBeTrue();
                CLibc.waitpid(pid, &status, CLibc.WNOHANG).ShouldBe(-1, "not this process's child");
                CLibc.Errno.ShouldBe(CLibc.ECHILD);
                pdwait4(fd, out status, PdWaitOptions.None, out _).ShouldBe(pid);
                WEXITSTATUS(status).ShouldBe(9);
                Report.Note("documented Linux difference H2: the helper parent's child is not the caller's: waitpid(pid) answers ECHILD");
                return;
            }
            CLibc.waitpid(pid, &status, 0).ShouldBe(pid);
            WIFEXITED(status).ShouldBeTrue();
            WEXITSTATUS(status).ShouldBe(9);
            CLibc.Exists(pid).ShouldBeFalse("reaped: no such process any more");
        }
        finally
        {
            close(fd);
        }
    }

    [Test]
    [Row("§1", 12, "creation cost",
        "independent of the caller's heap size (no copy of the caller's page tables): pdfork's time with 512 MiB more touched is at most 3 × the time without, + 10 ms (lower quartiles of 21 runs; a fork copying page tables takes tens of ms here)")]
    public void S1_CreationCost_IndependentOfTheCallersHeapSize()
    {
        TimeSpan small = CreationTime();
        TimeSpan big = WithABiggerHeap(CreationTime);
        GC.Collect();
        TestContext.Progress.WriteLine($"creation: {small.TotalMilliseconds:F2} ms, with 512 MiB more {big.TotalMilliseconds:F2} ms");
        big.ShouldBeLessThanOrEqualTo(small * 3 + TimeSpan.FromMilliseconds(10));

        static TimeSpan WithABiggerHeap(Func<TimeSpan> measure)
        {
            byte[] heap = GC.AllocateUninitializedArray<byte>(512 << 20, pinned: true);
            for (int i = 0; i < heap.Length; i += 4096)
                heap[i] = 1; // resident: page tables exist for all of it
            TimeSpan result = measure();
            GC.KeepAlive(heap);
            return result;
        }

        // The lower quartile: a busy machine only ever adds time.
        static TimeSpan CreationTime()
        {
            var times = new List<TimeSpan>();
            for (int i = 0; i < 21; i++)
            {
                var clock = Stopwatch.StartNew();
                int pid = pdfork(out int fd, PD_CLOEXEC, PdChild.Exec("/usr/bin/true", ["true"]));
                clock.Stop();
                pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
                Kids.WaitForExit(fd).ShouldBeTrue();
                pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
                close(fd);
                times.Add(clock.Elapsed);
            }
            times.Sort();
            return times[times.Count / 4];
        }
    }

    /// <summary>The numbers of this process's open process descriptors (pdgetpid answers 0 for them only).</summary>
    private static List<int> ProcessDescriptorNumbers()
    {
        var numbers = new List<int>();
        int upTo = Math.Max(1024, CLibc.LowestFreeNumber() + 512);
        for (int fd = 0; fd < upTo; fd++)
        {
            if (CLibc.IsOpen(fd) && pdgetpid(fd, out _) == 0)
                numbers.Add(fd);
        }
        return numbers;
    }

    /// <summary>
    /// A sleeper whose descriptor is 0, the lowest free number while standard input is set aside.
    /// Another thread of the runtime may hold 0 for an instant: then the child goes and the
    /// attempt is repeated (bounded).
    /// </summary>
    private static int SleeperOnZero(int flags)
    {
        for (int attempt = 0; attempt < 5; attempt++)
        {
            Kids.Eventually(() => !CLibc.IsOpen(0)).ShouldBeTrue("descriptor 0 is free");
            int pid = Kids.Sleeper(out int fd, flags);
            if (fd == 0)
                return pid;
            Kids.Cleanup(fd);
        }
        Assert.Fail("pdfork never got descriptor 0, the lowest free number");
        return -1;
    }

    /// <summary>Whether the kernel keeps a reaped child's exit status for its pidfd (Linux 6.15+, §10 L1).</summary>
    private static bool PidfdInfoExit => HostFeatures.All.Any(f => f.Name == "PIDFD_INFO_EXIT" && f.Found);
}

/// <summary>
/// Counts the SIGCHLD this process receives while it lives (through the runtime's
/// PosixSignalRegistration, which only observes). <see cref="Settle"/> sends this process a
/// SIGWINCH (higher-numbered than SIGCHLD on both systems, so delivered after a pending SIGCHLD)
/// and waits until it has been handled: by then any SIGCHLD sent earlier has been counted.
/// </summary>
internal sealed class SignalWatch : IDisposable
{
    private readonly PosixSignalRegistration _sigchld;
    private readonly PosixSignalRegistration _sigwinch;
    private int _sigchldCount;
    private int _sigwinchCount;

    internal SignalWatch()
    {
        _sigchld = PosixSignalRegistration.Create(PosixSignal.SIGCHLD, _ => Interlocked.Increment(ref _sigchldCount));
        _sigwinch = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => Interlocked.Increment(ref _sigwinchCount));
    }

    internal int Sigchld => Volatile.Read(ref _sigchldCount);

    internal void Settle()
    {
        int before = Volatile.Read(ref _sigwinchCount);
        CLibc.kill(CLibc.getpid(), CLibc.SIGWINCH).ShouldBe(0);
        Kids.Eventually(() => Volatile.Read(ref _sigwinchCount) > before).ShouldBeTrue("this process's own SIGWINCH is handled");
    }

    public void Dispose()
    {
        _sigwinch.Dispose();
        _sigchld.Dispose();
    }
}
