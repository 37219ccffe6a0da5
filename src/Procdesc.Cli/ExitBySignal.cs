using System.Runtime.InteropServices;

namespace Procdesc.Cli;

/// <summary>
/// Ends the tool with a signal, as timeout(1) does when its child was killed by one: core dumps
/// off (the child's was its own), the signal's default action back (the runtime catches SIGINT,
/// SIGTERM, SIGSEGV and more), unblocked, then sent to this process.
/// </summary>
internal static partial class ExitBySignal
{
    private const int RLIMIT_CORE = 4; // Linux and FreeBSD
    private static readonly IntPtr SIG_DFL = IntPtr.Zero;

    /// <summary>Returns only if <paramref name="hostSignal"/> did not end the process (a signal
    /// whose default action is to ignore it, such as SIGCHLD, or one this host refuses).</summary>
    internal static unsafe void Raise(int hostSignal)
    {
        ulong* noCore = stackalloc ulong[2] { 0, 0 };
        _ = setrlimit(RLIMIT_CORE, noCore);
        _ = signal(hostSignal, SIG_DFL);
        // sigset_t: 128 bytes on glibc, 16 on FreeBSD; the larger serves both.
        byte* set = stackalloc byte[128];
        if (sigemptyset(set) == 0 && sigaddset(set, hostSignal) == 0)
            _ = sigprocmask(OperatingSystem.IsFreeBSD() ? 2 : 1 /* SIG_UNBLOCK */, set, null);
        _ = kill(getpid(), hostSignal);
    }

    [LibraryImport(ToolLibraries.Libc)]
    private static unsafe partial int setrlimit(int resource, ulong* limit);

    [LibraryImport(ToolLibraries.Libc)]
    private static partial IntPtr signal(int signum, IntPtr handler);

    [LibraryImport(ToolLibraries.Libc)]
    private static unsafe partial int sigemptyset(byte* set);

    [LibraryImport(ToolLibraries.Libc)]
    private static unsafe partial int sigaddset(byte* set, int signum);

    [LibraryImport(ToolLibraries.Libc)]
    private static unsafe partial int sigprocmask(int how, byte* set, byte* old);

    [LibraryImport(ToolLibraries.Libc)]
    private static partial int kill(int pid, int signal);

    [LibraryImport(ToolLibraries.Libc)]
    private static partial int getpid();
}
