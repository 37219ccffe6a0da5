using System.Runtime.InteropServices;
using System.Text;
using Procdesc.Interop;
using Procdesc.Numbering;

namespace Procdesc.Backends;

/// <summary>
/// A <see cref="PdChild"/> laid out in one block of native memory for the C helper. The child
/// shares the caller's memory while the garbage collector may move managed objects, so everything
/// it reads must live outside the managed heap.
/// </summary>
internal sealed unsafe class SpawnRequestBlock : IDisposable
{
    private readonly byte* _block;
    // The process's environment, shared by every request until it changes (null: the child's own).
    private readonly EnvironmentBlock? _environment;

    /// <summary>The request, inside the native block (the helper keeps pointers into it).</summary>
    internal SpawnRequest* Request { get; }

    internal SpawnRequestBlock(PdChild child)
    {
        IReadOnlyList<string> env = child.Environment is { } given ? given : [];
        if (child.Environment is null)
            _environment = CurrentEnvironment.Get();
        int mapCount = child.FdMap.Length;

        int scriptArgc = child.FallsBackToShell ? Math.Max(child.Arguments.Length, 1) + 2 : 0;
        int envSlots = _environment is null ? env.Count + 1 : 0;
        nuint size = (nuint)sizeof(SpawnRequest) + (nuint)((child.Arguments.Length + 1 + envSlots + scriptArgc) * sizeof(byte*) + mapCount * 3 * sizeof(int));
        size += StringBytes(child.Path) + StringBytes(child.WorkingDirectory) + (child.FallsBackToShell ? StringBytes(Shell) : 0);
        foreach (string s in child.Arguments) size += StringBytes(s);
        foreach (string s in env) size += StringBytes(s);

        _block = (byte*)NativeMemory.Alloc(size);
        byte* cursor = _block;
        Request = (SpawnRequest*)Take(ref cursor, sizeof(SpawnRequest));
        byte** argv = (byte**)Take(ref cursor, (child.Arguments.Length + 1) * sizeof(byte*));
        byte** envp = _environment is null ? (byte**)Take(ref cursor, (env.Count + 1) * sizeof(byte*)) : _environment.Envp;
        // Pointer arrays before the int arrays, so that each stays 8-byte aligned.
        byte** scriptArgv = child.FallsBackToShell ? (byte**)Take(ref cursor, scriptArgc * sizeof(byte*)) : null;
        int* fdMap = (int*)Take(ref cursor, mapCount * 2 * sizeof(int));
        int* scratch = (int*)Take(ref cursor, mapCount * sizeof(int));

        for (int i = 0; i < mapCount; i++)
        {
            fdMap[2 * i] = child.FdMap[i].ChildFd;
            fdMap[2 * i + 1] = child.FdMap[i].ParentFd;
        }
        for (int i = 0; i < child.Arguments.Length; i++)
            argv[i] = Put(ref cursor, child.Arguments[i]);
        argv[child.Arguments.Length] = null;
        if (_environment is null)
        {
            for (int i = 0; i < env.Count; i++)
                envp[i] = Put(ref cursor, env[i]);
            envp[env.Count] = null;
        }

        byte* path = Put(ref cursor, child.Path);
        if (scriptArgv is not null)
        {
            // execvp's fallback: /bin/sh PATH ARGV[1]... (the strings are the request's own).
            scriptArgv[0] = Put(ref cursor, Shell);
            scriptArgv[1] = path;
            for (int i = 1; i < child.Arguments.Length; i++)
                scriptArgv[i + 1] = argv[i];
            scriptArgv[scriptArgc - 1] = null;
        }
        *Request = new SpawnRequest
        {
            Path = path,
            Argv = argv,
            Envp = envp,
            FdMap = fdMap,
            FdScratch = scratch,
            FdMapCount = mapCount,
            WorkingDirectory = child.WorkingDirectory is null ? null : Put(ref cursor, child.WorkingDirectory),
            SandboxRuleset = -1,
            DefaultSignals = DefaultSignalsOf(child),
            ScriptArgv = scriptArgv,
            CloseFrom = child.ClosesOtherDescriptors ? 3 : 0,
        };
    }

    /// <summary>The shell execvp(3) falls back to.</summary>
    private const string Shell = "/bin/sh";

    /// <summary>The request's mask of signals the child sets to SIG_DFL: bit n-1 for host signal n.</summary>
    internal static ulong DefaultSignalsOf(PdChild child) => child.RestoresSignals ? s_restoredSignals : 0;

    /// <summary><see cref="PdChild.RestoredSignals"/> as that mask, made once rather than on every pdfork.</summary>
    private static readonly ulong s_restoredSignals = PdChild.RestoredSignals
        .Select(HostNumbering.Current.SignalToNative)
        .Where(native => native is >= 1 and <= 64)
        .Aggregate(0UL, (mask, native) => mask | 1UL << (native - 1));

    public void Dispose()
    {
        NativeMemory.Free(_block);
        GC.KeepAlive(_environment); // the child read its envp until its exec, which has happened
    }

    /// <summary>The child's environment: its own, or this process's (.NET keeps its own copy on Unix:
    /// that one, as Process.Start passes it).</summary>
    internal static IReadOnlyList<string> EnvironmentOf(PdChild child) => child.Environment is { } given ? given : CurrentEnvironment.Get().Entries;

    private static nuint StringBytes(string? s) => s is null ? 0 : (nuint)Encoding.UTF8.GetByteCount(s) + 1;

    private static byte* Take(ref byte* cursor, int bytes)
    {
        byte* at = cursor;
        cursor += bytes;
        return at;
    }

    private static byte* Put(ref byte* cursor, string s)
    {
        byte* at = cursor;
        int written = Encoding.UTF8.GetBytes(s, new Span<byte>(cursor, Encoding.UTF8.GetByteCount(s)));
        cursor[written] = 0;
        cursor += written + 1;
        return at;
    }
}
