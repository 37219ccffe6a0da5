using System.Runtime.InteropServices;
using System.Text;

namespace Procdesc.Interop;

/// <summary>uname(2)'s release, and its leading numbers.</summary>
internal static unsafe partial class KernelVersion
{
    /// <summary>"6.18.44-fc-v657", "15.0-RELEASE".</summary>
    internal static readonly string Release = ReadRelease();

    /// <summary>The leading "major.minor" of <see cref="Release"/>.</summary>
    internal static readonly Version Number = Parse(Release);

    internal static bool AtLeast(int major, int minor) => Number >= new Version(major, minor);

    private static string ReadRelease()
    {
        // struct utsname: Linux has five 65-byte fields (plus domainname). FreeBSD's header has five
        // 256-byte ones, but there uname() is an inline calling __xuname(256, …); the exported uname
        // symbol, which a P/Invoke reaches, is the old ABI's __xuname(32, …) (lib/libc/gen/uname.c).
        int field = OperatingSystem.IsFreeBSD() ? 32 : 65;
        byte* buffer = stackalloc byte[field * 6];
        if (Libc.uname(buffer) != 0)
            return "unknown";
        var release = new ReadOnlySpan<byte>(buffer + 2 * field, field);
        int end = release.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? release : release[..end]);
    }

    private static Version Parse(string release)
    {
        int[] parts = [0, 0];
        int index = 0;
        foreach (char c in release)
        {
            if (char.IsAsciiDigit(c))
                parts[index] = parts[index] * 10 + (c - '0');
            else if (c == '.' && index == 0)
                index = 1;
            else
                break;
        }
        return new Version(parts[0], parts[1]);
    }
}
