using System.Diagnostics;
using System.Text;

namespace Procdesc.Compat.Tests.Support;

/// <summary>
/// Children the suite starts through PdSyscall, and bounded ways to observe them with libc only.
/// Every wait is bounded; none sleeps and hopes.
/// </summary>
internal static class Kids
{
    internal const string Shell = "/bin/sh";
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
            CLibc.IsZombieChild(pid).ShouldBeTrue("without pidfs, the zombie stays until the last descriptor closes (N1)");
            Report.Note("documented Linux difference N1: without pidfs the zombie stays until the last descriptor closes");
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
            Report.Note("documented Linux difference H2: the helper parent's child is not the caller's to reap (waitpid ECHILD): nothing is reaped outside the library");
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
        var (read, write) = CLibc.Pipe();
        int fd = -1;
        try
        {
            int pid = pdfork(out fd, PD_CLOEXEC, PdChild.Exec(path, argv).WithFd(1, write));
            CLibc.close(write);
            write = -1;
            pid.ShouldBeGreaterThan(0, $"pdfork({path}) failed: {GetLastError()}");
            using var reader = new LineReader(read);
            read = -1;
            string output = reader.ReadToEnd(BoundMs);
            WaitForExit(fd).ShouldBeTrue($"{path} ends");
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(pid);
            return (output, status);
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
        var (read, write) = CLibc.Pipe();
        int fd = -1;
        try
        {
            int ps = pdfork(out fd, PD_CLOEXEC, PdChild.ExecFromPath("ps", ["ps", "-A", "-o", "pid=", "-o", "ppid="]).WithFd(1, write));
            CLibc.close(write);
            write = -1;
            ps.ShouldBeGreaterThan(0, $"pdfork(ps) failed: {GetLastError()}");
            using var reader = new LineReader(read);
            read = -1;
            string output = reader.ReadToEnd(BoundMs);
            WaitForExit(fd).ShouldBeTrue("ps ends");
            pdwait4(fd, out int status, PdWaitOptions.None, out _).ShouldBe(ps);
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
        finally
        {
            if (read >= 0) CLibc.close(read);
            if (write >= 0) CLibc.close(write);
            Cleanup(fd);
        }
    }

    /// <summary>The first line a program prints when run through pdfork (bounded).</summary>
    internal static string FirstLine(string path, params string[] argv) => Run(path, argv).Output.Split('\n')[0];
}

/// <summary>Reads lines from a pipe with a bound on the time spent; owns (and closes) the descriptor.</summary>
internal sealed class LineReader(int fd) : IDisposable
{
    private readonly StringBuilder _pending = new();
    private int _fd = fd;

    internal int Fd => _fd;

    /// <summary>The next line, or null at end of file; fails the test if nothing comes within the bound.</summary>
    internal string? ReadLine(int timeoutMs = Kids.BoundMs)
    {
        timeoutMs = TimeScale.Ms(timeoutMs);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string text = _pending.ToString();
            int newline = text.IndexOf('\n');
            if (newline >= 0)
            {
                _pending.Remove(0, newline + 1);
                return text[..newline];
            }
            int left = (int)(timeoutMs - clock.ElapsedMilliseconds);
            left.ShouldBeGreaterThan(0, $"no line within {timeoutMs} ms (so far: '{text}')");
            switch (ReadSome(left))
            {
                case 0:
                    _pending.Clear();
                    return text.Length > 0 ? text : null;
                case < 0:
                    continue;
            }
        }
    }

