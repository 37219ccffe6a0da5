using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc;

namespace Procdesc.TestHost;

/// <summary>
/// `Procdesc.TestHost script`: a program that does to its own descriptors, limits and children
/// what a test tells it to, one command per line on stdin, one answer per line on stdout. The
/// adversity tests drive it, because what they do (sweep every descriptor, fill the descriptor
/// table, run out of descriptors at the first kill-on-close of a process) would break the test
/// runner itself, and because some of it must happen in a process where the library has not yet
/// done anything.
/// </summary>
/// <remarks>
/// Commands (NAME names a child; answers start with "ok" or "error"):
///   fork NAME [daemon] [closing] [CMD…]  start `sleep 60` (or CMD through /bin/sh -c) → "ok PID FD";
///                              closing: PdChild.WithoutOtherDescriptors
///   nocloexec LOWEST           opens /dev/null without close-on-exec at LOWEST or above → "ok FD"
///   dispose NAME               ProcessDescriptor.Dispose
///   forget NAME                drop the object without closing its number (a sweep will)
///   dup NAME NEW               ProcessDescriptor.Duplicate, named NEW
///   close NAME                 PdSyscall.close on its number → "ok R ERRNO"
///   pdkill NAME SIGNAL         → "ok R ERRNO"
///   pdwait4 NAME [nohang]      → "ok R STATUS ERRNO"
///   waitasync NAME             starts WaitAsync and keeps the task
///   await NAME MS              → "ok exit CODE" / "ok signal SIG" / "ok fault TYPE ERRNO" / "ok pending"
///   fill                       opens /dev/null until EMFILE (the table is full) → "ok COUNT"
///   unfill                     closes what fill opened
///   limit N | limit restore    sets RLIMIT_NOFILE's soft limit
///   sweep proc|close_range|dup2 [FROM]  closes (or dup2s /dev/null over) every descriptor that was
///                              not open when the host started, except the children's numbers;
///                              close_range closes FROM and up
///   gc                         a full collection with pending finalizers run
///   quit
/// The runtime's own descriptors (open before the first command, and the assemblies it opens later)
/// are never swept: a .NET program cannot close those and live (measured: close_range(3, ~0)
/// aborts the runtime at its next write).
/// </remarks>
internal static unsafe class Script
{
    private sealed class Child
    {
        public required ProcessDescriptor Descriptor;
        public Task<ExitStatus>? Exit;
    }

    private static readonly Dictionary<string, Child> Children = new();
    private static readonly List<int> Filler = new();
    private static readonly HashSet<int> AtStart = new();
    private static ulong s_savedSoft, s_savedHard;
    private static bool s_snapshotTaken;

    internal static int Run()
    {
        ulong* limits = stackalloc ulong[2];
        getrlimit(RLIMIT_NOFILE, limits);
        (s_savedSoft, s_savedHard) = (limits[0], limits[1]);
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        string? line;
        while ((line = Console.In.ReadLine()) is not null)
        {
            string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
                continue;
            if (words[0] == "quit")
                break;
            if (!s_snapshotTaken)
            {
                // What the runtime has open once the console works, before the library's first call
                // (nothing to sweep, then, if /proc was taken away before the first command).
                s_snapshotTaken = true;
                if (Directory.Exists("/proc/self/fd"))
                    foreach (string entry in Directory.GetFileSystemEntries("/proc/self/fd"))
                        AtStart.Add(int.Parse(Path.GetFileName(entry)));
            }
            string answer;
            try
            {
                answer = Execute(words);
            }
            catch (Exception e)
            {
                answer = $"error {e.GetType().Name} {e.Message.Replace('\n', ' ')}";
            }
            Console.Out.WriteLine(answer);
            Console.Out.Flush();
        }
        foreach (Child child in Children.Values)
            child.Descriptor.Dispose();
        return 0;
    }

