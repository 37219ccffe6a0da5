using System.Collections.Immutable;
using Mono.Unix.Native;

namespace Procdesc;

/// <summary>
/// What a new child does between its creation and the start of its program: descriptor moves,
/// a working directory, then exec. FreeBSD's pdfork continues in the child; a managed runtime cannot
/// (code in a forked .NET child can hang in the garbage collector), so the library's pdfork takes
/// this description and runs it in native code. Instances are immutable; the With* methods return
/// a new description.
/// </summary>
public sealed class PdChild
{
    private PdChild(string path, ImmutableArray<string> argv, ImmutableArray<string>? envp)
    {
        Path = path;
        Arguments = argv;
        Environment = envp;
        FdMap = ImmutableArray<(int, int)>.Empty;
    }

    /// <summary>A copy with one change (the With* methods).</summary>
    private PdChild With(Action<PdChild> change)
    {
        var copy = (PdChild)MemberwiseClone();
        change(copy);
        return copy;
    }

    /// <summary>The program to execute, used as is (execve: no PATH search).</summary>
    public string Path { get; }

    /// <summary>The argument vector, argv[0] included.</summary>
    public ImmutableArray<string> Arguments { get; }

    /// <summary>The environment as "NAME=value" strings, or null to pass this process's environment
    /// (as .NET sees it, including changes made with <see cref="System.Environment.SetEnvironmentVariable(string, string)"/>).</summary>
    public ImmutableArray<string>? Environment { get; }

    /// <summary>Descriptors the child receives: <c>ParentFd</c> of this process becomes <c>ChildFd</c>
    /// in the child, without close-on-exec.</summary>
    public ImmutableArray<(int ChildFd, int ParentFd)> FdMap { get; private set; }

    /// <summary>The child's working directory, or null to keep this process's.</summary>
    public string? WorkingDirectory { get; private set; }

    /// <summary>Kill-on-close is the kernel's (<see cref="WithKernelKillOnClose"/>).</summary>
    public bool KernelKillOnClose { get; private set; }

    /// <summary>The sandbox the child enters before exec (<see cref="WithSandbox"/>), or null.</summary>
    public SandboxPolicy? Sandbox { get; private set; }

    /// <summary>
    /// True (the default): the child starts with <see cref="RestoredSignals"/> at SIG_DFL, as it
    /// would from a shell, even where this process ignores them; false after
    /// <see cref="WithInheritedSignals"/>. Other ignored signals stay ignored either way (exec keeps
    /// SIG_IGN: a program started under nohup(1) keeps SIGHUP ignored), and caught ones always
    /// start at SIG_DFL.
    /// </summary>
    public bool RestoresSignals { get; private set; } = true;

    /// <summary>
    /// The signals a child gets back at SIG_DFL unless <see cref="WithInheritedSignals"/>: SIGPIPE,
    /// which the .NET runtime ignores in every process (measured: the only disposition it changes;
    /// a child would otherwise get EPIPE instead of dying in <c>yes | head -1</c>), and SIGXFSZ — the
    /// set Python's subprocess restores (<c>restore_signals=True</c>).
    /// </summary>
    public static ImmutableArray<Signum> RestoredSignals { get; } = [Signum.SIGPIPE, Signum.SIGXFSZ];

    /// <summary>The child gets only descriptors 0, 1, 2 and those of <see cref="FdMap"/>
    /// (<see cref="WithoutOtherDescriptors"/>); false (the default): every descriptor of this process
    /// without close-on-exec, as exec passes them on.</summary>
    public bool ClosesOtherDescriptors { get; private set; }

    /// <summary>An exec the kernel refuses with ENOEXEC (a script without "#!") is retried with
    /// /bin/sh, as execvp(3) does: set by <see cref="ExecFromPath"/>, not by <see cref="Exec"/>.</summary>
    public bool FallsBackToShell { get; private set; }

    /// <summary>Describes a child that executes <paramref name="path"/> with an explicit argument vector.</summary>
    /// <param name="path">The program's path (execve semantics: no PATH search).</param>
    /// <param name="argv">The whole argument vector, argv[0] included.</param>
    /// <param name="envp">"NAME=value" strings; null passes this process's environment.</param>
    /// <exception cref="ArgumentNullException">A null path, vector or element.</exception>
    /// <exception cref="ArgumentException">A string containing a NUL character.</exception>
    public static PdChild Exec(string path, IReadOnlyList<string> argv, IReadOnlyList<string>? envp = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(argv);
        RejectNul(path, nameof(path));
        return new PdChild(path, CheckedStrings(argv, nameof(argv)),
            envp is null ? null : CheckedStrings(envp, nameof(envp)));
    }

    /// <summary>
    /// Like <see cref="Exec"/>, but as execvp(3): a <paramref name="file"/> without '/' is looked up
    /// in PATH now (the first executable match, else the first match — exec then reports EACCES —
    /// else a path that does not exist: ENOENT), and a file the kernel refuses with ENOEXEC (a
    /// script without a "#!" line) is run by /bin/sh as <c>/bin/sh FILE ARGV[1]…</c>.
    /// </summary>
    public static PdChild ExecFromPath(string file, IReadOnlyList<string> argv, IReadOnlyList<string>? envp = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        PdChild child = Exec(ProgramSearch.Resolve(file, envp), argv, envp);
        child.FallsBackToShell = true;
        return child;
    }

