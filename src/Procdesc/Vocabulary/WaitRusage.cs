namespace Procdesc;

/// <summary>FreeBSD's struct __wrusage, filled by <see cref="PdSyscall.pdwait"/>.</summary>
/// <param name="Self">The child's own usage. On Linux the kernel reports the child's usage together
/// with that of the descendants it reaped, so the sum is here.</param>
/// <param name="Children">The usage of the child's reaped descendants. Always zero on Linux, which
/// cannot report it separately.</param>
public readonly record struct WaitRusage(Rusage Self, Rusage Children);
