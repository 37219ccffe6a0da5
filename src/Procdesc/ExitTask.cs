using Procdesc.Backends;

namespace Procdesc;

/// <summary>
/// <see cref="ProcessDescriptor.WaitAsync"/>'s watcher: the backend's exit report as a task. The
/// errno becomes a <see cref="ProcessDescriptorException"/> here, in the object layer; cancellation
/// withdraws the watch (the child is unaffected). Continuations never run on the thread that
/// reports (the library's background thread).
/// </summary>
internal sealed class ExitTask : ExitWatcher
{
    private readonly TaskCompletionSource<ExitStatus> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _registration;

    internal Task<ExitStatus> Task => _completion.Task;

    /// <summary>Cancels the task when <paramref name="cancellation"/> fires before a report.</summary>
    internal void CancelWith(CancellationToken cancellation)
    {
        if (!cancellation.CanBeCanceled)
            return;
        _registration = cancellation.UnsafeRegister(static (state, token) =>
        {
            var self = (ExitTask)state!;
            if (self.Withdraw())
                self._completion.TrySetCanceled(token);
        }, this);
        if (Reported)
            _registration.Dispose();
    }

    protected override void OnExited(in ExitStatus status)
    {
        _registration.Dispose();
        _completion.TrySetResult(status);
    }

    protected override void OnFailed(int nativeErrno)
    {
        _registration.Dispose();
        _completion.TrySetException(ProcessDescriptorException.FromNative("wait", nativeErrno));
    }
}