    /// <summary>The child gets this process's <paramref name="parentFd"/> as <paramref name="childFd"/>
    /// before exec (dup2 semantics; a later call for the same <paramref name="childFd"/> replaces it).
    /// Mappings are applied together, so swaps such as {0 ← 5, 5 ← 0} work.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative descriptor number.</exception>
    public PdChild WithFd(int childFd, int parentFd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(childFd);
        ArgumentOutOfRangeException.ThrowIfNegative(parentFd);
        var map = FdMap.RemoveAll(m => m.ChildFd == childFd).Add((childFd, parentFd));
        return With(c => c.FdMap = map);
    }

    /// <summary>The child changes to <paramref name="path"/> before exec; a failure is pdfork's errno.</summary>
    public PdChild WithWorkingDirectory(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        RejectNul(path, nameof(path));
        return With(c => c.WorkingDirectory = path);
    }

    /// <summary>
    /// Kill-on-close done by the kernel, as FreeBSD does it: the child is killed when the last
    /// reference to its descriptor's file goes — every copy counts, dup'ed, inherited or passed to
    /// another process over a Unix socket (contract §10 L2 closes for such a child). On Linux this
    /// needs 7.1+ (<c>CLONE_PIDFD_AUTOKILL</c>); elsewhere pdfork fails with EOPNOTSUPP. On FreeBSD it
    /// is what pdfork always does, and this changes nothing.
    /// </summary>
    /// <remarks>
    /// What it costs on Linux, by the kernel's rules: the child is reaped by the kernel when it exits
    /// (CLONE_AUTOREAP), so pdwait4 and waits report its exit status (from PIDFD_GET_INFO) but no
    /// resource usage (zeros, with <see cref="Rusage.IsMissing"/> set); it runs with
    /// no_new_privs (CLONE_NNP: set-user-ID programs do not gain privileges), which the kernel
    /// requires of callers without CAP_SYS_ADMIN and the library sets for every caller alike; and it
    /// cannot be combined with PD_DAEMON (EINVAL). Like FreeBSD's, such a child outlives this process
    /// when a copy of its descriptor lives in another one.
    /// </remarks>
    public PdChild WithKernelKillOnClose() => With(c => c.KernelKillOnClose = true);

    /// <summary>
    /// The child enters <paramref name="policy"/>'s sandbox between its creation and the exec, so
    /// the program runs inside it from its first instruction: on Linux, no_new_privs and a Landlock
    /// domain (the C helper enforces a ruleset built here; the child has a single thread there, so
    /// Landlock's per-thread rule covers the whole program). The program's own file and the
    /// system's shared libraries (/lib*, /usr/lib*, /usr/local/lib, /etc/ld.so.cache) are readable
    /// and executable; /dev/null, /dev/zero and /dev/urandom readable (/dev/null writable).
    /// </summary>
    /// <remarks>
    /// pdfork fails, and nothing is started, when the kernel cannot reach the policy's
    /// <see cref="SandboxPolicy.Minimum"/> (EOPNOTSUPP: no Landlock, Linux before 5.13 or Landlock not
    /// enabled at boot) or an allowed path cannot be opened (its errno, ENOENT for a missing one).
    /// On FreeBSD, capability mode cannot cross an exec (the dynamic linker itself needs the file
    /// system), so pdfork fails with EOPNOTSUPP: a FreeBSD program calls <c>cap_enter</c> itself, and
    /// <see cref="PdWorker"/> does for its workers.
    /// </remarks>
    public PdChild WithSandbox(SandboxPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return With(c => c.Sandbox = policy);
    }

    /// <summary>
    /// The child keeps this process's signal dispositions as exec passes them on (ignored stays
    /// ignored), <see cref="RestoredSignals"/> included: for a program that relies on SIGPIPE being
    /// ignored by whoever started it. Caught signals start at SIG_DFL regardless (a handler of this
    /// process cannot cross exec).
    /// </summary>
    public PdChild WithInheritedSignals() => With(c => c.RestoresSignals = false);

    /// <summary>
    /// The child inherits only descriptors 0, 1 and 2 and those given with <see cref="WithFd"/>:
    /// every other descriptor of this process is closed in the child before exec, close-on-exec or
    /// not — as Python's <c>close_fds=True</c> or posix_spawn's <c>addclosefrom_np(3)</c>. It also
    /// makes a start cost the same however many descriptors this process holds: by default the
    /// kernel copies the whole descriptor table into the child and exec closes each close-on-exec
    /// entry (measured on Linux 6.18: /bin/true in 794 µs with 4,000 descriptors open against 455 µs
    /// with none), while here the child shares the table and keeps a copy of the low numbers only
    /// (close_range with CLOSE_RANGE_UNSHARE, Linux 5.9+; older kernels close by listing
    /// /proc/self/fd; FreeBSD: close_range(2)). A program that holds a descriptor per child — one
    /// process descriptor each — pays the default's cost at every start.
    /// </summary>
    public PdChild WithoutOtherDescriptors() => With(c => c.ClosesOtherDescriptors = true);

    private static ImmutableArray<string> CheckedStrings(IReadOnlyList<string> values, string name)
    {
        var builder = ImmutableArray.CreateBuilder<string>(values.Count);
        foreach (string value in values)
        {
            if (value is null)
                throw new ArgumentNullException(name, "An element is null.");
            RejectNul(value, name);
            builder.Add(value);
        }
        return builder.MoveToImmutable();
    }

    private static void RejectNul(string value, string name)
    {
        if (value.Contains('\0'))
            throw new ArgumentException("A NUL character cannot cross into a C string.", name);
    }
}
