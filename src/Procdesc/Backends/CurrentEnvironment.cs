using System.Collections;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Procdesc.Backends;

/// <summary>
/// This process's environment as .NET sees it (changes made with Environment.SetEnvironmentVariable
/// included, which the C library's environ does not see), as an <see cref="EnvironmentBlock"/>
/// built once per change and reused by every pdfork until the next change — not marshalled on
/// every call, as Process.Start does.
/// </summary>
/// <remarks>
/// A change is seen by comparing a fingerprint of the environment with the one the cached block
/// was built from. On CoreCLR the fingerprint is the runtime's own environment block
/// (GetEnvironmentStringsW of its platform layer, which Environment.GetEnvironmentVariables reads
/// too): copied into native memory and compared with memcmp, it costs no managed allocation. Where
/// that internal entry point is missing (NativeAOT, another runtime), the public
/// Environment.GetEnvironmentVariables is the fingerprint, compared entry by entry.
/// </remarks>
internal static unsafe class CurrentEnvironment
{
    private static readonly Lock s_gate = new();
    private static EnvironmentBlock? s_block;
    // The fingerprint s_block was built from: the runtime's UTF-16 block, or the public API's entries.
    private static char[]? s_runtimeBlock;
    private static string[]? s_entries;
    private static bool s_noRuntimeBlock;

    /// <summary>The environment now, as a block the C helper can pass on.</summary>
    internal static EnvironmentBlock Get()
    {
        lock (s_gate)
        {
            if (!s_noRuntimeBlock)
            {
                char* runtime = RuntimeBlock();
                if (runtime is not null)
                {
                    try
                    {
                        return FromRuntimeBlock(runtime);
                    }
                    finally
                    {
                        NativeMemory.Free(runtime); // the platform layer's FreeEnvironmentStringsW is free(3)
                    }
                }
            }
            return FromPublicApi();
        }
    }

    private static EnvironmentBlock FromRuntimeBlock(char* runtime)
    {
        var now = new ReadOnlySpan<char>(runtime, BlockLength(runtime));
        if (s_block is not null && s_runtimeBlock is not null && now.SequenceEqual(s_runtimeBlock))
            return s_block;
        var entries = new List<string>();
        foreach (Range range in now.Split('\0'))
        {
            ReadOnlySpan<char> entry = now[range];
            // As Environment.GetEnvironmentVariables reads the block: NAME=value, a name never empty.
            int equals = entry.IndexOf('=');
            if (equals > 0)
                entries.Add(entry.ToString());
        }
        s_runtimeBlock = now.ToArray();
        s_entries = null;
        return s_block = new EnvironmentBlock(entries);
    }

    /// <summary>The block's length up to its last entry's terminator ("A=1\0B=2\0\0" → 7), found
    /// entry by entry with the vectorized search for a NUL: it runs on every pdfork.</summary>
    private static int BlockLength(char* block)
    {
        int at = 0;
        while (true)
        {
            int entry = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(block + at).Length;
            if (entry == 0)
                return at == 0 ? 0 : at - 1;
            at += entry + 1;
        }
    }

    private static EnvironmentBlock FromPublicApi()
    {
        IDictionary variables = Environment.GetEnvironmentVariables();
        if (s_block is not null && s_entries is not null && s_entries.Length == 2 * variables.Count)
        {
            bool same = true;
            int i = 0;
            foreach (DictionaryEntry entry in variables)
            {
                if (!string.Equals(s_entries[i++], (string)entry.Key, StringComparison.Ordinal)
                    || !string.Equals(s_entries[i++], (string?)entry.Value, StringComparison.Ordinal))
                {
                    same = false;
                    break;
                }
            }
            if (same)
                return s_block;
        }
        var pairs = new string[2 * variables.Count];
        var entries = new List<string>(variables.Count);
        int at = 0;
        foreach (DictionaryEntry entry in variables)
        {
            pairs[at++] = (string)entry.Key;
            pairs[at++] = (string?)entry.Value ?? "";
            entries.Add($"{entry.Key}={entry.Value}");
        }
        s_entries = pairs;
        s_runtimeBlock = null;
        return s_block = new EnvironmentBlock(entries);
    }

    /// <summary>CoreCLR's environment block (malloc'd), or null where this runtime has none to give.</summary>
    private static char* RuntimeBlock()
    {
        try
        {
            return RuntimeEnvironment.GetEnvironmentStringsW(null);
        }
        catch (Exception e) when (e is MissingMethodException or MissingMemberException or TypeLoadException or NotSupportedException)
        {
            s_noRuntimeBlock = true;
            return null;
        }
    }

    /// <summary>The entry point Environment.GetEnvironmentVariables uses on CoreCLR for Unix.</summary>
    private static class RuntimeEnvironment
    {
        [UnsafeAccessor(UnsafeAccessorKind.StaticMethod, Name = "GetEnvironmentStringsW")]
        internal static extern char* GetEnvironmentStringsW([UnsafeAccessorType("Interop+Kernel32, System.Private.CoreLib")] object? kernel32);
    }
}
