using System.Net.Sockets;
using Mono.Unix.Native;

namespace Procdesc;

/// <summary>
/// A running worker (<see cref="PdWorker.Start"/>): its process descriptor and this side of its
/// channel. Disposing it closes both, and closing the descriptor kills a worker made without
/// <see cref="WorkerOptions.Daemon"/> (kill-on-close), as does the end of this process.
/// </summary>
public sealed class Worker : IDisposable, IAsyncDisposable
{
    internal Worker(ProcessDescriptor process, Socket channel)
    {
        Process = process;
        Channel = channel;
    }

    /// <summary>The worker's process descriptor: poll it, signal it, wait for it.</summary>
    public ProcessDescriptor Process { get; }

    /// <summary>This side of a connected Unix stream socket; the other side is the worker's
    /// <see cref="WorkerContext.Channel"/>.</summary>
    public Socket Channel { get; }

    /// <summary>The worker's pid (cached: never another process's).</summary>
    public int Pid => Process.Pid;

    /// <summary>Waits for the worker to exit: its entry's result as the exit code,
    /// <see cref="PdWorker.UnhandledExceptionExitCode"/> if it threw.</summary>
    /// <exception cref="ProcessDescriptorException">As <see cref="ProcessDescriptor.Wait"/>.</exception>
    public ExitStatus Wait() => Process.Wait();

    /// <summary>Completes when the worker exits. Cancellation kills the worker (SIGKILL), then the
    /// returned task is canceled.</summary>
    /// <exception cref="OperationCanceledException">Canceled; the worker was killed.</exception>
    public async Task<ExitStatus> WaitAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await Process.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Kill();
            throw;
        }
    }

    /// <summary>Sends SIGKILL to the worker unless it has already been reaped.</summary>
    /// <exception cref="ObjectDisposedException">The worker was disposed.</exception>
    public void Kill()
    {
        try
        {
            Process.Kill(Signum.SIGKILL);
        }
        catch (ProcessDescriptorException e) when (e.Errno == Errno.ESRCH)
        {
            // Reaped already: there is no worker left to kill.
        }
    }

    /// <summary>Closes the channel and the descriptor: a non-daemon worker is killed.</summary>
    public void Dispose()
    {
        Channel.Dispose();
        Process.Dispose();
    }

    /// <summary>As <see cref="Dispose"/>; nothing in it blocks.</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
