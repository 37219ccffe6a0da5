namespace Procdesc.Backends.Linux;

/// <summary>One pending WaitAsync: its continuation never runs on the reactor thread.</summary>
internal sealed class ExitWaiter() : TaskCompletionSource<ExitStatus>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    internal CancellationTokenRegistration Registration { get; set; }

    internal void Complete(ExitStatus? final, Exception? error)
    {
        Registration.Dispose();
        if (final is { } status)
            TrySetResult(status);
        else
            TrySetException(error!);
    }
}
