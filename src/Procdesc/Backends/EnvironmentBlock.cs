using System.Runtime.InteropServices;
using System.Text;

namespace Procdesc.Backends;

/// <summary>
/// An environment as the C helper passes it to execve: a NULL-terminated array of "NAME=value"
/// UTF-8 strings, in one block of native memory (the child shares the caller's memory while the
/// garbage collector may move managed objects). Immutable once built; freed when no request
/// refers to it any more (a request keeps the object alive for the length of its spawn).
/// </summary>
internal sealed unsafe class EnvironmentBlock
{
    private readonly byte* _block;

    /// <summary>The envp array inside the block.</summary>
    internal byte** Envp => (byte**)_block;

    /// <summary>The entries, for the helper parent's message (rare path: built on request).</summary>
    internal IReadOnlyList<string> Entries { get; }

    internal EnvironmentBlock(IReadOnlyList<string> entries)
    {
        Entries = entries;
        nuint size = (nuint)((entries.Count + 1) * sizeof(byte*));
        foreach (string entry in entries)
            size += (nuint)Encoding.UTF8.GetByteCount(entry) + 1;
        _block = (byte*)NativeMemory.Alloc(size);
        byte** envp = (byte**)_block;
        byte* cursor = _block + (entries.Count + 1) * sizeof(byte*);
        for (int i = 0; i < entries.Count; i++)
        {
            envp[i] = cursor;
            int written = Encoding.UTF8.GetBytes(entries[i], new Span<byte>(cursor, Encoding.UTF8.GetByteCount(entries[i])));
            cursor[written] = 0;
            cursor += written + 1;
        }
        envp[entries.Count] = null;
    }

    ~EnvironmentBlock() => NativeMemory.Free(_block);
}
