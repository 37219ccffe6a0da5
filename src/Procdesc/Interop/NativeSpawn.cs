using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>The request handed to the C helper; layout matches <c>struct pd_spawn_request</c> in both
/// src/native files (Linux reads DeathSignal, ExpectedParent, CloneFlags and the sandbox's fields, FreeBSD PdFlags and PdrforkThread).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SpawnRequest
{
    public byte* Path;
    public byte** Argv;
    public byte** Envp;
    public int* FdMap;
    public int* FdScratch;
    public int FdMapCount;
    public int DeathSignal;
    public byte* WorkingDirectory;
    public int ExpectedParent;
    public int PdFlags;
    public void* PdrforkThread;
    public ulong CloneFlags;
    public uint* Credentials;
    public int SandboxRuleset;
    public int NoNewPrivs;
    public ulong DefaultSignals;
    public byte** ScriptArgv;
    /// <summary>0, or the child closes every descriptor from this number up but the FdMap targets.</summary>
    public int CloseFrom;
    public int Reserved;
}

internal static unsafe partial class NativeSpawn
{
    /// <summary>Creates the child (clone3, vfork-style) and execs it; 0 or a positive errno.</summary>
    [LibraryImport(Libraries.NativeSpawn, EntryPoint = "procdesc_spawn")]
    internal static partial int Spawn(SpawnRequest* request, int* pidfd, int* pid);
}
