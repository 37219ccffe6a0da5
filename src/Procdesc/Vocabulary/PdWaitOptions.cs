namespace Procdesc;

/// <summary>
/// Options of <see cref="PdSyscall.pdwait4"/> and <see cref="PdSyscall.pdwait"/>, with FreeBSD's
/// values; the library translates them to the host's bits.
/// </summary>
[Flags]
public enum PdWaitOptions
{
    /// <summary>No option: block until the child exits (pdwait4 implies <see cref="WEXITED"/>).</summary>
    None = 0,
    /// <summary>Return at once when nothing is to be reported.</summary>
    WNOHANG = 1,
    /// <summary>Report a stopped child.</summary>
    WUNTRACED = 2,
    /// <summary>Report a child continued by SIGCONT.</summary>
    WCONTINUED = 4,
    /// <summary>Report, but leave the child waitable (do not reap).</summary>
    WNOWAIT = 8,
    /// <summary>Report an exited child (implied by pdwait4, required explicitly by pdwait).</summary>
    WEXITED = 16,
    /// <summary>Report a child stopped by a ptrace trap (on Linux, reported as a stop).</summary>
    WTRAPPED = 32,
}
