using System.Diagnostics;

namespace Procdesc.Tests.Support;

/// <summary>Observing real processes through /proc, with bounded waits (never a fixed sleep).</summary>
internal static class Processes
{
    internal static readonly TimeSpan DefaultBound = TimeScale.Of(TimeSpan.FromSeconds(10));

    /// <summary>The state letter of /proc/PID/stat (R, S, Z, …), or null when no such process exists.</summary>
    internal static char? State(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (IOException) { return null; }
    }

    /// <summary>A numbered field of /proc/PID/stat (1-based, as in proc(5)).</summary>
    internal static string StatField(int pid, int field)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[field - 3];
    }

    /// <summary>The parent pid of a live process.</summary>
    internal static int ParentOf(int pid) => int.Parse(StatField(pid, 4));

    /// <summary>Retries a check of kernel state until it holds or the bound passes.</summary>
    internal static bool Eventually(Func<bool> condition, TimeSpan? bound = null)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan limit = bound ?? DefaultBound;
        int pause = 1;
        while (!condition())
        {
            if (clock.Elapsed > limit)
                return false;
            Thread.Sleep(pause);
            pause = Math.Min(pause * 2, 50);
        }
        return true;
    }

    /// <summary>Alive (sleeping, running, or briefly in uninterruptible I/O) and no SIGKILL on its
    /// way: a child that is already being killed does not count as surviving.</summary>
    internal static bool StillRunning(int pid)
    {
        if (State(pid) is not ('S' or 'R' or 'D'))
            return false;
        const ulong SigKill = 1UL << ((int)Signum.SIGKILL - 1);
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if ((line.StartsWith("SigPnd:", StringComparison.Ordinal) || line.StartsWith("ShdPnd:", StringComparison.Ordinal))
                && (Convert.ToUInt64(line[7..].Trim(), 16) & SigKill) != 0)
                return false;
        }
        return true;
    }

    /// <summary>
    /// The child was reaped through the library: no process has the pid any more — except on Linux
    /// without pidfs, where the kernel's reap waits for the child's last descriptor (README, N1),
    /// so the child is still this process's zombie.
    /// </summary>
    internal static void ShouldBeReapedThroughTheLibrary(int pid, string? because = null)
    {
        if (Kernel.ZombieUntilLastClose)
            State(pid).ShouldBe('Z', because);
        else
            State(pid).ShouldBeNull(because);
    }

    /// <summary>What the library knows of the child (for failure messages).</summary>
    internal static string LibraryState(int pid) =>
        Procdesc.Backends.ProcdescBackend.Current is Procdesc.Backends.Linux.LinuxBackend linux ? linux.Diagnose(pid) : "";

    /// <summary>True once the process is gone entirely (not even a zombie), i.e. reaped.</summary>
    internal static bool EventuallyGone(int pid, TimeSpan? bound = null) => Eventually(() => State(pid) is null, bound);

    /// <summary>Blocks on the descriptor with poll until the child has exited (POLLHUP); bounded.</summary>
    internal static bool WaitForHangup(int fd, int timeoutMs = 10_000)
    {
        var fds = new[] { new Pollfd { fd = fd, events = PollEvents.POLLIN } };
        int r = PollThroughSignals(fds, TimeScale.Ms(timeoutMs));
        return r == 1 && (fds[0].revents & PollEvents.POLLHUP) != 0;
    }

    /// <summary>
    /// PdSyscall.poll, resumed after EINTR for the rest of the time: children the tests start raise
    /// SIGCHLD in this process on Linux (§10 L1), and once System.Diagnostics.Process has been used
    /// the runtime handles it, which interrupts any blocking poll (poll(2) is never restarted).
    /// </summary>
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

    /// <summary>
    /// pdfork returns once the child's exec has passed the point of no return (the kernel wakes a
    /// vfork parent when the old memory is released); the kernel then still closes close-on-exec
    /// descriptors and lays out argv. This waits, bounded, until that is done too.
    /// </summary>
    internal static void WaitUntilExecFinished(int pid)
    {
        // pdfork returns once the exec is past its point of no return (the vfork release); on 6.1
        // /proc/PID/cmdline can still show this process's own arguments for a moment after that.
        byte[] own = File.ReadAllBytes("/proc/self/cmdline");
        Eventually(() => File.ReadAllBytes($"/proc/{pid}/cmdline") is { Length: > 0 } line && !line.AsSpan().SequenceEqual(own))
            .ShouldBeTrue();
    }

    /// <summary>The descriptor numbers open in this process now.</summary>
    internal static SortedSet<int> OpenDescriptors()
    {
        var result = new SortedSet<int>();
        foreach (string entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            result.Add(int.Parse(Path.GetFileName(entry)));
        // The directory handle used for the listing is gone by now.
        result.RemoveWhere(fd => !File.Exists($"/proc/self/fd/{fd}") && !Directory.Exists($"/proc/self/fd/{fd}"));
        return result;
    }

    /// <summary>Every descriptor open now was open at <paramref name="before"/>, once the library's
    /// background work (reaping closed children) has settled; bounded.</summary>
    internal static void NoDescriptorLeaked(SortedSet<int> before)
    {
        SortedSet<int> now = OpenDescriptors();
        Eventually(() => (now = WithoutRuntimeFiles(OpenDescriptors())).IsSubsetOf(before))
            .ShouldBeTrue($"leaked descriptors: {string.Join(", ", now.Except(before).Select(Describe))}");

        static string Describe(int fd)
        {
            try { return $"{fd} ({new FileInfo($"/proc/self/fd/{fd}").LinkTarget})"; }
            catch (IOException) { return fd.ToString(); }
        }
    }

    /// <summary>What a descriptor number of this process refers to ("-" when it is not open).</summary>
    internal static string LinkTarget(int fd)
    {
        try { return new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? "-"; }
        catch (IOException) { return "-"; }
    }

    /// <summary>Drops the assemblies and native libraries the runtime opened meanwhile (it keeps them open).</summary>
    private static SortedSet<int> WithoutRuntimeFiles(SortedSet<int> fds)
    {
        fds.RemoveWhere(fd =>
        {
            try
            {
                string? target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
                return target is not null && (target.EndsWith(".dll", StringComparison.Ordinal) || target.EndsWith(".so", StringComparison.Ordinal));
            }
            catch (IOException) { return false; }
        });
        return fds;
    }

    /// <summary>No child of this process now that was not one at <paramref name="before"/> (an
    /// earlier test's child may have been reaped meanwhile: the library reaps in the background).</summary>
    internal static void NoNewChildren(int[] before, string? because = null) =>
        Children().Except(before).ShouldBeEmpty(because);

    /// <summary>The children of this process as the kernel lists them (zombies included).</summary>
    internal static int[] Children()
    {
        var all = new List<int>();
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                foreach (string pid in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    all.Add(int.Parse(pid));
            }
            catch (IOException) { }
        }
        return all.ToArray();
    }
}
