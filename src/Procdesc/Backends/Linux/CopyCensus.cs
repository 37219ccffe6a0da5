namespace Procdesc.Backends.Linux;

/// <summary>
/// Which children the caller still holds a descriptor for, from one pass over /proc/self/fd (a
/// dup, a received or a pidfd_open'd copy counts; the library's own descriptors do not). This is
/// how kill-on-close knows a close was the last one; one pass serves a whole batch of closes.
/// </summary>
internal sealed class CopyCensus
{
    private readonly PidfdIdentity _identity;
    private readonly OwnDescriptors _own;
    private readonly OpenDescriptorList _list;

    internal CopyCensus(PidfdIdentity identity, OwnDescriptors own)
    {
        _identity = identity;
        _own = own;
        _list = new OpenDescriptorList(own);
    }

    /// <summary>The keys of the processes the caller's descriptors name, except <paramref name="exceptFd"/>;
    /// null with errno when the open descriptors cannot be listed now.</summary>
    internal HashSet<ulong>? CallerKeys(int exceptFd, out int errno)
    {
        var keys = new HashSet<ulong>();
        for (int attempt = 0; ; attempt++)
        {
            // A descriptor the library is making while the listing runs is not registered yet:
            // list again until no creation began or ran meanwhile (a few system calls each).
            (long started, int running) = _own.Creations;
            keys.Clear();
            bool listed = _list.TryForEach(fd =>
            {
                if (fd != exceptFd && _identity.KeyOf(fd, out ulong key, out _) == DescriptorKind.Procdesc && key != 0 && !_own.IsOwn(fd))
                    keys.Add(key);
            }, out errno);
            if (!listed)
                return null;
            if ((running == 0 && _own.Creations == (started, 0)) || attempt >= 100)
                return keys;
            Thread.Yield();
        }
    }

    /// <summary>A number of the caller's that names <paramref name="key"/> now, or -1 (errno set
    /// when the listing failed, 0 when there is simply none).</summary>
    internal int FindCallerCopy(ulong key, out int errno)
    {
        int found = -1;
        bool listed = _list.TryForEach(fd =>
        {
            if (found < 0 && _identity.KeyOf(fd, out ulong k, out _) == DescriptorKind.Procdesc && k == key && !_own.IsOwn(fd))
                found = fd;
        }, out errno);
        return listed ? found : -1;
    }
}