    private static string Execute(string[] w)
    {
        switch (w[0])
        {
            case "fork":
            {
                int commandAt = 2;
                bool daemon = w.Length > commandAt && w[commandAt] == "daemon";
                if (daemon)
                    commandAt++;
                bool closing = w.Length > commandAt && w[commandAt] == "closing";
                if (closing)
                    commandAt++;
                PdChild program = w.Length > commandAt
                    ? PdChild.Exec("/bin/sh", ["sh", "-c", string.Join(' ', w[commandAt..])])
                    : PdChild.Exec("/bin/sleep", ["sleep", "60"]);
                if (closing)
                    program = program.WithoutOtherDescriptors();
                var descriptor = ProcessDescriptor.Fork(program, PdFlags.CloExec | (daemon ? PdFlags.Daemon : 0));
                Children[w[1]] = new Child { Descriptor = descriptor };
                return $"ok {descriptor.Pid} {descriptor.DangerousGetHandle()}";
            }
            case "dispose":
                Children[w[1]].Descriptor.Dispose();
                return "ok";
            case "dup":
                Children[w[2]] = new Child { Descriptor = Children[w[1]].Descriptor.Duplicate() };
                return "ok";
            case "forget":
                // The number stays open, but nothing names it any more: a sweep will close it.
                Children.Remove(w[1], out Child? forgotten);
                forgotten!.Descriptor.SetHandleAsInvalid();
                return "ok";
            case "close":
            {
                int r = PdSyscall.close(Fd(w[1]));
                return $"ok {r} {PdSyscall.GetLastError()}";
            }
            case "pdkill":
            {
                int r = PdSyscall.pdkill(Fd(w[1]), Enum.Parse<Signum>(w[2]));
                return $"ok {r} {PdSyscall.GetLastError()}";
            }
            case "pdwait4":
            {
                var options = w.Length > 2 && w[2] == "nohang" ? PdWaitOptions.WNOHANG : PdWaitOptions.None;
                int r = PdSyscall.pdwait4(Fd(w[1]), out int status, options, out _);
                return $"ok {r} {status} {PdSyscall.GetLastError()}";
            }
            case "waitasync":
                Children[w[1]].Exit = Children[w[1]].Descriptor.WaitAsync();
                return "ok";
            case "await":
            {
                Task<ExitStatus> exit = Children[w[1]].Exit!;
                try
                {
                    if (!exit.Wait(int.Parse(w[2])))
                        return "ok pending";
                    ExitStatus status = exit.Result;
                    return status.Signaled ? $"ok signal {status.TermSignal}" : $"ok exit {status.ExitCode}";
                }
                catch (AggregateException e)
                {
                    Exception inner = e.InnerException!;
                    return inner is ProcessDescriptorException p ? $"ok fault {inner.GetType().Name} {p.Errno}" : $"ok fault {inner.GetType().Name} -";
                }
            }
            case "fill":
            {
                int fd;
                while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
                    Filler.Add(fd);
                return $"ok {Filler.Count} {Marshal.GetLastPInvokeError()}";
            }
            case "nocloexec":
            {
                int file = open("/dev/null", O_RDONLY | O_CLOEXEC);
                int fd = fcntl(file, F_DUPFD, int.Parse(w[1]));
                int errno = Marshal.GetLastPInvokeError();
                close(file);
                return fd >= 0 ? $"ok {fd}" : $"error fcntl {errno}";
            }
            case "unfill":
                foreach (int fd in Filler)
                    close(fd);
                Filler.Clear();
                return "ok";
            case "limit":
            {
                ulong* limits = stackalloc ulong[2] { w[1] == "restore" ? s_savedSoft : ulong.Parse(w[1]), s_savedHard };
                return setrlimit(RLIMIT_NOFILE, limits) == 0 ? "ok" : $"error setrlimit {Marshal.GetLastPInvokeError()}";
            }
            case "sweep":
                return Sweep(w[1], w.Length > 2 ? int.Parse(w[2]) : 3);
            case "fds":
                if (!Directory.Exists("/proc/self/fd"))
                    return "ok no /proc";
                return "ok " + string.Join(' ', Directory.GetFileSystemEntries("/proc/self/fd").Select(e =>
                {
                    try { return $"{Path.GetFileName(e)}={new FileInfo(e).LinkTarget}"; }
                    catch (IOException) { return Path.GetFileName(e); }
                }));
            case "gc":
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                return "ok";
            default:
                return $"error unknown command {w[0]}";
        }
    }

    private static int Fd(string name) => (int)Children[name].Descriptor.DangerousGetHandle();

    /// <summary>What a Capsicum-style program does before cap_enter: away with every descriptor it does not use.</summary>
    private static string Sweep(string how, int from)
    {
        var keep = new HashSet<int>(AtStart);
        foreach (string entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            // Assemblies and native libraries the runtime opened since (it keeps them open).
            string? target = null;
            try { target = new FileInfo(entry).LinkTarget; } catch (IOException) { }
            if (target is not null && (target.EndsWith(".dll", StringComparison.Ordinal) || target.EndsWith(".so", StringComparison.Ordinal)))
                keep.Add(int.Parse(Path.GetFileName(entry)));
        }
        foreach (Child child in Children.Values)
            if (!child.Descriptor.IsClosed)
                keep.Add((int)child.Descriptor.DangerousGetHandle());
        var numbers = new List<int>();
        foreach (string entry in Directory.GetFileSystemEntries("/proc/self/fd"))
            numbers.Add(int.Parse(Path.GetFileName(entry)));
        int swept = 0;
        switch (how)
        {
            case "close_range":
                foreach (int fd in keep)
                    if (fd >= from)
                        return $"error {fd} is at or above {from}";
                swept = numbers.Count(fd => fd >= from);
                if (syscall(436 /* close_range */, from, uint.MaxValue, 0) != 0)
                    return $"error close_range {Marshal.GetLastPInvokeError()}";
                break;
            case "proc":
                foreach (int fd in numbers)
                    if (!keep.Contains(fd) && close(fd) == 0)
                        swept++;
                break;
            case "dup2":
                int devNull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                foreach (int fd in numbers)
                    if (!keep.Contains(fd) && fd != devNull && dup2(devNull, fd) == fd)
                        swept++;
                close(devNull);
                break;
            default:
                return $"error unknown sweep {how}";
        }
        return $"ok {swept}";
    }

    private const int RLIMIT_NOFILE = 7, O_RDONLY = 0, O_CLOEXEC = 0x80000, F_DUPFD = 0;

    [DllImport("libc", SetLastError = true)] private static extern int getrlimit(int resource, ulong* limits);
    [DllImport("libc", SetLastError = true)] private static extern int setrlimit(int resource, ulong* limits);
    [DllImport("libc", SetLastError = true)] private static extern int open(string path, int flags);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int dup2(int fd, int to);
    [DllImport("libc", SetLastError = true)] private static extern int fcntl(int fd, int cmd, int arg);
    [DllImport("libc", SetLastError = true)] private static extern long syscall(long number, long a, long b, long c);
}
