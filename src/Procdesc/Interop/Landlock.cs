using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>
/// Linux's Landlock (include/uapi/linux/landlock.h): an unprivileged process restricts its own and
/// its future children's access, in rules it cannot lift. The numbers are the generic syscall
/// table's, shared by x86_64 and aarch64; the access bits grew with the ABI version the kernel
/// answers (1: 5.13, 2: 5.19, 3: 6.2, 4: 6.7, 5: 6.10, 6: 6.12, 7: 6.15).
/// </summary>
internal static unsafe class Landlock
{
    private const long SYS_landlock_create_ruleset = 444, SYS_landlock_add_rule = 445;
    internal const long SYS_landlock_restrict_self = 446;
    private const uint LANDLOCK_CREATE_RULESET_VERSION = 1;
    internal const int LANDLOCK_RULE_PATH_BENEATH = 1;

    // File-system rights (ABI 1 unless marked).
    internal const ulong FS_EXECUTE = 1 << 0, FS_WRITE_FILE = 1 << 1, FS_READ_FILE = 1 << 2, FS_READ_DIR = 1 << 3,
        FS_REMOVE_DIR = 1 << 4, FS_REMOVE_FILE = 1 << 5, FS_MAKE_CHAR = 1 << 6, FS_MAKE_DIR = 1 << 7,
        FS_MAKE_REG = 1 << 8, FS_MAKE_SOCK = 1 << 9, FS_MAKE_FIFO = 1 << 10, FS_MAKE_BLOCK = 1 << 11,
        FS_MAKE_SYM = 1 << 12,
        FS_REFER = 1 << 13,     // ABI 2
        FS_TRUNCATE = 1 << 14,  // ABI 3
        FS_IOCTL_DEV = 1 << 15; // ABI 5

    /// <summary>The rights a rule on a file (not a directory) may carry.</summary>
    internal const ulong FileRights = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV;

    // Network rights (ABI 4): TCP bind and connect, by port.
    internal const ulong NET_BIND_TCP = 1 << 0, NET_CONNECT_TCP = 1 << 1;

    // Scopes (ABI 6): IPC that may not leave the sandbox's domain.
    internal const ulong SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0, SCOPE_SIGNAL = 1 << 1;

    /// <summary>The highest ABI version this kernel answers; 0 where Landlock is missing or disabled
    /// (ENOSYS: not built; EOPNOTSUPP: built but not enabled at boot).</summary>
    internal static int AbiVersion()
    {
        long version = Libc.syscall(SYS_landlock_create_ruleset, 0, 0, LANDLOCK_CREATE_RULESET_VERSION, 0, 0);
        return version > 0 ? (int)version : 0;
    }

    /// <summary>A new ruleset (close-on-exec, as the kernel always makes it), or -1 with errno.</summary>
    internal static int CreateRuleset(in RulesetAttr attr, int size)
    {
        fixed (RulesetAttr* a = &attr)
            return (int)Libc.syscall(SYS_landlock_create_ruleset, (long)a, size, 0, 0, 0);
    }

    /// <summary>Allows <paramref name="access"/> beneath the file or directory open as <paramref name="parentFd"/>.</summary>
    internal static int AddPathRule(int ruleset, ulong access, int parentFd)
    {
        var rule = new PathBeneathAttr { AllowedAccess = access, ParentFd = parentFd };
        return (int)Libc.syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, (long)&rule, 0, 0);
    }

    /// <summary>struct landlock_ruleset_attr: its size tells the kernel which fields the caller knows
    /// (8 bytes before ABI 4, 16 before ABI 6, 24 from 6).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct RulesetAttr
    {
        public ulong HandledAccessFs;
        public ulong HandledAccessNet;
        public ulong Scoped;
    }

    /// <summary>struct landlock_path_beneath_attr (packed: 12 bytes).</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    internal struct PathBeneathAttr
    {
        public ulong AllowedAccess;
        public int ParentFd;
    }
}
