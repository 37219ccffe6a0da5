using System.Globalization;
using Procdesc.Interop;

namespace Procdesc.Backends.Linux;

/// <summary>
/// Facts about the process behind a pidfd, asked of the kernel through the pidfd itself
/// (PIDFD_GET_INFO, Linux 6.13+) so that they cannot belong to a recycled pid; /proc is the
/// fallback, read by pid and then confirmed by a signal-0 probe through the same pidfd.
/// </summary>
internal readonly record struct ProcessFacts(int Pid, uint Uid, uint Gid, long StartTimeUnixNs)
{
    private static readonly long TicksPerSecond = ReadClockTicks();

    /// <summary>What the kernel still knows; Pid is 0 once the process has been reaped.</summary>
    internal static unsafe ProcessFacts Read(int pidfd)
    {
        var info = new PidfdInfo { Mask = LinuxSyscalls.PIDFD_INFO_PID | LinuxSyscalls.PIDFD_INFO_CREDS };
        int pid;
        uint uid = 0, gid = 0;
        if (Libc.ioctl(pidfd, LinuxSyscalls.PIDFD_GET_INFO, &info) == 0)
        {
            pid = (info.Mask & LinuxSyscalls.PIDFD_INFO_PID) != 0 ? (int)info.Pid : 0;
            if ((info.Mask & LinuxSyscalls.PIDFD_INFO_CREDS) != 0)
            {
                uid = info.Ruid;
                gid = info.Rgid;
            }
        }
        else
        {
            pid = PidFromFdinfo(pidfd);
            if (pid > 0)
                (uid, gid) = CredentialsFromProc(pid);
        }
        long start = pid > 0 ? StartTimeFromProc(pid) : 0;
        if (pid > 0 && LinuxSyscalls.pidfd_send_signal(pidfd, 0) != 0
            && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == (int)Mono.Unix.Native.Errno.ESRCH)
            return new ProcessFacts(pid, 0, 0, 0); // reaped while we read: the /proc facts may be another's
        return new ProcessFacts(pid, uid, gid, start);
    }

    /// <summary>The real uid and gid now (they change with setuid in the child); false once reaped.</summary>
    internal static unsafe bool TryCredentials(int pidfd, int pid, out uint uid, out uint gid)
    {
        var info = new PidfdInfo { Mask = LinuxSyscalls.PIDFD_INFO_CREDS };
        if (Libc.ioctl(pidfd, LinuxSyscalls.PIDFD_GET_INFO, &info) == 0)
        {
            uid = info.Ruid;
            gid = info.Rgid;
            return (info.Mask & LinuxSyscalls.PIDFD_INFO_CREDS) != 0;
        }
        (uid, gid) = pid > 0 ? CredentialsFromProc(pid) : (0u, 0u);
        return pid > 0 && LinuxSyscalls.pidfd_send_signal(pidfd, 0) == 0;
    }

    /// <summary>
    /// The wait status the kernel kept after the process was reaped, by anyone (PIDFD_INFO_EXIT,
    /// Linux 6.15+): how the library still answers after a foreign wait(-1) took the child (§10 L1).
    /// </summary>
    internal static unsafe bool TryKeptExitStatus(int pidfd, out int status)
    {
        var info = new PidfdInfo { Mask = LinuxSyscalls.PIDFD_INFO_EXIT };
        status = 0;
        if (Libc.ioctl(pidfd, LinuxSyscalls.PIDFD_GET_INFO, &info) != 0 || (info.Mask & LinuxSyscalls.PIDFD_INFO_EXIT) == 0)
            return false;
        status = info.ExitCode;
        return true;
    }

    private static int PidFromFdinfo(int fd)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/self/fdinfo/{fd}"))
                if (line.StartsWith("Pid:", StringComparison.Ordinal))
                    return Math.Max(0, int.Parse(line.AsSpan(4).Trim(), CultureInfo.InvariantCulture));
        }
        catch (IOException) { }
        return 0;
    }

    private static (uint, uint) CredentialsFromProc(int pid)
    {
        uint uid = 0, gid = 0;
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                    uid = FirstNumber(line);
                else if (line.StartsWith("Gid:", StringComparison.Ordinal))
                    gid = FirstNumber(line);
            }
        }
        catch (IOException) { }
        return (uid, gid);

        static uint FirstNumber(string line) =>
            uint.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>/proc/PID/stat field 22 (clock ticks after boot) plus /proc/stat's btime.</summary>
    private static long StartTimeFromProc(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] afterComm = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(afterComm[22 - 3], CultureInfo.InvariantCulture);
            long bootSeconds = 0;
            foreach (string line in File.ReadLines("/proc/stat"))
                if (line.StartsWith("btime ", StringComparison.Ordinal))
                    bootSeconds = long.Parse(line.AsSpan(6), CultureInfo.InvariantCulture);
            return bootSeconds * 1_000_000_000 + ticks * (1_000_000_000 / TicksPerSecond);
        }
        catch (IOException) { return 0; }
    }

    private static long ReadClockTicks()
    {
        long ticks = Libc.sysconf(Libc._SC_CLK_TCK);
        return ticks > 0 ? ticks : 100;
    }
}
