using System.Runtime.InteropServices;

namespace Procdesc.Tests.Support;

/// <summary>setresuid for the calling thread only: the raw system call (glibc's wrapper would
/// change every thread of the process).</summary>
internal static class Credentials
{
    private static readonly long SYS_setresuid = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 117 : 147;

    internal static int SetResUid(int real, int effective, int saved) =>
        (int)CLibc.syscall(SYS_setresuid, real, effective, saved);
}
