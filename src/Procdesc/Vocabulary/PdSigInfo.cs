using Mono.Unix.Native;

namespace Procdesc;

/// <summary>The siginfo_t fields <see cref="PdSyscall.pdwait"/> fills.</summary>
/// <param name="Signo">Always <see cref="Signum.SIGCHLD"/> for a reported child.</param>
/// <param name="Code">CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3, CLD_TRAPPED = 4, CLD_STOPPED = 5,
/// CLD_CONTINUED = 6 (the same numbers on FreeBSD and Linux).</param>
/// <param name="Pid">The child's pid.</param>
/// <param name="Uid">The child's real user id.</param>
/// <param name="Status">The exit code for CLD_EXITED, otherwise the canonical signal number.</param>
public readonly record struct PdSigInfo(Signum Signo, int Code, int Pid, int Uid, int Status)
{
    /// <summary>The child exited normally.</summary>
    public const int CLD_EXITED = 1;
    /// <summary>The child was killed by a signal.</summary>
    public const int CLD_KILLED = 2;
    /// <summary>The child was killed by a signal and dumped core.</summary>
    public const int CLD_DUMPED = 3;
    /// <summary>A traced child stopped at a trap.</summary>
    public const int CLD_TRAPPED = 4;
    /// <summary>The child was stopped by a signal.</summary>
    public const int CLD_STOPPED = 5;
    /// <summary>The child was continued by SIGCONT.</summary>
    public const int CLD_CONTINUED = 6;
}
