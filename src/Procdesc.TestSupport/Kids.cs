using System.Diagnostics;

namespace Procdesc.TestSupport;

/// <summary>
/// Children the suite starts through PdSyscall, and bounded ways to observe them with libc only.
/// Every wait is bounded; none sleeps and hopes.
/// </summary>
internal static class Kids
{
    internal const string Shell = "/bin/sh";

    /// <summary>Where a documented difference met on the way is recorded (the conformance suite
    /// puts it in its report's row); by default nowhere.</summary>
    internal static Action<string> Note { get; set; } = _ => { };
    internal static readonly TimeSpan Bound = TimeScale.Of(TimeSpan.FromSeconds(10));
    internal const int BoundMs = 10_000;

    /// <summary>A child that sleeps until killed (bounded: 60 s, so a failed test leaves nothing for long).</summary>
    internal static int Sleeper(out int fd, int flags = PD_CLOEXEC)
    {
        int pid = pdfork(out fd, flags, PdChild.Exec("/bin/sleep", ["sleep", "60"]));
        pid.ShouldBeGreaterThan(0, $"pdfork(sleep) failed: {GetLastError()}");
        return pid;
    }

    /// <summary>A child that runs a shell command.</summary>
    internal static int Sh(out int fd, string command, int flags = PD_CLOEXEC)
    {
        int pid = pdfork(out fd, flags, PdChild.Exec(Shell, ["sh", "-c", command]));
        pid.ShouldBeGreaterThan(0, $"pdfork(sh -c {command}) failed: {GetLastError()}");
        return pid;
    }

    /// <summary>A child that exits with <paramref name="code"/> at once.</summary>
    internal static int Exiting(out int fd, int code, int flags = PD_CLOEXEC) => Sh(out fd, $"exit {code}", flags);

    /// <summary>A child that has exited: a zombie whose descriptor is open.</summary>
    internal static int Zombie(out int fd, int code, int flags = PD_CLOEXEC)
    {
        int pid = Exiting(out fd, code, flags);
        try
        {
            WaitForExit(fd).ShouldBeTrue("the child exits (POLLHUP)");
            CLibc.IsZombieChild(pid).ShouldBeTrue("exited, not yet reaped");
            return pid;
        }
        catch
        {
            Cleanup(fd);
            throw;
        }
    }

    /// <summary>A child killed by <paramref name="signal"/>: a zombie whose descriptor is open.</summary>
    internal static int ZombieKilledBy(out int fd, Signum signal)
    {
        int pid = Sleeper(out fd);
        try
        {
            pdkill(fd, signal).ShouldBe(0);
            WaitForExit(fd).ShouldBeTrue($"the child dies of {signal} (POLLHUP)");
            CLibc.IsZombieChild(pid).ShouldBeTrue("killed, not yet reaped");
            return pid;
        }
        catch
        {
            Cleanup(fd);
            throw;
        }
    }

    /// <summary>
    /// A sleeper stopped with SIGSTOP, its stop not yet taken by any wait. SIGSTOP, not SIGTSTP:
    /// the kernel discards SIGTSTP sent to an orphaned process group (a test run started by init,
    /// or in the background).
    /// </summary>
    internal static int Stopped(out int fd)
    {
        int pid = Sleeper(out fd);
        try
        {
            pdkill(fd, Signum.SIGSTOP).ShouldBe(0);
            Eventually(() => CLibc.IsStoppedChild(pid)).ShouldBeTrue("the child stops");
            return pid;
        }
        catch
        {
            Cleanup(fd);
            throw;
        }
    }

    /// <summary>A child that has exited and been reaped with pdwait4 (its descriptor stays open).</summary>
    internal static int Reaped(out int fd, int code = 0)
    {
        int pid = Exiting(out fd, code);
        try
        {
            WaitForExit(fd).ShouldBeTrue();
            pdwait4(fd, out _, PdWaitOptions.None, out _).ShouldBe(pid);
            return pid;
        }
        catch
        {
            Cleanup(fd);
            throw;
        }
    }

