using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Procdesc.Cli;

/// <summary>The C library the tool's own few calls go to, by its real file name: "libc" alone is
/// not a loadable file on glibc (libc.so there is a linker script) or on FreeBSD.</summary>
internal static class ToolLibraries
{
    internal const string Libc = "libc";

    // Before the first call; the tool is an executable, but its calls may come before Main's first line.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(ToolLibraries).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Libc && NativeLibrary.TryLoad(OperatingSystem.IsFreeBSD() ? "libc.so.7" : "libc.so.6", out IntPtr libc) ? libc : IntPtr.Zero;
}
