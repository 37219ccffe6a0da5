using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// §10 L1 under a foreign reaper: a program that is pid 1 of its pid namespace (as .NET is in most
/// containers) and uses System.Diagnostics.Process, whose runtime then reaps every child with
/// waitpid(-1). Before Linux 6.15 such a reap took the library's children's statuses (measured on
/// 6.12: 122 of 450 lost); from 6.15 the kernel keeps the status but no rusage. The library makes
/// such a program's children through its helper parent, so nothing is lost on any kernel.
/// </summary>
[Contract("§10 L1 a foreign reaper: the program is pid 1 and uses System.Diagnostics.Process")]
[OnlyOn("Linux", "pid namespaces and the helper parent are Linux's")]
public class ForeignReaperTests
{
    [Test, CancelAfter(900_000)]
    public void AsPid1OfAPidNamespace_NextToProcessChildren_NoChildLosesItsStatusOrItsRusage(CancellationToken cancellation)
    {
        using var host = HostProcess.TestHostUnder(["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"], "reaper-load", "100");
        string line = host.ReadLine(TimeScale.Ms(600_000));
        line.ShouldBe("lost 0 missing-rusage 0 of 150; helper-parent yes", "every status, with its rusage, through pdwait4 and WaitAsync");
    }
}
