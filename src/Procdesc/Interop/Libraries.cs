using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>Names of the native libraries this assembly calls, resolved once per host.</summary>
internal static class Libraries
{
    /// <summary>The C library. "libc" alone is not a loadable file name on glibc or FreeBSD.</summary>
    internal const string Libc = "libc";

    /// <summary>The project's own child-side helper (src/native), built by the project's build.</summary>
    internal const string NativeSpawn = "procdesc_native";

    // A library has no Main to do this in, and the resolver must be in place before the first call.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(Libraries).Assembly, Resolve);

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000",
        Justification = "An empty Location (single-file, NativeAOT) is handled: AppContext.BaseDirectory is used.")]
    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name == Libc)
        {
            string file = OperatingSystem.IsFreeBSD() ? "libc.so.7" : "libc.so.6";
            return NativeLibrary.TryLoad(file, out IntPtr libc) ? libc : IntPtr.Zero;
        }
        if (name == NativeSpawn)
        {
            // Next to the assembly (project builds, tool installs) or wherever the runtime's own
            // probing finds it (runtimes/<rid>/native in a package).
            string beside = Path.Combine(AppContext.BaseDirectory, "libprocdesc_native.so");
            string? assemblyDir = Path.GetDirectoryName(assembly.Location);
            if (!string.IsNullOrEmpty(assemblyDir))
                beside = Path.Combine(assemblyDir, "libprocdesc_native.so");
            if (File.Exists(beside) && NativeLibrary.TryLoad(beside, out IntPtr own))
                return own;
            return NativeLibrary.TryLoad("libprocdesc_native.so", assembly, searchPath, out own) ? own : IntPtr.Zero;
        }
        return IntPtr.Zero;
    }
}
