using Mono.Unix.Native;

namespace Procdesc;

/// <summary>How a child ended: its pid, the host's wait status word, and its resource usage.</summary>
/// <param name="Pid">The child's pid.</param>
/// <param name="RawStatus">The wait(2) status word, as the host's wait4 reports it.</param>
/// <param name="Usage">Resource usage (<see cref="Rusage.IsMissing"/> when the kernel kept none).</param>
public readonly record struct ExitStatus(int Pid, int RawStatus, Rusage Usage)
{
    /// <summary>The child exited normally.</summary>
    public bool Exited => PdSyscall.WIFEXITED(RawStatus);

    /// <summary>The exit code of a normal exit; -1 otherwise.</summary>
    public int ExitCode => Exited ? PdSyscall.WEXITSTATUS(RawStatus) : -1;

    /// <summary>The child was killed by a signal.</summary>
    public bool Signaled => PdSyscall.WIFSIGNALED(RawStatus);

    /// <summary>The signal that killed the child (canonical numbering); null after a normal exit.</summary>
    public Signum? TermSignal => Signaled ? PdSyscall.WTERMSIG(RawStatus) : null;

    /// <summary>The child dumped core as it died.</summary>
    public bool CoreDumped => PdSyscall.WCOREDUMP(RawStatus);

    /// <summary>"exited with code 3", "killed by SIGKILL (core dumped)".</summary>
    public override string ToString() => Exited
        ? $"pid {Pid} exited with code {ExitCode}"
        : $"pid {Pid} killed by {TermSignal}{(CoreDumped ? " (core dumped)" : "")}";
}
