using System.Runtime.InteropServices;
using Procdesc.Interop;

namespace Procdesc.Backends.Linux;

/// <summary>
/// Lists this process's open descriptor numbers from /proc/self/fd through one directory handle
/// kept above the numbers callers use. Opening the directory for every listing would take the
/// lowest free number for a moment — often the one a caller just closed and expects to get back
/// from its next open or pdfork, as on FreeBSD. The handle is checked before each listing (a sweep
/// may have closed it) and opened again when it is gone. Where /proc cannot be opened (a sandbox
/// unmounted it after start-up: .NET itself cannot start without it), the numbers are found by
/// poll(2) (<see cref="OpenNumbersByPoll"/>).
/// </summary>
internal sealed unsafe class OpenDescriptorList
{
    private readonly OwnDescriptors _own;
    private readonly object _gate = new(); // the handle's offset is shared: one listing at a time
    private readonly byte[] _buffer = GC.AllocateArray<byte>(32 * 1024, pinned: true);
    private NativePollfd[]? _probe;
    private int _directory = -1;
    private FileIdentity _made;

    internal OpenDescriptorList(OwnDescriptors own) => _own = own;

    /// <summary>Without /proc: every number poll(2) does not mark POLLNVAL is open (the library's
    /// own descriptors may sit above a limit lowered since they were made).</summary>
    private bool ForEachByPoll(Action<int> visit, out int errno) =>
        OpenNumbersByPoll.ForEach(visit, _own.Floor + 1024, _probe ??= OpenNumbersByPoll.NewScratch(), out errno);

    /// <summary>
    /// Calls <paramref name="visit"/> with every open descriptor number but the listing's own
    /// handle; false with errno when /proc/self/fd cannot be read (no /proc, no free descriptor).
    /// </summary>
    internal bool TryForEach(Action<int> visit, out int errno)
    {
        lock (_gate)
        {
            errno = 0;
            if (_directory < 0 || !_own.StillOurs(_directory, _made))
            {
                _own.Close(_directory, _made);
                _directory = _own.Adopt(Libc.open("/proc/self/fd", Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC), out _made);
                if (_directory < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    return !ChildHandles.IsShortage(errno) && ForEachByPoll(visit, out errno);
                }
            }
            Libc.lseek(_directory, 0, Libc.SEEK_SET);
            fixed (byte* buffer = _buffer)
            {
                long read;
                while ((read = Libc.syscall(LinuxSyscalls.SYS_getdents64, _directory, (long)buffer, _buffer.Length, 0, 0)) > 0)
                {
                    for (long at = 0; at < read; at += ((LinuxDirent64*)(buffer + at))->RecordLength)
                    {
                        byte* name = LinuxDirent64.Name((LinuxDirent64*)(buffer + at));
                        int fd = 0;
                        bool number = *name != 0;
                        for (; *name != 0; name++)
                        {
                            if (*name < '0' || *name > '9') { number = false; break; }
                            fd = fd * 10 + (*name - '0');
                        }
                        if (number && fd != _directory)
                            visit(fd);
                    }
                }
                if (read < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    return false;
                }
            }
            return true;
        }
    }
}
