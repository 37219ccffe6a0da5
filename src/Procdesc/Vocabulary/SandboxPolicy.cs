using System.Collections.Immutable;

namespace Procdesc;

/// <summary>
/// A sandbox for a child, the nearest each system has to Capsicum's <c>cap_enter</c>: on Linux,
/// no_new_privs and Landlock at the best ABI the kernel offers — the file system denied except
/// read and execute of the program and the system's shared libraries plus the paths allowed here,
/// TCP bind and connect denied, abstract Unix sockets and signals kept inside the sandbox.
/// Descriptors already open (passed with <see cref="PdChild.WithFd"/>, a worker's channel) keep
/// working, as in capability mode. Instances are immutable; the methods return a new policy.
/// </summary>
/// <remarks>
/// A kernel that cannot reach <see cref="Minimum"/> fails the creation (pdfork: -1, EOPNOTSUPP),
/// never runs the child with less. Restrictions the kernel has beyond the minimum are always applied.
/// </remarks>
public sealed class SandboxPolicy
{
    private SandboxPolicy(ImmutableArray<string> readOnly, ImmutableArray<string> readWrite, SandboxLevel minimum)
    {
        ReadOnlyPaths = readOnly;
        ReadWritePaths = readWrite;
        Minimum = minimum;
    }

    /// <summary>Everything denied that the kernel can deny; requires at least the file-system sandbox.</summary>
    public static SandboxPolicy Default { get; } = new([], [], SandboxLevel.NoNewPrivileges | SandboxLevel.FileSystem);

    /// <summary>Files and directories (with everything beneath) the child may read and execute.</summary>
    public ImmutableArray<string> ReadOnlyPaths { get; }

    /// <summary>Files and directories (with everything beneath) the child may read, execute, write,
    /// create in and remove from.</summary>
    public ImmutableArray<string> ReadWritePaths { get; }

    /// <summary>The restrictions without which the child is not created.</summary>
    public SandboxLevel Minimum { get; }

    /// <summary>Allows reading (and executing) <paramref name="path"/> and what is beneath it. The path
    /// must exist when the child is created (else pdfork fails with ENOENT); a relative path is taken
    /// from the current directory now.</summary>
    public SandboxPolicy AllowRead(string path) =>
        new(ReadOnlyPaths.Add(Checked(path)), ReadWritePaths, Minimum);

    /// <summary>Allows reading, writing, creating and removing at and beneath <paramref name="path"/>.</summary>
    public SandboxPolicy AllowReadWrite(string path) =>
        new(ReadOnlyPaths, ReadWritePaths.Add(Checked(path)), Minimum);

    /// <summary>Creation fails (EOPNOTSUPP) unless the kernel enforces at least <paramref name="level"/>;
    /// <see cref="SandboxLevel.None"/> is best effort: whatever the kernel has, maybe nothing.</summary>
    public SandboxPolicy RequireAtLeast(SandboxLevel level) => new(ReadOnlyPaths, ReadWritePaths, level);

    private static string Checked(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path.Contains('\0'))
            throw new ArgumentException("A NUL character cannot cross into a C string.", nameof(path));
        return Path.GetFullPath(path);
    }
}
