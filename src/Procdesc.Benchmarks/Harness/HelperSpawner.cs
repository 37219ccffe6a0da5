using System.Collections;
using System.Runtime.InteropServices;

namespace Procdesc.Benchmarks.Harness;

/// <summary>
/// A diagnostic, not a subject: the library's own C helper (libprocdesc_native.so,
/// procdesc_spawn — clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) + execve) called directly on the
/// calling thread with a request built once, then waitid(P_PIDFD) and close. What pdfork costs
/// beyond this is the managed side: marshalling the request, the hop to the spawner thread,
/// descriptor bookkeeping, pdwait4's checks, close's kill-on-close check.
/// </summary>
internal sealed unsafe class HelperSpawner : IDisposable
{
    [StructLayout(LayoutKind.Sequential)]
    private struct SpawnRequest // struct pd_spawn_request in src/native/procdesc_spawn_linux.c
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
    }

    private readonly delegate* unmanaged<SpawnRequest*, int*, int*, int> _spawn;
    private readonly SpawnRequest* _request;
    private readonly List<IntPtr> _strings = [];

    internal HelperSpawner(string path, string[] argv)
    {
        IntPtr library = NativeLibrary.Load(Path.Combine(AppContext.BaseDirectory, "libprocdesc_native.so"));
        _spawn = (delegate* unmanaged<SpawnRequest*, int*, int*, int>)NativeLibrary.GetExport(library, "procdesc_spawn");
        var env = new List<string>();
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
            env.Add($"{e.Key}={e.Value}");
        _request = (SpawnRequest*)NativeMemory.AllocZeroed((nuint)sizeof(SpawnRequest));
        _request->Path = Utf8(path);
        _request->Argv = Vector(argv);
        _request->Envp = Vector(env);
        // As pdfork does for a child without PD_DAEMON (this thread outlives every child made here).
        _request->DeathSignal = 9;
        _request->ExpectedParent = Environment.ProcessId;
    }

    /// <summary>Starts and reaps <paramref name="n"/> children; nanoseconds per child.</summary>
    internal double Measure(int n)
    {
        byte* siginfo = stackalloc byte[128];
        long t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
        {
            int pidfd, pid;
            int error = _spawn(_request, &pidfd, &pid);
            if (error != 0)
                throw new IOException($"procdesc_spawn: errno {error}");
            if (Native.Syscall(Native.SYS_waitid, Native.P_PIDFD, pidfd, (long)siginfo, Native.WEXITED | Native.__WALL, 0) != 0)
                throw new IOException($"waitid: errno {Marshal.GetLastPInvokeError()}");
            Native.Close(pidfd);
        }
        return (Native.NowNs() - t0) / (double)n;
    }

    private byte* Utf8(string s)
    {
        IntPtr p = Marshal.StringToCoTaskMemUTF8(s);
        _strings.Add(p);
        return (byte*)p;
    }

    private byte** Vector(IReadOnlyList<string> items)
    {
        var v = (byte**)Marshal.AllocCoTaskMem((items.Count + 1) * sizeof(byte*));
        _strings.Add((IntPtr)v);
        for (int i = 0; i < items.Count; i++)
            v[i] = Utf8(items[i]);
        v[items.Count] = null;
        return v;
    }

    public void Dispose()
    {
        foreach (IntPtr p in _strings)
            Marshal.FreeCoTaskMem(p);
        NativeMemory.Free(_request);
    }
}