    /// <summary>Kills (if needed) and reaps a test's child and closes the descriptor; safe to call twice and with -1.</summary>
    internal static void Cleanup(int fd)
    {
        if (fd < 0 || pdgetpid(fd, out _) != 0)
            return; // not (or no longer) a process descriptor of the test's
        pdkill(fd, Signum.SIGKILL);
        if (WaitForExit(fd, BoundMs))
            pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _);
        close(fd);
    }

    /// <summary>Linux before 6.9 (no pidfs): the library takes the status but the kernel's reap waits
    /// for the child's last descriptor (README, difference N1).</summary>
    internal static bool ZombieUntilLastClose => PdSyscall.Backend.Contains("no pidfs", StringComparison.Ordinal);

    /// <summary>
    /// The child was reaped through the library: no process has the pid any more. On Linux without
    /// pidfs it stays this process's zombie until its last descriptor closes (N1), and the row's
    /// result says so.
    /// </summary>
    internal static void ShouldBeReapedThroughTheLibrary(int pid, string? because = null)
    {
        if (ZombieUntilLastClose)
        {
            // N1 is Linux only: /proc says zombie whoever the parent is (a host program of the test, too).
            CLibc.ZombieState(pid).ShouldBeTrue("without pidfs, the zombie stays until the last descriptor closes (N1)");
            Note("documented Linux difference N1: without pidfs the zombie stays until the last descriptor closes");
            return;
        }
        CLibc.Exists(pid).ShouldBeFalse(because);
    }

    /// <summary>PdSyscall.poll, resumed after EINTR for the time left (SIGCHLD reaches this process on Linux, §10 L1).</summary>
    internal static int PollThroughSignals(Pollfd[] fds, int timeoutMs)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int left = timeoutMs < 0 ? -1 : (int)Math.Max(0, timeoutMs - clock.ElapsedMilliseconds);
            int r = poll(fds, left);
            if (r >= 0 || GetLastError() != Errno.EINTR)
                return r;
        }
    }

    /// <summary>Blocks (bounded) until the child behind <paramref name="fd"/> has exited: POLLHUP.</summary>
    internal static bool WaitForExit(int fd, int timeoutMs = BoundMs)
    {
        var fds = new[] { new Pollfd { fd = fd, events = PollEvents.POLLIN } };
        return PollThroughSignals(fds, TimeScale.Ms(timeoutMs)) == 1 && (fds[0].revents & PollEvents.POLLHUP) != 0;
    }

    /// <summary>Retries a check until it holds or the bound passes (short pauses, growing to 20 ms).</summary>
    internal static bool Eventually(Func<bool> condition, TimeSpan? bound = null)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan limit = bound ?? Bound;
        int pause = 1;
        while (!condition())
        {
            if (clock.Elapsed > limit)
                return false;
            Thread.Sleep(pause);
            pause = Math.Min(pause * 2, 20);
        }
        return true;
    }

    /// <summary>True once no process has this pid any more (not even a zombie): it has been reaped.</summary>
    internal static bool EventuallyGone(int pid, TimeSpan? bound = null) => Eventually(() => !CLibc.Exists(pid), bound);

    /// <summary>A child of this process that exists and has not exited.</summary>
    internal static bool IsRunning(int pid) => CLibc.Exists(pid) && !CLibc.IsZombieChild(pid);

    /// <summary>
    /// A barrier for "the child was NOT killed": a throwaway child is closed and awaited until it
    /// is gone. FreeBSD kills at close; the Linux library handles closes in order in the background,
    /// so once a later close has been handled, every earlier one has been too.
    /// </summary>
    internal static void ReaperBarrier()
    {
        int pid = Sleeper(out int fd);
        close(fd).ShouldBe(0);
        EventuallyGone(pid).ShouldBeTrue("the barrier child is killed and reaped");
    }

    /// <summary>
    /// Waits (bounded) until this process has no child that waitid(P_ALL) could report: on Linux
    /// the library has reaped what earlier tests closed (on FreeBSD procdesc children are invisible to P_ALL anyway).
    /// </summary>
    internal static void NoChildLeftForWaitAny() =>
        Eventually(() => HelperParent ? CLibc.WaitidAll(reap: false) == 0 // the helper parent runs, no child has exited
                : CLibc.WaitidAll(reap: false) == -1 && CLibc.Errno == CLibc.ECHILD)
            .ShouldBeTrue($"waitid(P_ALL) still finds a child of this process: {CLibc.WaitidAll(reap: false)}");

    /// <summary>
    /// The caller's waitpid(pid) on a zombie child. False for the helper parent's child, which the
    /// caller cannot reap (README, H2): then nothing was reaped, waitpid answered ECHILD, and the
    /// row's case cannot happen.
    /// </summary>
    internal static unsafe bool ReapedByWaitpid(int pid, out int status)
    {
        int raw;
        int r = CLibc.waitpid(pid, &raw, 0);
        status = raw;
        if (HelperParent)
        {
            r.ShouldBe(-1, "the helper parent's child is not the caller's");
            CLibc.Errno.ShouldBe(CLibc.ECHILD);
            Note("documented Linux difference H2: the helper parent's child is not the caller's to reap (waitpid ECHILD): nothing is reaped outside the library");
            return false;
        }
        r.ShouldBe(pid);
        return true;
    }

    /// <summary>Linux with the helper parent (the program is pid 1, ignores SIGCHLD, or
    /// PROCDESC_LINUX_PARENT=helper): children are the helper's (README, "The helper parent").</summary>
    internal static bool HelperParent => HostFeatures.All.Any(f => f.Name == "helper parent" && f.Found);

    /// <summary>FreeBSD's rows for SIGCHLD and wait(-1) hold: on FreeBSD, and on Linux for the helper
    /// parent's children (§10 L1 does not apply to them).</summary>
    internal static bool NoSigchldForChildren => OperatingSystem.IsFreeBSD() || HelperParent;

    /// <summary>Runs a program through pdfork with stdout on a pipe; returns what it printed (bounded) and its exit status.</summary>
    internal static (string Output, int Status) Run(string path, params string[] argv)
    {
        (string output, int status, _) = Run(PdChild.Exec(path, argv), path);
        return (output, status);
    }

    /// <summary>Runs <paramref name="child"/> through pdfork with stdout on a pipe: what it printed
    /// (bounded), its exit status and its pid.</summary>
    internal static (string Output, int Status, int Pid) Run(PdChild child, string what)
    {
        var (read, write) = CLibc.Pipe();
        int fd = -1;
        try
        {
            int pid = pdfork(out fd, PD_CLOEXEC, child.WithFd(1, write));
            CLibc.close(write);
            write = -1;
            pid.ShouldBeGreaterThan(0, $"pdfork({what}) failed: {GetLastError()}");
            using var reader = new LineReader(read);
            read = -1;
            string output = reader.ReadToEnd(BoundMs);
            WaitForExit(fd).ShouldBeTrue($"{what} ends");
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            return (output, status, pid);
        }
        finally
        {
            if (read >= 0) CLibc.close(read);
            if (write >= 0) CLibc.close(write);
            Cleanup(fd);
        }
    }

    /// <summary>The pids whose parent is this process, from `ps -A -o pid= -o ppid=` (zombies included; ps itself left out).</summary>
    internal static HashSet<int> ChildrenOfThisProcess()
    {
        (string output, int status, int ps) = Run(PdChild.ExecFromPath("ps", ["ps", "-A", "-o", "pid=", "-o", "ppid="]), "ps");
        WEXITSTATUS(status).ShouldBe(0, "ps -A -o pid= -o ppid= succeeds");
        int self = CLibc.getpid();
        var children = new HashSet<int>();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 2 && int.TryParse(fields[0], out int pid) && int.TryParse(fields[1], out int parent)
                && parent == self && pid != ps)
                children.Add(pid);
        }
        return children;
    }

    /// <summary>The first line a program prints when run through pdfork (bounded).</summary>
    internal static string FirstLine(string path, params string[] argv) => Run(path, argv).Output.Split('\n')[0];
}
