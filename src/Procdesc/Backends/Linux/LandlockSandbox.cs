using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.Landlock;

namespace Procdesc.Backends.Linux;

/// <summary>
/// Turns a <see cref="SandboxPolicy"/> into a Landlock ruleset for one child: everything this
/// kernel's ABI can deny is handled (denied unless a rule allows it), and rules allow what the
/// program needs to start and what the policy names. The child only enforces it (the C helper,
/// between clone and exec); everything that can fail is done here, in the parent.
/// </summary>
internal static class LandlockSandbox
{
    private const int O_PATH = 0x200000;
    private const ulong ReadOnly = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR;

    /// <summary>What every dynamically linked program reads to start: the loader, the libraries, the
    /// loader's cache. Missing ones are skipped (distributions differ).</summary>
    private static readonly string[] SystemLibraries =
        ["/lib", "/lib32", "/lib64", "/libx32", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32", "/usr/local/lib", "/etc/ld.so.cache"];

    private static readonly string[] ReadableDevices = ["/dev/zero", "/dev/urandom", "/dev/random"];

    /// <summary>The Landlock ABI version of this kernel, 0 without Landlock.</summary>
    internal static int Abi { get; } = Landlock.AbiVersion();

    /// <summary>What a sandbox made here enforces.</summary>
    internal static SandboxLevel Reachable { get; } = LevelOf(Abi);

    internal static SandboxLevel LevelOf(int abi)
    {
        SandboxLevel level = SandboxLevel.NoNewPrivileges;
        if (abi >= 1) level |= SandboxLevel.FileSystem;
        if (abi >= 4) level |= SandboxLevel.TcpNetwork;
        if (abi >= 6) level |= SandboxLevel.AbstractUnixSockets | SandboxLevel.Signals;
        return level;
    }

    /// <summary>
    /// Builds the ruleset for <paramref name="child"/>: 0 with <paramref name="ruleset"/> (-1 where
    /// the policy accepts a kernel without Landlock), or a positive errno: EOPNOTSUPP when the
    /// kernel cannot reach the policy's minimum, an allowed path's open error (ENOENT…), EMFILE.
    /// </summary>
    internal static int Build(PdChild child, SandboxPolicy policy, out int ruleset)
    {
        ruleset = -1;
        if ((policy.Minimum & ~Reachable) != 0)
            return (int)Errno.EOPNOTSUPP;
        if (Abi < 1)
            return 0; // best effort on a kernel without Landlock: no_new_privs only

        ulong handledFs = 0x1FFF | (Abi >= 2 ? FS_REFER : 0) | (Abi >= 3 ? FS_TRUNCATE : 0) | (Abi >= 5 ? FS_IOCTL_DEV : 0);
        var attr = new RulesetAttr
        {
            HandledAccessFs = handledFs,
            HandledAccessNet = Abi >= 4 ? NET_BIND_TCP | NET_CONNECT_TCP : 0, // no port rule: every port denied
            Scoped = Abi >= 6 ? SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL : 0,
        };
        int attrSize = Abi >= 6 ? 24 : Abi >= 4 ? 16 : 8;
        ruleset = CreateRuleset(attr, attrSize);
        if (ruleset < 0)
            return Marshal.GetLastPInvokeError();

        int error = Allow(ruleset, child.Path, ReadOnly, required: true);
        foreach (string path in SystemLibraries)
            error = error != 0 ? error : Allow(ruleset, path, ReadOnly, required: false);
        foreach (string path in ReadableDevices)
            error = error != 0 ? error : Allow(ruleset, path, FS_READ_FILE, required: false);
        error = error != 0 ? error : Allow(ruleset, "/dev/null", FS_READ_FILE | FS_WRITE_FILE, required: false);
        foreach (string path in policy.ReadOnlyPaths)
            error = error != 0 ? error : Allow(ruleset, path, ReadOnly, required: true);
        foreach (string path in policy.ReadWritePaths)
            error = error != 0 ? error : Allow(ruleset, path, handledFs, required: true);
        if (error != 0)
        {
            Libc.close(ruleset);
            ruleset = -1;
        }
        return error;
    }

    /// <summary>One rule: <paramref name="access"/> at and beneath <paramref name="path"/> (a file
    /// keeps only the rights a file can have). 0 or a positive errno.</summary>
    private static int Allow(int ruleset, string path, ulong access, bool required)
    {
        bool directory = true;
        int fd = Libc.open(path, O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
        if (fd < 0 && Marshal.GetLastPInvokeError() == (int)Errno.ENOTDIR)
        {
            directory = false;
            fd = Libc.open(path, O_PATH | Libc.O_CLOEXEC);
        }
        if (fd < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            return required || error is not ((int)Errno.ENOENT or (int)Errno.EACCES) ? error : 0;
        }
        int result = AddPathRule(ruleset, directory ? access : access & FileRights, fd) == 0 ? 0 : Marshal.GetLastPInvokeError();
        Libc.close(fd);
        return result;
    }
}
