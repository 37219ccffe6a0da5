using System.Buffers.Binary;
using Mono.Unix.Native;

namespace Procdesc.Interop;

/// <summary>
/// FreeBSD's struct stat (FreeBSD 12 and later, 64-bit: 224 bytes), read into Mono.Posix's Stat.
/// A process descriptor's fstat already follows the contract (§8) there.
/// </summary>
internal static unsafe class FreeBsdStat
{
    internal const int Size = 224;

    /// <summary>Field offsets (FreeBSD 12+, 64-bit), checked against FreeBSD's sys/stat.h by the tests.</summary>
    internal const int Dev = 0, Ino = 8, Nlink = 16, Mode = 24, Uid = 28, Gid = 32, Rdev = 40, Atim = 48, Mtim = 64,
        Ctim = 80, Birthtim = 96, FileSize = 112, Blocks = 120, Blksize = 128;

    internal static int Full(int fd, out Stat stat)
    {
        byte* buffer = stackalloc byte[LinuxStat.BufferSize];
        stat = default;
        if (Libc.fstat(fd, buffer) != 0)
            return -1;
        stat = Parse(new ReadOnlySpan<byte>(buffer, Size));
        return 0;
    }

    /// <summary>The layout, separate from the call so that it is tested on every host.</summary>
    internal static Stat Parse(ReadOnlySpan<byte> b) => new()
    {
        st_dev = BinaryPrimitives.ReadUInt64LittleEndian(b[Dev..]),
        st_ino = BinaryPrimitives.ReadUInt64LittleEndian(b[Ino..]),
        st_nlink = BinaryPrimitives.ReadUInt64LittleEndian(b[Nlink..]),
        st_mode = (FilePermissions)BinaryPrimitives.ReadUInt16LittleEndian(b[Mode..]),
        st_uid = BinaryPrimitives.ReadUInt32LittleEndian(b[Uid..]),
        st_gid = BinaryPrimitives.ReadUInt32LittleEndian(b[Gid..]),
        st_rdev = BinaryPrimitives.ReadUInt64LittleEndian(b[Rdev..]),
        st_atime = BinaryPrimitives.ReadInt64LittleEndian(b[Atim..]),
        st_atime_nsec = BinaryPrimitives.ReadInt64LittleEndian(b[(Atim + 8)..]),
        st_mtime = BinaryPrimitives.ReadInt64LittleEndian(b[Mtim..]),
        st_mtime_nsec = BinaryPrimitives.ReadInt64LittleEndian(b[(Mtim + 8)..]),
        st_ctime = BinaryPrimitives.ReadInt64LittleEndian(b[Ctim..]),
        st_ctime_nsec = BinaryPrimitives.ReadInt64LittleEndian(b[(Ctim + 8)..]),
        // st_birthtim: a procdesc's birth time is its start time, like the other three.
        st_size = BinaryPrimitives.ReadInt64LittleEndian(b[FileSize..]),
        st_blocks = BinaryPrimitives.ReadInt64LittleEndian(b[Blocks..]),
        st_blksize = BinaryPrimitives.ReadInt32LittleEndian(b[Blksize..]),
    };
}
