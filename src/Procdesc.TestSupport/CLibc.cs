using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Procdesc.TestSupport;

/// <summary>
/// The libc calls the suite makes behind the library's back to check what it did. Only calls that
/// exist with the same meaning on FreeBSD and Linux; where an ABI constant or a structure offset
/// differs, both values are here and the host's is picked at run time. Never Mono.Posix's Syscall
/// class (its native helper does not exist on FreeBSD), never /proc (FreeBSD has none by default).
/// </summary>
internal static unsafe partial class CLibc
{
    private const string Lib = "libc";

    private static readonly bool FreeBsd = OperatingSystem.IsFreeBSD();

    // Same on both systems.
    internal const int O_RDONLY = 0, O_WRONLY = 1;
    internal const int F_GETFD = 1, FD_CLOEXEC = 1;
    internal const int AF_UNIX = 1, SOCK_STREAM = 1;
    internal const int WNOHANG = 1, WSTOPPED = 2;
    internal const int RLIMIT_CORE = 4;
    /// <summary>Not shared: Linux 7, FreeBSD 8.</summary>
    internal static readonly int RLIMIT_NOFILE = FreeBsd ? 8 : 7;
    internal const int EPERM = 1, ESRCH = 3, EINTR = 4, EBADF = 9, ECHILD = 10, EINVAL = 22;
    internal const int SIGKILL = 9, SIGTERM = 15, SIGWINCH = 28;

    // Different numbers (FreeBSD / Linux).
    internal static readonly int O_CLOEXEC = FreeBsd ? 0x00100000 : 0x80000;
    internal static readonly int SOCK_CLOEXEC = FreeBsd ? 0x10000000 : 0x80000;
    internal static readonly int F_DUPFD_CLOEXEC = FreeBsd ? 17 : 1030;
    internal static readonly int WEXITED = FreeBsd ? 16 : 4;
    internal static readonly int WNOWAIT = FreeBsd ? 8 : 0x01000000;
    internal static readonly int WCONTINUED = FreeBsd ? 4 : 8;
    internal static readonly int P_PID = FreeBsd ? 0 : 1;
    internal static readonly int P_ALL = FreeBsd ? 7 : 0;
    internal static readonly int EAGAIN = FreeBsd ? 35 : 11;
    /// <summary>Offset of si_pid in siginfo_t (FreeBSD: after three ints; Linux: the union is 8-aligned).</summary>
    private static readonly int SiPidOffset = FreeBsd ? 12 : 16;
    /// <summary>Large enough for either system's siginfo_t (FreeBSD 80 bytes, Linux 128).</summary>
    private const int SiginfoSize = 256;

