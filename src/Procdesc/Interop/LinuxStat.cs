using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Mono.Unix.Native;

namespace Procdesc.Interop;

/// <summary>
/// Reads glibc's struct stat, whose layout differs between x86_64 and aarch64. Both start with
/// st_dev and st_ino, which is all the hot path (descriptor identity) needs.
/// </summary>
internal static unsafe class LinuxStat
{
    /// <summary>Larger than struct stat on every supported architecture (144 bytes on x86_64).</summary>
    internal const int BufferSize = 256;

    private static readonly bool IsX64 = RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>fstat, keeping only the identity fields; -1 with errno on failure.</summary>
    internal static int Identity(int fd, out ulong dev, out ulong ino)
    {
        byte* buffer = stackalloc byte[BufferSize];
        int r = Libc.fstat(fd, buffer);
        dev = *(ulong*)buffer;
        ino = *(ulong*)(buffer + 8);
        return r;
    }

    /// <summary>What file the descriptor refers to; false with errno when it is not open.</summary>
    internal static bool TryIdentity(int fd, out FileIdentity identity)
    {
        bool open = Identity(fd, out ulong dev, out ulong ino) == 0;
        identity = open ? new FileIdentity(dev, ino) : default;
        return open;
    }

    /// <summary>fstat into Mono.Posix's managed Stat; -1 with errno on failure.</summary>
    internal static int Full(int fd, out Stat stat)
    {
        byte* b = stackalloc byte[BufferSize];
        stat = default;
        if (Libc.fstat(fd, b) != 0)
            return -1;
        var span = new ReadOnlySpan<byte>(b, BufferSize);
        stat.st_dev = U64(span, 0);
        stat.st_ino = U64(span, 8);
        if (IsX64)
        {
            stat.st_nlink = U64(span, 16);
            stat.st_mode = (FilePermissions)U32(span, 24);
            stat.st_uid = U32(span, 28);
            stat.st_gid = U32(span, 32);
            stat.st_rdev = U64(span, 40);
            stat.st_blksize = I64(span, 56);
        }
        else
        {
            stat.st_mode = (FilePermissions)U32(span, 16);
            stat.st_nlink = U32(span, 20);
            stat.st_uid = U32(span, 24);
            stat.st_gid = U32(span, 28);
            stat.st_rdev = U64(span, 32);
            stat.st_blksize = BinaryPrimitives.ReadInt32LittleEndian(span[56..]);
        }
        stat.st_size = I64(span, 48);
        stat.st_blocks = I64(span, 64);
        stat.st_atime = I64(span, 72);
        stat.st_atime_nsec = I64(span, 80);
        stat.st_mtime = I64(span, 88);
        stat.st_mtime_nsec = I64(span, 96);
        stat.st_ctime = I64(span, 104);
        stat.st_ctime_nsec = I64(span, 112);
        return 0;
    }

    private static ulong U64(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt64LittleEndian(s[at..]);
    private static long I64(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadInt64LittleEndian(s[at..]);
    private static uint U32(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt32LittleEndian(s[at..]);
}

/// <summary>st_dev and st_ino: which file a descriptor refers to. Unique per process on pidfs (6.9+),
/// per pipe, per /proc directory; shared by every anonymous-inode file (epoll, eventfd, and pidfds
/// before pidfs), which <see cref="Owner"/> then tells apart where the library tagged the file.</summary>
internal readonly record struct FileIdentity(ulong Device, ulong Inode, int Owner = 0);
