using System.Runtime.InteropServices;

namespace Procdesc.Interop;

/// <summary>The messages between the library and its helper parent, laid out to match
/// src/native/procdesc_parent.h (every field 32 bits but the rusage).</summary>
internal static class ParentMessages
{
    internal const uint Spawn = 1, Spawned = 2, Waitid = 3, Waited = 4;
}

[StructLayout(LayoutKind.Sequential)]
internal struct ParentHeader
{
    public uint Kind;
    public uint Id;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ParentSpawn
{
    public ParentHeader Header;
    public int Daemon, Argc, Envc, FdCount, HasCwd;
    public fixed uint Ids[6];
    public int Groups;
    /// <summary>1: the last descriptor passed is the child's Landlock ruleset.</summary>
    public int Sandbox;
    public int NoNewPrivs;
    /// <summary>1: execvp's ENOEXEC fallback to /bin/sh (<see cref="PdChild.ExecFromPath"/>).</summary>
    public int ScriptFallback;
    /// <summary>Signals set to SIG_DFL in the child, bit n-1 for host signal n: the low word, then the high one.</summary>
    public uint DefaultSignalsLow, DefaultSignalsHigh;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ParentSpawned
{
    public ParentHeader Header;
    public int Error, Pid;
}

[StructLayout(LayoutKind.Sequential)]
internal struct ParentWaitid
{
    public ParentHeader Header;
    public int Pid, Options;
}

[StructLayout(LayoutKind.Sequential)]
internal struct ParentWaited
{
    public ParentHeader Header;
    public int Result, Error, Pid, Code, Status;
    public uint Uid;
    public NativeRusage Usage;
}
