using Mono.Unix.Native;

namespace Procdesc.Backends;

/// <summary>
/// One operating system's implementation of the C-shaped calls. Every method follows the C
/// convention: a result ≥ 0, or -1 after <see cref="LastError.Fail(int)"/>; none throws for an
/// operating-system error. Arguments are already checked for nulls.
/// </summary>
internal abstract class ProcdescBackend
{
    /// <summary>The backend for the running system, chosen once at run time.</summary>
    internal static readonly ProcdescBackend Current = Create();

    /// <summary>A short name for reports ("linux-pidfd", …).</summary>
    internal abstract string Name { get; }

    internal abstract int PdFork(out int fd, int flags, PdChild child);
    internal abstract int PdGetPid(int fd, out int pid);
    internal abstract int PdKill(int fd, int nativeSignal);
    internal abstract int PdWait4(int fd, out int status, PdWaitOptions options, out Rusage rusage);
    internal abstract int PdWait(int fd, out int status, PdWaitOptions options, out WaitRusage wrusage, out PdSigInfo info);
    internal abstract int Close(int fd);
    internal abstract int Poll(Pollfd[] fds, int timeout);
    internal abstract int FStat(int fd, out Stat stat);

    private static ProcdescBackend Create()
    {
        if (OperatingSystem.IsLinux())
        {
            var linux = Linux.LinuxBackend.TryCreate(out string? why);
            if (linux is not null)
                return linux;
            return new UnsupportedBackend(why!);
        }
        return new UnsupportedBackend($"{System.Runtime.InteropServices.RuntimeInformation.OSDescription} has no Procdesc backend");
    }
}
