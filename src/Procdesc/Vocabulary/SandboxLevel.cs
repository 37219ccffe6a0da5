namespace Procdesc;

/// <summary>
/// What a sandbox denies, as far as the kernel could apply it: each flag is a restriction that was
/// (or can be) enforced, never one that was only asked for. On Linux the restrictions are
/// Landlock's, by the ABI version the kernel answers; on FreeBSD capability mode
/// (<c>cap_enter</c>) denies all of them and more.
/// </summary>
[Flags]
public enum SandboxLevel
{
    /// <summary>Nothing is restricted.</summary>
    None = 0,

    /// <summary>no_new_privs: exec of a set-user-ID or file-capability program gains nothing (Linux 3.5).</summary>
    NoNewPrivileges = 1 << 0,

    /// <summary>The file system: every access outside the allowed paths is denied (Landlock ABI 1, Linux 5.13;
    /// renames across directories from ABI 2, truncation from 3, device ioctls from 5).</summary>
    FileSystem = 1 << 1,

    /// <summary>TCP: bind and connect are denied (Landlock ABI 4, Linux 6.7).</summary>
    TcpNetwork = 1 << 2,

    /// <summary>Abstract Unix sockets made outside the sandbox cannot be connected to (Landlock ABI 6, Linux 6.12).</summary>
    AbstractUnixSockets = 1 << 3,

    /// <summary>Signals to processes outside the sandbox are denied, its parent's included (Landlock ABI 6, Linux 6.12).</summary>
    Signals = 1 << 4,

    /// <summary>FreeBSD's capability mode: no global namespace at all (file system, network, processes
    /// by pid, System V IPC); only descriptors already open, within their rights.</summary>
    CapabilityMode = 1 << 5,
}
