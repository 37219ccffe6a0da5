using System.Runtime.InteropServices;

namespace Procdesc.Tests.Support;

/// <summary>Where a test's own threads are in the kernel: a wait for "blocked in the call" without sleeping.</summary>
internal static class Threads
{
    internal static int Gettid() => (int)CLibc.syscall(RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 186 : 178, 0, 0, 0);

    /// <summary>True once the thread is inside waitid (per /proc/self/task/TID/syscall); bounded.</summary>
    internal static bool EventuallyInWaitid(Func<int> tid)
    {
        string waitid = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? "247" : "95";
        return Kids.Eventually(() =>
        {
            int t = tid();
            if (t == 0)
                return false;
            try { return File.ReadAllText($"/proc/self/task/{t}/syscall").Split(' ')[0] == waitid; }
            catch (IOException) { return false; }
        });
    }
}
