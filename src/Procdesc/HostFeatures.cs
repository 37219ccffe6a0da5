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

    /// <summary>What <see cref="PdChild.WithSandbox"/> enforces here (Linux: by the kernel's Landlock ABI);
    /// <see cref="SandboxLevel.None"/> where such a child is refused (FreeBSD, see there).</summary>
    public static SandboxLevel ProgramSandbox => HostBackend.Current.ChildSandbox;

    /// <summary>What a <see cref="PdWorker"/> sandbox enforces here: on Linux the same as
    /// <see cref="ProgramSandbox"/> (the worker's runtime is an exec'd program), on FreeBSD
    /// capability mode, entered by the worker once its runtime has started.</summary>
    public static SandboxLevel WorkerSandbox =>
        HostBackend.Current.SelfSandbox != SandboxLevel.None ? HostBackend.Current.SelfSandbox : HostBackend.Current.ChildSandbox;

    /// <summary>A one-line description of the system: OS description and architecture.</summary>
    public static string OperatingSystem => $"{RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})";
}
