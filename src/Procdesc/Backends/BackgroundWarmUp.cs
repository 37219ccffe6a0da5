using System.Globalization;
using System.Reflection;
using Mono.Unix.Native;
using Procdesc.Numbering;

namespace Procdesc.Backends;

/// <summary>
/// Loads, before the library's first call returns, what its background work and error paths will
/// need later: every assembly the library refers to (directly or through them) and the runtime's
/// culture data. Loading an assembly or ICU takes a descriptor; the first kill-on-close or the
/// first asynchronous wait of a process may come at a moment when none is free (measured: with
/// RLIMIT_NOFILE reached, the first WaitAsync threw FileNotFoundException for
/// System.Threading.ThreadPool, and the exit reactor lost its first kill-on-close child). Compiling
/// code needs no descriptor, so nothing is compiled here.
/// </summary>
internal static class BackgroundWarmUp
{
    private static int s_done;

    internal static void Run()
    {
        if (Interlocked.Exchange(ref s_done, 1) != 0)
            return;
        // Only a JIT loads assemblies on first use; NativeAOT has them all, and no metadata to ask.
        if (System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled)
            LoadReferencedAssemblies();
        // Culture data (ICU) for the messages of exceptions the library creates on any thread.
        _ = CultureInfo.CurrentCulture.NumberFormat;
        _ = System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(HostNumbering.Current.ErrnoToNative(Errno.ECHILD));
        _ = string.Format(CultureInfo.CurrentCulture, "{0} {1}", 1, Errno.EMFILE);
    }

    private static bool IsFacade(AssemblyName reference) =>
        reference.Name is "netstandard" or "mscorlib";

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026",
        Justification = "Best effort: a reference trimming removed is not there to load, and the FileNotFoundException is caught.")]
    private static void LoadReferencedAssemblies()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<Assembly>();
        pending.Push(typeof(BackgroundWarmUp).Assembly);
        while (pending.TryPop(out Assembly? assembly))
        {
            foreach (AssemblyName reference in assembly.GetReferencedAssemblies())
            {
                if (!seen.Add(reference.FullName))
                    continue;
                try
                {
                    Assembly loaded = Assembly.Load(reference);
                    // A facade (netstandard, mscorlib: Mono.Posix refers to netstandard) forwards to
                    // the whole framework: loaded itself, its references are not followed — they
                    // would load ~100 assemblies the library never uses, each keeping descriptors
                    // open (measured: 217 in a process that had made one child, 2 per assembly), and
                    // every exec then closes every one of them in the child.
                    if (!IsFacade(reference))
                        pending.Push(loaded);
                }
                catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
                {
                    // A reference this runtime resolves elsewhere (or never needs): nothing to load.
                }
            }
        }
    }
}
