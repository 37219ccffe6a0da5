using Procdesc.Interop;

namespace Procdesc.Backends.Linux;

/// <summary>
/// Which children the caller still holds a descriptor for, from one pass over /proc/self/fd (a
/// dup, a received or a pidfd_open'd copy counts; the library's own descriptors do not). This is
/// how kill-on-close knows a close was the last one; one pass serves a whole batch of closes.
/// </summary>
internal sealed class CopyCensus
{
    private readonly ulong _pidfsDevice;
    private readonly OwnDescriptors _own;
    private readonly OpenDescriptorList _list;

    internal CopyCensus(ulong pidfsDevice, OwnDescriptors own)
    {
        _pidfsDevice = pidfsDevice;
        _own = own;
        _list = new OpenDescriptorList(own);
    }

    /// <summary>The pidfs inodes the caller's descriptors name, except <paramref name="exceptFd"/>;
    /// null with errno when /proc/self/fd cannot be listed now.</summary>
    internal HashSet<ulong>? CallerInodes(int exceptFd, out int errno)
    {
        var inodes = new HashSet<ulong>();
        bool listed = _list.TryForEach(fd =>
        {
            if (fd != exceptFd && LinuxStat.TryIdentity(fd, out FileIdentity id) && id.Device == _pidfsDevice && !_own.IsOwn(fd, id))
                inodes.Add(id.Inode);
        }, out errno);
        return listed ? inodes : null;
    }

    /// <summary>A number of the caller's that names <paramref name="inode"/> now, or -1 (errno set
    /// when the listing failed, 0 when there is simply none).</summary>
    internal int FindCallerCopy(ulong inode, out int errno)
    {
        int found = -1;
        bool listed = _list.TryForEach(fd =>
        {
            if (found < 0 && LinuxStat.TryIdentity(fd, out FileIdentity id) && id.Device == _pidfsDevice
                && id.Inode == inode && !_own.IsOwn(fd, id))
                found = fd;
        }, out errno);
        return listed ? found : -1;
    }
}
