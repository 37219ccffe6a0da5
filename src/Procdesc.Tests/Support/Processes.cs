using System.Diagnostics;

namespace Procdesc.Tests.Support;

/// <summary>Observing real processes through /proc, with bounded waits (never a fixed sleep).</summary>
internal static class Processes
{
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

    /// <summary>What the library knows of the child (for failure messages).</summary>
    internal static string LibraryState(int pid) =>
        Procdesc.HostBackend.Current is Procdesc.Backends.Linux.LinuxBackend linux ? linux.Diagnose(pid) : "";

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
        Kids.Eventually(() => File.ReadAllBytes($"/proc/{pid}/cmdline") is { Length: > 0 } line && !line.AsSpan().SequenceEqual(own))
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
        Kids.Eventually(() => (now = WithoutRuntimeFiles(OpenDescriptors())).IsSubsetOf(before))
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

    /// <summary>Drops the assemblies, native libraries and symbol files the runtime opened meanwhile (it keeps them open).</summary>
    private static SortedSet<int> WithoutRuntimeFiles(SortedSet<int> fds)
    {
        fds.RemoveWhere(fd =>
        {
            try
            {
                string? target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
                return target is not null && (target.EndsWith(".dll", StringComparison.Ordinal) || target.EndsWith(".so", StringComparison.Ordinal)
                    || target.EndsWith(".pdb", StringComparison.Ordinal)); // symbols, read for an exception's stack trace
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