    [LibraryImport(Lib, SetLastError = true)] internal static partial int close(int fd);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int dup(int fd);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int dup2(int fd, int to);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int fcntl(int fd, int cmd, int arg);
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] internal static partial int open(string path, int flags, int mode);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int pipe2(int* fds, int flags);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int socketpair(int domain, int type, int protocol, int* fds);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint read(int fd, byte* buffer, nint count);
    [LibraryImport(Lib, SetLastError = true)] internal static partial nint write(int fd, byte* buffer, nint count);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int waitpid(int pid, int* status, int options);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int waitid(int idtype, long id, byte* siginfo, int options);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int kill(int pid, int signal);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int poll(NativePollfd* fds, ulong nfds, int timeout);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int setresuid(uint ruid, uint euid, uint suid);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int setresgid(uint rgid, uint egid, uint sgid);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int setrlimit(int resource, ulong* limits);
    [LibraryImport(Lib, SetLastError = true)] internal static partial int getrlimit(int resource, ulong* limits);
    [LibraryImport(Lib)] internal static partial int getpid();
    [LibraryImport(Lib)] internal static partial uint getuid();
    [LibraryImport(Lib)] internal static partial uint geteuid();
    [LibraryImport(Lib)] internal static partial uint getgid();

    internal static int Errno => Marshal.GetLastPInvokeError();

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativePollfd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    // "libc" alone is no loadable file name on glibc or FreeBSD.
#pragma warning disable CA2255 // the resolver must be in place before the first call, in any test
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(CLibc).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Lib)
            return IntPtr.Zero;
        string file = OperatingSystem.IsFreeBSD() ? "libc.so.7" : "libc.so.6";
        return NativeLibrary.TryLoad(file, out IntPtr handle) ? handle : IntPtr.Zero;
    }

    /// <summary>A pipe, both ends close-on-exec unless <paramref name="cloexec"/> is false.</summary>
    internal static (int Read, int Write) Pipe(bool cloexec = true)
    {
        int* fds = stackalloc int[2];
        pipe2(fds, cloexec ? O_CLOEXEC : 0).ShouldBe(0, $"pipe2: errno {Errno}");
        return (fds[0], fds[1]);
    }

    /// <summary>A pipe whose ends are numbered <paramref name="lowest"/> or more, both close-on-exec.</summary>
    internal static (int Read, int Write) PipeAbove(int lowest)
    {
        var (read, write) = Pipe();
        int highRead = fcntl(read, F_DUPFD_CLOEXEC, lowest);
        int highWrite = fcntl(write, F_DUPFD_CLOEXEC, lowest);
        close(read);
        close(write);
        highRead.ShouldBeGreaterThanOrEqualTo(lowest);
        highWrite.ShouldBeGreaterThanOrEqualTo(lowest);
        return (highRead, highWrite);
    }

    /// <summary>A connected pair of Unix stream sockets, close-on-exec.</summary>
    internal static (int A, int B) SocketPair()
    {
        int* fds = stackalloc int[2];
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds).ShouldBe(0, $"socketpair: errno {Errno}");
        return (fds[0], fds[1]);
    }

    internal static bool IsOpen(int fd) => fcntl(fd, F_GETFD, 0) >= 0;

    internal static bool IsCloseOnExec(int fd)
    {
        int flags = fcntl(fd, F_GETFD, 0);
        flags.ShouldBeGreaterThanOrEqualTo(0, $"fcntl(F_GETFD) on {fd}: errno {Errno}");
        return (flags & FD_CLOEXEC) != 0;
    }

    /// <summary>The number the next open would get (the lowest free one), found with dup and closed again.</summary>
    internal static int LowestFreeNumber()
    {
        int probe = dup(2);
        probe.ShouldBeGreaterThanOrEqualTo(0, $"dup(2): errno {Errno}");
        close(probe);
        return probe;
    }

    /// <summary>True when <paramref name="pid"/> names a process (running or a zombie): kill(pid, 0).</summary>
    internal static bool Exists(int pid) => kill(pid, 0) == 0 || Errno != ESRCH;

    /// <summary>Linux: /proc/PID/stat says the process is a zombie (whoever its parent is).</summary>
    internal static bool ZombieState(int pid) => StateLetter(pid) == 'Z';

    /// <summary>Linux: the state letter of /proc/PID/stat (R, S, T, Z, …), or null when no such process exists.</summary>
    private static char? StateLetter(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (IOException) { return null; }
    }

    /// <summary>
    /// waitid(P_PID, pid, WEXITED | WNOHANG | WNOWAIT): true when this process's child
    /// <paramref name="pid"/> has exited and is waiting to be reaped. Reaps nothing.
    /// </summary>
    internal static bool IsZombieChild(int pid)
    {
        if (Kids.HelperParent)
            return ZombieState(pid); // the helper parent's zombie, not this process's (README, H1)
        return HasAStateToReport(pid, WEXITED);
    }

    /// <summary>
    /// waitid(P_PID, pid, WSTOPPED | WNOHANG | WNOWAIT): true when this process's child
    /// <paramref name="pid"/> has stopped and no wait has taken that stop yet. Takes nothing.
    /// </summary>
    internal static bool IsStoppedChild(int pid)
    {
        if (Kids.HelperParent)
            return StateLetter(pid) == 'T'; // the helper parent's child: only its state can be seen
        return HasAStateToReport(pid, WSTOPPED);
    }

    /// <summary>
    /// waitid(P_PID, pid, WCONTINUED | WNOHANG | WNOWAIT): true when this process's stopped child
    /// <paramref name="pid"/> has been continued and no wait has taken that yet. Takes nothing.
    /// </summary>
    internal static bool IsContinuedChild(int pid)
    {
        if (Kids.HelperParent)
            return StateLetter(pid) is 'R' or 'S' or 'D'; // the helper parent's child: running again
        return HasAStateToReport(pid, WCONTINUED);
    }

    /// <summary>waitid(P_PID, pid, <paramref name="which"/> | WNOHANG | WNOWAIT) reports the child.</summary>
    private static bool HasAStateToReport(int pid, int which)
    {
        byte* info = stackalloc byte[SiginfoSize];
        new Span<byte>(info, SiginfoSize).Clear();
        if (waitid(P_PID, pid, info, which | WNOHANG | WNOWAIT) != 0)
            return false;
        return *(int*)(info + SiPidOffset) == pid;
    }

    /// <summary>
    /// waitid(P_ALL, 0, WEXITED | WNOHANG [| WNOWAIT]): -1 with errno when it fails (ECHILD: no child
    /// it may wait for), else the pid it reported (0: children exist, none has exited).
    /// </summary>
    internal static int WaitidAll(bool reap)
    {
        byte* info = stackalloc byte[SiginfoSize];
        new Span<byte>(info, SiginfoSize).Clear();
        int options = WEXITED | WNOHANG | (reap ? 0 : WNOWAIT);
        if (waitid(P_ALL, 0, info, options) != 0)
            return -1;
        return *(int*)(info + SiPidOffset);
    }

    /// <summary>poll(2) itself, for the non-procdesc descriptors of §7.</summary>
    internal static PollEvents[] PollNatively(params (int Fd, PollEvents Events)[] entries)
    {
        var native = stackalloc NativePollfd[entries.Length];
        for (int i = 0; i < entries.Length; i++)
            native[i] = new NativePollfd { Fd = entries[i].Fd, Events = (short)entries[i].Events };
        poll(native, (ulong)entries.Length, 0).ShouldBeGreaterThanOrEqualTo(0, $"poll: errno {Errno}");
        var result = new PollEvents[entries.Length];
        for (int i = 0; i < entries.Length; i++)
            result[i] = (PollEvents)native[i].Revents;
        return result;
    }

    /// <summary>Writes all of <paramref name="text"/>; fails the test when the write fails.</summary>
    internal static void WriteText(int fd, string text) =>
        TryWriteText(fd, text).ShouldBeTrue($"write to {fd}: errno {Errno}");

    /// <summary>Writes all of <paramref name="text"/>; false when the write fails (EPIPE: no reader left).</summary>
    internal static bool TryWriteText(int fd, string text)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        fixed (byte* p = bytes)
        {
            nint done = 0;
            while (done < bytes.Length)
            {
                nint n = write(fd, p + done, bytes.Length - done);
                if (n < 0 && Errno == EINTR)
                    continue;
                if (n <= 0)
                    return false;
                done += n;
            }
        }
        return true;
    }
}
