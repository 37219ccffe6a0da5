using System.Net.Sockets;

namespace Procdesc;

/// <summary>What a worker's entry receives: its end of the channel, its arguments, and the sandbox
/// it actually runs in.</summary>
public sealed class WorkerContext
{
    internal WorkerContext(Socket channel, IReadOnlyList<string> arguments, SandboxLevel sandbox)
    {
        Channel = channel;
        Arguments = arguments;
        Sandbox = sandbox;
    }

    /// <summary>The worker's end of a connected Unix stream socket whose other end is
    /// <see cref="Worker.Channel"/> (descriptor 3 of the worker).</summary>
    public Socket Channel { get; }

    /// <summary><see cref="WorkerOptions.Arguments"/>, as given.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>The restrictions in force around this worker: what was applied, never only what was asked.</summary>
    public SandboxLevel Sandbox { get; }
}
