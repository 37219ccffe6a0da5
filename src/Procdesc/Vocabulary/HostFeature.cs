namespace Procdesc;

/// <summary>An optional kernel or C-library feature the library can use, and whether this host has it.</summary>
/// <param name="Name">A short stable name ("clone3", "pidfd_open", "pdwait", …).</param>
/// <param name="Found">True when the host offers it.</param>
/// <param name="Detail">How that was determined (the probe, or the kernel version), and what it is used for.</param>
public readonly record struct HostFeature(string Name, bool Found, string Detail);
