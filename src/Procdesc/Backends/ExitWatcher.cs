namespace Procdesc.Backends;

/// <summary>
/// The object layer's one primitive beyond the C-shaped calls: a watch on a child's exit that
/// reports, exactly once, either the status every waiter gets or a host errno. Backends report on
/// whatever thread learns of the exit (the reactor's, or the caller's when it is known already);
/// what the report turns into — a task, an exception — is the object layer's business.
/// </summary>
internal abstract class ExitWatcher
{
    private int _reported;
    private KeptExits? _store;
    private ulong _key;

    /// <summary>The child exited: the status it ended with (the same for every waiter).</summary>
    protected abstract void OnExited(in ExitStatus status);

    /// <summary>No status will come: a host errno (ECHILD: reaped with no status kept).</summary>
    protected abstract void OnFailed(int nativeErrno);

    /// <summary>True once a report was delivered (or the watch was withdrawn).</summary>
    internal bool Reported => Volatile.Read(ref _reported) != 0;

    /// <summary>Delivers the exit; false if a report came first.</summary>
    internal bool Exited(in ExitStatus status)
    {
        if (Interlocked.Exchange(ref _reported, 1) != 0)
            return false;
        OnExited(status);
        return true;
    }

    /// <summary>Delivers a failure; false if a report came first.</summary>
    internal bool Failed(int nativeErrno)
    {
        if (Interlocked.Exchange(ref _reported, 1) != 0)
            return false;
        OnFailed(nativeErrno);
        return true;
    }

    /// <summary>Withdraws the watch (its owner canceled it): no report follows. False if one came first.</summary>
    internal bool Withdraw()
    {
        if (Interlocked.Exchange(ref _reported, 1) != 0)
            return false;
        _store?.Unwatch(_key, this);
        return true;
    }

    /// <summary>Set by the store that holds the watch, so that <see cref="Withdraw"/> can find it.</summary>
    internal void HeldBy(KeptExits store, ulong key) => (_store, _key) = (store, key);
}