    /// <summary>Everything up to end of file; fails the test if the end does not come within the bound.</summary>
    internal string ReadToEnd(int timeoutMs = Kids.BoundMs)
    {
        timeoutMs = TimeScale.Ms(timeoutMs);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int left = (int)(timeoutMs - clock.ElapsedMilliseconds);
            left.ShouldBeGreaterThan(0, $"no end of file within {timeoutMs} ms (so far: '{_pending}')");
            if (ReadSome(left) == 0)
            {
                string all = _pending.ToString();
                _pending.Clear();
                return all;
            }
        }
    }

    /// <summary>True when the writing side is gone (end of file) within the bound; data is discarded.</summary>
    internal bool EndsWithin(int timeoutMs)
    {
        timeoutMs = TimeScale.Ms(timeoutMs);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int left = (int)(timeoutMs - clock.ElapsedMilliseconds);
            if (left <= 0)
                return false;
            int n = ReadSome(left);
            if (n == 0)
                return true;
            _pending.Clear();
        }
    }

    /// <summary>Bytes read (&gt; 0), 0 at end of file, -1 when the time ran out or a signal interrupted.</summary>
    private unsafe int ReadSome(int timeoutMs)
    {
        var fds = new[] { new Pollfd { fd = _fd, events = PollEvents.POLLIN } };
        if (Kids.PollThroughSignals(fds, timeoutMs) <= 0)
            return -1;
        byte* buffer = stackalloc byte[512];
        nint n = CLibc.read(_fd, buffer, 512);
        if (n < 0 && CLibc.Errno == CLibc.EINTR)
            return -1;
        n.ShouldBeGreaterThanOrEqualTo(0, $"read from {_fd}: errno {CLibc.Errno}");
        if (n > 0)
            _pending.Append(Encoding.UTF8.GetString(buffer, (int)n));
        return (int)n;
    }

    public void Dispose()
    {
        if (_fd >= 0)
            CLibc.close(_fd);
        _fd = -1;
    }
}

/// <summary>
/// A shell child that echoes every line it reads: proof of life on demand (a round trip), and a
/// death detector (its output pipe reaches end of file when it dies, as only it holds the write end).
/// It ignores SIGTERM, SIGINT and SIGHUP, so only SIGKILL (or the end of its input) ends it.
/// </summary>
internal sealed class EchoChild : IDisposable
{
    internal const string Script = "trap '' TERM INT HUP; echo $$; while read x; do echo \"$x\"; done";

    private int _input;
    private readonly LineReader _output;

    private EchoChild(int pid, int fd, int input, LineReader output)
    {
        Pid = pid;
        Fd = fd;
        _input = input;
        _output = output;
    }

    internal int Pid { get; }

    /// <summary>The child's process descriptor (-1 once the test has handed it over or closed it).</summary>
    internal int Fd { get; set; }

    /// <summary>Starts the child with pdfork and the given flags (and the kernel's kill-on-close,
    /// <see cref="PdChild.WithKernelKillOnClose"/>, if asked).</summary>
    internal static EchoChild Start(int flags = PD_CLOEXEC, bool kernelKillOnClose = false)
    {
        var (inRead, inWrite) = CLibc.Pipe();
        var (outRead, outWrite) = CLibc.Pipe();
        PdChild description = PdChild.Exec(Kids.Shell, ["sh", "-c", Script]).WithFd(0, inRead).WithFd(1, outWrite);
        int pid = pdfork(out int fd, flags, kernelKillOnClose ? description.WithKernelKillOnClose() : description);
        int errno = (int)GetLastError();
        CLibc.close(inRead);
        CLibc.close(outWrite);
        if (pid <= 0)
        {
            CLibc.close(inWrite);
            CLibc.close(outRead);
            Assert.Fail($"pdfork(echo child) failed: errno {(Errno)errno}");
        }
        var child = new EchoChild(pid, fd, inWrite, new LineReader(outRead));
        try
        {
            child._output.ReadLine().ShouldBe(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "the echo child says its pid");
            return child;
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>Adopts an echo child started elsewhere (by the parent program of §6) from its two pipe ends.</summary>
    internal static EchoChild Adopt(int input, int output, out int pid)
    {
        var reader = new LineReader(output);
        string? line = reader.ReadLine(60_000);
        line.ShouldNotBeNull("the echo child says its pid");
        pid = int.Parse(line, System.Globalization.CultureInfo.InvariantCulture);
        return new EchoChild(pid, -1, input, reader);
    }

    /// <summary>True when the child answers a round trip within the bound: it is alive and running.</summary>
    internal bool Answers(int timeoutMs = Kids.BoundMs)
    {
        string token = "ping-" + Guid.NewGuid().ToString("N")[..8];
        if (!CLibc.TryWriteText(_input, token + "\n"))
            return false; // EPIPE: nobody reads any more
        return _output.ReadLine(timeoutMs) == token;
    }

    /// <summary>True when the child dies (its output ends) within the bound.</summary>
    internal bool DiesWithin(int timeoutMs = Kids.BoundMs) => _output.EndsWithin(timeoutMs);

    /// <summary>Closes the child's input: it then exits on its own with status 0.</summary>
    internal void EndInput()
    {
        if (_input >= 0)
            CLibc.close(_input);
        _input = -1;
    }

    public void Dispose()
    {
        EndInput();
        Kids.Cleanup(Fd);
        _output.Dispose();
    }
}
