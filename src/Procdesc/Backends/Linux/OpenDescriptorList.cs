using System.Runtime.InteropServices;
using Procdesc.Interop;

namespace Procdesc.Backends.Linux;

/// <summary>
/// Lists this process's open descriptor numbers from /proc/self/fd through one directory handle
/// opened once and kept above the numbers callers use. Opening the directory for every scan would
/// take the lowest free number for a moment — often the one a caller just closed and expects to
/// get back from its next open or pdfork, as on FreeBSD.
/// </summary>
internal sealed unsafe class OpenDescriptorList
{
    private const int O_RDONLY = 0, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000, SEEK_SET = 0;
    private static readonly long SYS_getdents64 = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 217 : 61;

    private readonly int _directory;
    private readonly byte[] _buffer = GC.AllocateArray<byte>(32 * 1024, pinned: true);

    internal OpenDescriptorList(int floor)
    {
        int opened = Libc.open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (opened < 0)
            throw new InvalidOperationException($"cannot open /proc/self/fd: errno {Marshal.GetLastPInvokeError()}");
        _directory = HighDescriptors.MoveAbove(opened, floor);
    }

    /// <summary>The handle itself, which every listing contains.</summary>
    internal int Handle => _directory;

    /// <summary>Calls <paramref name="visit"/> with every open descriptor number (the handle included).</summary>
    internal void ForEach(Action<int> visit)
    {
        Libc.lseek(_directory, 0, SEEK_SET);
        fixed (byte* buffer = _buffer)
        {
            long read;
            while ((read = Libc.syscall(SYS_getdents64, _directory, (long)buffer, _buffer.Length, 0, 0)) > 0)
            {
                // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name (NUL-terminated).
                for (long at = 0; at < read; at += *(ushort*)(buffer + at + 16))
                {
                    byte* name = buffer + at + 19;
                    int fd = 0;
                    bool number = *name != 0;
                    for (; *name != 0; name++)
                    {
                        if (*name < '0' || *name > '9') { number = false; break; }
                        fd = fd * 10 + (*name - '0');
                    }
                    if (number)
                        visit(fd);
                }
            }
        }
    }
}
