using Mono.Unix.Native;

namespace Procdesc.Backends;

/// <summary>
/// One operating system's implementation of the C-shaped calls. Every method follows the C
/// convention: a result ≥ 0, or -1 after <see cref="LastError.Fail(int)"/>; none throws for an
/// operating-system error. Arguments are already checked by <see cref="PdSyscall"/>: no nulls, no
/// unknown pdfork flags or wait options, pdwait with a reporting option, signals in range.
/// </summary>
internal abstract class ProcdescBackend
{
    /// <summary>The backend for the running system, chosen once at run time.</summary>
    internal static readonly ProcdescBackend Current = Create();

    /// <summary>A short name for reports ("linux-pidfd", …).</summary>
    internal abstract string Name { get; }

    /// <summary>The optional features this backend looks for, probed safely, in a fixed order.</summary>
    internal abstract IReadOnlyList<HostFeature> ProbeFeatures();

    internal abstract int PdFork(out int fd, int flags, PdChild child);
    internal abstract int PdGetPid(int fd, out int pid);
    internal abstract int PdKill(int fd, int nativeSignal);
    internal abstract int PdWait4(int fd, out int status, PdWaitOptions options, out Rusage rusage);
    internal abstract int PdWait(int fd, out int status, PdWaitOptions options, out WaitRusage wrusage, out PdSigInfo info);
    internal abstract int Close(int fd);
    internal abstract int Poll(Pollfd[] fds, int timeout);
    internal abstract int FStat(int fd, out Stat stat);

    // What the object layer (ProcessDescriptor) needs beyond the C-shaped calls. Same convention:
    // -1 with errno, no exception for an operating-system error.

    /// <summary>The pid and flags of a child this library made, behind any copy of its descriptor;
    /// -1 with EBADF for anything else.</summary>
    internal abstract int Describe(int fd, out int pid, out PdFlags flags);

    /// <summary>
    /// The child's exit status: 1 with <paramref name="status"/> once it has exited (reaping it if
    /// nobody has; the status is kept for every later caller on every copy), 0 while it runs
    /// (only when <paramref name="block"/> is false), -1 with errno (ECHILD: reaped with no status kept).
    /// </summary>
    internal abstract int GetExit(int fd, bool block, out ExitStatus status);

    /// <summary>
    /// The object layer is disposing <paramref name="fd"/> while calls may still be blocked on it
    /// (they keep the descriptor open until they return): a child made without PD_DAEMON that no
    /// other copy keeps is killed now, so that those calls return its SIGKILL status. The object
    /// layer says whether one of its own waits is blocked; the backend knows of blocked C-shaped
    /// calls. Never fails.
    /// </summary>
    internal abstract void KillBeforeDispose(int fd, bool objectLayerWaitBlocked);

    /// <summary>1 once the child has exited (reaped or not), 0 while it runs, -1 with errno.</summary>
    internal abstract int HasExited(int fd);

    /// <summary>A task completing with the exit status (as <see cref="GetExit"/> would give it), failing
    /// with <see cref="ProcessDescriptorException"/>, or canceled. Watched by one background thread.</summary>
    internal abstract Task<ExitStatus> WaitForExitAsync(int fd, CancellationToken cancellation);

    private static ProcdescBackend Create()
    {
        if (OperatingSystem.IsLinux())
        {
            var linux = Linux.LinuxBackend.TryCreate(out string? why);
            if (linux is not null)
                return linux;
            return new UnsupportedBackend(why!);
        }
        if (OperatingSystem.IsFreeBSD())
            return new FreeBsd.FreeBsdBackend();
        return new UnsupportedBackend($"{System.Runtime.InteropServices.RuntimeInformation.OSDescription} has no Procdesc backend");
    }
}
