using System.Runtime.InteropServices;
using Procdesc.Backends;

namespace Procdesc;

/// <summary>
/// The optional features of this host that the backend looks for, each probed safely (no probe
/// creates a process, sends a signal, or makes a system call the kernel might not know on FreeBSD,
/// where an unknown system call raises SIGSYS).
/// </summary>
public static class HostFeatures
{
    private static readonly Lazy<IReadOnlyList<HostFeature>> s_all = new(() => HostBackend.Current.ProbeFeatures());

    /// <summary>Every feature the running backend knows of, in a fixed order.</summary>
    public static IReadOnlyList<HostFeature> All => s_all.Value;

    /// <summary>The operating system's kernel release (uname -r).</summary>
    public static string KernelRelease => Interop.KernelVersion.Release;

    /// <summary>The backend in use (same as <see cref="PdSyscall.Backend"/>).</summary>
    public static string Backend => HostBackend.Current.Name;

    /// <summary>A one-line description of the system: OS description and architecture.</summary>
    public static string OperatingSystem => $"{RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})";
}
