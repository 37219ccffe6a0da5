namespace Procdesc.Tests.Support;

/// <summary>What the running kernel offers, as the library itself found it (`procdesc info`'s
/// features): tests of rows that depend on it assert this kernel's own expectation.</summary>
internal static class Kernel
{
    internal static bool Has(string feature) => HostFeatures.All.Any(f => f.Name == feature && f.Found);

    /// <summary>PIDFD_INFO_EXIT (Linux 6.15+): the status of a child reaped outside the library is
    /// still there, once (§10 L1); before, such a child's status is gone.</summary>
    internal static bool KeepsExitStatus => Has("PIDFD_INFO_EXIT");

    /// <summary>Linux 7.1+: CLONE_PIDFD_AUTOKILL, the kernel's own kill-on-last-close
    /// (<see cref="PdChild.WithKernelKillOnClose"/>).</summary>
    internal static bool KillsOnLastClose => Has("CLONE_PIDFD_AUTOKILL");

    /// <summary>Linux before 6.9 (no pidfs): the library takes a child's status, but the kernel's
    /// reap waits for the child's last descriptor (README, N1).</summary>
    internal static bool ZombieUntilLastClose => PdSyscall.Backend.Contains("no pidfs", StringComparison.Ordinal);
}
