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
        st_dev = BinaryPrimitives.ReadUInt64LittleEndian(b),
        st_ino = BinaryPrimitives.ReadUInt64LittleEndian(b[8..]),
        st_nlink = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]),
        st_mode = (FilePermissions)BinaryPrimitives.ReadUInt16LittleEndian(b[24..]),
        st_uid = BinaryPrimitives.ReadUInt32LittleEndian(b[28..]),
        st_gid = BinaryPrimitives.ReadUInt32LittleEndian(b[32..]),
        st_rdev = BinaryPrimitives.ReadUInt64LittleEndian(b[40..]),
        st_atime = BinaryPrimitives.ReadInt64LittleEndian(b[48..]),
        st_atime_nsec = BinaryPrimitives.ReadInt64LittleEndian(b[56..]),
        st_mtime = BinaryPrimitives.ReadInt64LittleEndian(b[64..]),
        st_mtime_nsec = BinaryPrimitives.ReadInt64LittleEndian(b[72..]),
        st_ctime = BinaryPrimitives.ReadInt64LittleEndian(b[80..]),
        st_ctime_nsec = BinaryPrimitives.ReadInt64LittleEndian(b[88..]),
        // st_birthtim at 96: a procdesc's birth time is its start time, like the other three.
        st_size = BinaryPrimitives.ReadInt64LittleEndian(b[112..]),
        st_blocks = BinaryPrimitives.ReadInt64LittleEndian(b[120..]),
        st_blksize = BinaryPrimitives.ReadInt32LittleEndian(b[128..]),
    };
}
