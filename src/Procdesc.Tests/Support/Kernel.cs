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
}
