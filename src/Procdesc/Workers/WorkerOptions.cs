using System.Collections.Immutable;

namespace Procdesc;

/// <summary>How <see cref="PdWorker.Start"/> starts a worker. Immutable: <see cref="WithFd"/> returns a copy.</summary>
public sealed record WorkerOptions
{
    /// <summary>Arguments for the entry (<see cref="WorkerContext.Arguments"/>): passed as separate
    /// argument-vector strings, never through a shell, so any text arrives as it was (no NUL).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The sandbox the worker runs in, or null for none. On Linux the worker's runtime
    /// starts inside it (the runtime's own files are added to the policy's readable paths); on FreeBSD
    /// the worker enters capability mode once the runtime has started, before the entry runs.</summary>
    public SandboxPolicy? Sandbox { get; init; }

    /// <summary>Descriptors the worker receives: this process's <c>ParentFd</c> as the worker's
    /// <c>ChildFd</c> (3 is the channel's and cannot be used).</summary>
    public ImmutableArray<(int ChildFd, int ParentFd)> Descriptors { get; init; } = [];

    /// <summary>Kill-on-close does not apply (PD_DAEMON): the worker outlives its descriptor.</summary>
    public bool Daemon { get; init; }

    /// <summary>A copy that also passes <paramref name="parentFd"/> as the worker's <paramref name="childFd"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative number, or <paramref name="childFd"/> 3 (the channel).</exception>
    public WorkerOptions WithFd(int childFd, int parentFd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(childFd);
        ArgumentOutOfRangeException.ThrowIfNegative(parentFd);
        if (childFd == PdWorker.ChannelFd)
            throw new ArgumentOutOfRangeException(nameof(childFd), childFd, "The worker's descriptor 3 is its channel.");
        return this with { Descriptors = Descriptors.RemoveAll(d => d.ChildFd == childFd).Add((childFd, parentFd)) };
    }
}
