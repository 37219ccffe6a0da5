namespace Procdesc;

/// <summary>Flags of <see cref="ProcessDescriptor.Fork"/>: pdfork's PD_DAEMON and PD_CLOEXEC.</summary>
[Flags]
public enum PdFlags
{
    /// <summary>Kill-on-close, and the descriptor is inherited by programs this process executes later.</summary>
    None = 0,
    /// <summary>PD_DAEMON: the child survives the close of its last descriptor and this process's end.</summary>
    Daemon = 0x1,
    /// <summary>PD_CLOEXEC: the descriptor is close-on-exec.</summary>
    CloExec = 0x2,
}
