using System.Runtime.InteropServices;

namespace Procdesc.Benchmarks.Harness;

/// <summary>The few libc calls the harness makes itself (the library's own interop is internal).</summary>
internal static unsafe partial class Native
{
    private const string Libc = "libc.so.6";
    private const int CLOCK_MONOTONIC = 1;
    internal const int O_CLOEXEC = 0x80000;
    internal const short POLLIN = 1, POLLHUP = 0x10;
    internal const int P_PIDFD = 3, WEXITED = 4, WNOHANG = 1, __WALL = 0x40000000;
    internal static readonly long SYS_waitid = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 247 : 95;
    internal const long SYS_pidfd_send_signal = 424;

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport(Libc, EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, long* timespec);

    [LibraryImport(Libc, EntryPoint = "pipe2", SetLastError = true)]
    private static partial int Pipe2(int* fds, int flags);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport(Libc, EntryPoint = "poll", SetLastError = true)]
    internal static partial int Poll(PollFd* fds, ulong count, int timeout);

    [LibraryImport(Libc, EntryPoint = "fstat", SetLastError = true)]
    internal static partial int FStat(int fd, byte* stat);

    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall(long number, long a, long b, long c, long d, long e);

    /// <summary>CLOCK_MONOTONIC in nanoseconds: the clock the C baselines read, so times compare across processes.</summary>
    internal static long NowNs()
    {
        long* ts = stackalloc long[2];
        ClockGetTime(CLOCK_MONOTONIC, ts);
        return ts[0] * 1_000_000_000 + ts[1];
    }

    /// <summary>A close-on-exec pipe: later children never inherit either end.</summary>
    internal static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (Pipe2(fds, O_CLOEXEC) != 0)
            throw new IOException($"pipe2: errno {Marshal.GetLastPInvokeError()}");
        return (fds[0], fds[1]);
    }

    /// <summary>Blocks until the descriptor polls readable (a pidfd: the process has exited).</summary>
    internal static void PollReadable(int fd)
    {
        var p = new PollFd { Fd = fd, Events = POLLIN };
        while (Poll(&p, 1, -1) < 0)
        {
        }
    }

    /// <summary>The number of this process's threads (/proc/self/status).</summary>
    internal static int ThreadCount()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("Threads:", StringComparison.Ordinal))
                return int.Parse(line.AsSpan(8).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return -1;
    }

    /// <summary>The number of this process's open descriptors.</summary>
    internal static int OpenDescriptorCount() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>The number of this process's open pidfds (the caller's and the library's).</summary>
    internal static int PidfdCount()
    {
        int count = 0;
        foreach (string link in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                string? target = new FileInfo(link).LinkTarget;
                if (target is not null && target.Contains("pidfd", StringComparison.Ordinal))
                    count++;
            }
            catch (IOException)
            {
                // closed while we looked
            }
        }
        return count;
    }

    /// <summary>This process's resident set in KiB (/proc/self/status VmRSS).</summary>
    internal static long ResidentKiB()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return -1;
    }
}
