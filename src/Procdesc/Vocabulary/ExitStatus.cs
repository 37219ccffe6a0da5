using Mono.Unix.Native;

namespace Procdesc;

/// <summary>How a child ended: its pid, the host's wait status word, and its resource usage.</summary>
/// <param name="Pid">The child's pid.</param>
/// <param name="RawStatus">The wait(2) status word, as the host's wait4 reports it.</param>
/// <param name="Usage">Resource usage (<see cref="Rusage.IsMissing"/> when the kernel kept none).</param>
public readonly record struct ExitStatus(int Pid, int RawStatus, Rusage Usage)
{
    /// <summary>The child exited normally.</summary>
    public bool Exited => WaitStatus.Exited(RawStatus);

    /// <summary>The exit code of a normal exit; -1 otherwise.</summary>
    public int ExitCode => Exited ? WaitStatus.ExitCode(RawStatus) : -1;

    /// <summary>The child was killed by a signal.</summary>
    public bool Signaled => WaitStatus.Signaled(RawStatus);

    /// <summary>The signal that killed the child (canonical numbering); null after a normal exit.</summary>
    public Signum? TermSignal => Signaled ? WaitStatus.TermSignal(RawStatus) : null;

    /// <summary>The child dumped core as it died.</summary>
    public bool CoreDumped => WaitStatus.CoreDumped(RawStatus);

    /// <summary>"exited with code 3", "killed by SIGKILL (core dumped)".</summary>
    public override string ToString() => Exited
        ? $"pid {Pid} exited with code {ExitCode}"
        : $"pid {Pid} killed by {TermSignal}{(CoreDumped ? " (core dumped)" : "")}";
}
