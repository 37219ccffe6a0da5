using System.Runtime.InteropServices;
using Mono.Unix.Native;
using Procdesc.Interop;
using static Procdesc.Interop.LinuxSyscalls;

namespace Procdesc.Backends.Linux;

/// <summary>
/// How this kernel tells which process a pidfd number names — the key the library files each
/// process under, the same for every copy of its descriptor — and what the library's own held
/// pidfds look like, so that it can check them before each use. Two tiers (contract §12):
/// <see cref="PidfsIdentity"/> (Linux 6.9+) and <see cref="OwnerTagIdentity"/> (5.4 – 6.8).
/// </summary>
internal abstract class PidfdIdentity
{
    /// <summary>The tier's name for reports ("pidfs", …).</summary>
    internal abstract string Tier { get; }

    /// <summary>
    /// What <paramref name="fd"/> is, whoever holds it: not open (errno), not a pidfd, or a pidfd
    /// with the key of its process (0 when this tier cannot tell which process).
    /// </summary>
    internal abstract DescriptorKind KeyOf(int fd, out ulong key, out int errno);

    /// <summary>The file identity of <paramref name="fd"/> for <see cref="OwnDescriptors"/>' checks;
    /// false with errno when it is not open.</summary>
    internal abstract bool TryIdentity(int fd, out FileIdentity identity);

    /// <summary>Makes a pidfd the library just got (from pdfork, or pidfd_open of a child it checked)
    /// recognisable as the process under the key its pid gives; returns that key.</summary>
    internal abstract ulong Adopt(int pidfd, int pid);

    /// <summary>
    /// True when the kernel's reap must wait until the child's last descriptor is closed: this
    /// tier names a process by something the process's reap destroys, so the library takes the
    /// status (waitid WNOWAIT) and leaves the zombie until then.
    /// </summary>
    internal abstract bool ReapsAtLastClose { get; }

    /// <summary>True when a key names one process for ever (never reused for another): then it is
    /// the record's id as well (<see cref="ChildRecord"/>).</summary>
    internal abstract bool KeysNeverReused { get; }
}

/// <summary>Linux 6.9+: every pidfd of one process has the same pidfs inode, never reused.</summary>
internal sealed class PidfsIdentity(ulong pidfsDevice) : PidfdIdentity
{
    internal override string Tier => "pidfs";

    internal override DescriptorKind KeyOf(int fd, out ulong key, out int errno)
    {
        key = 0;
        errno = 0;
        if (!TryIdentity(fd, out FileIdentity id))
        {
            errno = Marshal.GetLastPInvokeError();
            return DescriptorKind.NotOpen;
        }
        if (id.Device != pidfsDevice)
            return DescriptorKind.NotProcdesc;
        key = id.Inode;
        return DescriptorKind.Procdesc;
    }

    internal override bool TryIdentity(int fd, out FileIdentity identity) => LinuxStat.TryIdentity(fd, out identity);

    internal override ulong Adopt(int pidfd, int pid) =>
        LinuxStat.Identity(pidfd, out _, out ulong inode) == 0 ? inode : 0;

    internal override bool ReapsAtLastClose => false;

    internal override bool KeysNeverReused => true;
}

/// <summary>
/// Linux 5.4 – 6.8, without pidfs: every pidfd shares one anonymous inode with every eventfd and
/// epoll set, so fstat says nothing. The library tags the file of each pidfd it makes with the
/// child as the file's owner (F_SETOWN — the owner of a file that has no O_ASYNC receives nothing;
/// dup and SCM_RIGHTS copies share the file, hence the tag), and reads it back with F_GETOWN, which
/// gives the pid while the process exists (running or zombie) and 0 once it has been reaped
/// (measured on 6.1 and 6.18). A pidfd is told from other anonymous files by pidfd_send_signal(fd, 0),
/// which answers EBADF for anything else. Measured here: F_GETOWN 0.40 µs, the signal probe 0.64 µs,
/// fstat 0.89 µs. Because the key is a pid, the kernel's reap waits for the child's last descriptor
/// (<see cref="ReapsAtLastClose"/>): until then the zombie holds the pid, so it can name no other process.
/// </summary>
/// <remarks>With <paramref name="anyInode"/> (PROCDESC_LINUX_TIER=no-pidfs on a pidfs kernel, to run
/// this tier's tests anywhere) every file is probed, not only those on the anonymous inode.</remarks>
internal sealed class OwnerTagIdentity(ulong anonDevice, ulong anonInode, bool anyInode = false) : PidfdIdentity
{
    internal override string Tier => "no pidfs (pidfds tagged with their owner)";

    internal override DescriptorKind KeyOf(int fd, out ulong key, out int errno)
    {
        key = 0;
        errno = 0;
        if (!LinuxStat.TryIdentity(fd, out FileIdentity id))
        {
            errno = Marshal.GetLastPInvokeError();
            return DescriptorKind.NotOpen;
        }
        if ((!anyInode && (id.Device != anonDevice || id.Inode != anonInode)) || !IsPidfd(fd))
            return DescriptorKind.NotProcdesc;
        int owner = Libc.fcntl(fd, Libc.F_GETOWN, 0);
        key = owner > 0 ? (ulong)owner : 0;
        return DescriptorKind.Procdesc;
    }

    internal override bool TryIdentity(int fd, out FileIdentity identity)
    {
        if (!LinuxStat.TryIdentity(fd, out identity))
            return false;
        if (anyInode || (identity.Device == anonDevice && identity.Inode == anonInode))
            identity = identity with { Owner = Math.Max(0, Libc.fcntl(fd, Libc.F_GETOWN, 0)) };
        return true;
    }

    internal override ulong Adopt(int pidfd, int pid)
    {
        if (pid <= 0 || Libc.fcntl(pidfd, Libc.F_SETOWN, pid) != 0)
            return 0; // ESRCH: reaped already
        return (ulong)pid;
    }

    internal override bool ReapsAtLastClose => true;

    internal override bool KeysNeverReused => false; // a pid

    private static bool IsPidfd(int fd) =>
        pidfd_send_signal(fd, 0) == 0 || Marshal.GetLastPInvokeError() != (int)Errno.EBADF;
}
