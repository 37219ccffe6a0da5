using System.Runtime.InteropServices;
using Procdesc.Backends;
using Procdesc.Interop;

namespace Procdesc.Benchmarks.Harness;

/// <summary>
/// A diagnostic, not a subject: the library's own C helper (libprocdesc_native.so,
/// procdesc_spawn — clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) + execve) called directly on the
/// calling thread with a request built once (the library's own request builder), then
/// waitid(P_PIDFD) and close. What pdfork costs beyond this is the managed side: marshalling the
/// request, the hop to the spawner thread, descriptor bookkeeping, pdwait4's checks, close's
/// kill-on-close check.
/// </summary>
internal sealed unsafe class HelperSpawner : IDisposable
{
    private readonly SpawnRequestBlock _request;

    internal HelperSpawner(string path, string[] argv)
    {
        _request = new SpawnRequestBlock(PdChild.Exec(path, argv));
        // As pdfork does for a child without PD_DAEMON (this thread outlives every child made here).
        _request.Request->DeathSignal = 9;
        _request.Request->ExpectedParent = Environment.ProcessId;
    }

    /// <summary>The request's signals set back to SIG_DFL in the child (for the same request made in C).</summary>
    internal ulong DefaultSignals => _request.Request->DefaultSignals;

    /// <summary>Starts and reaps <paramref name="n"/> children; nanoseconds per child.</summary>
    internal double Measure(int n)
    {
        byte* siginfo = stackalloc byte[128];
        long t0 = Native.NowNs();
        for (int i = 0; i < n; i++)
        {
            int pidfd, pid;
            int error = NativeSpawn.Spawn(_request.Request, &pidfd, &pid);
            if (error != 0)
                throw new IOException($"procdesc_spawn: errno {error}");
            if (Native.Syscall(Native.SYS_waitid, Native.P_PIDFD, pidfd, (long)siginfo, Native.WEXITED | Native.__WALL, 0) != 0)
                throw new IOException($"waitid: errno {Marshal.GetLastPInvokeError()}");
            Native.Close(pidfd);
        }
        return (Native.NowNs() - t0) / (double)n;
    }

    public void Dispose() => _request.Dispose();
}
