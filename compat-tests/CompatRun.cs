using Procdesc.Compat.Tests.Support;

namespace Procdesc.Compat.Tests;

/// <summary>
/// Once for the whole run: starts the library before the first test (its background work then
/// exists before any test looks), and writes the conformance report after the last one.
/// </summary>
[SetUpFixture]
public class CompatRun
{
    [OneTimeSetUp]
    public void StartTheBackend()
    {
        Kids.Note = Report.Note; // documented differences the shared helpers meet go into the report's row
        TestContext.Progress.WriteLine($"Procdesc compat suite: {HostFeatures.OperatingSystem}, kernel {HostFeatures.KernelRelease}, backend {HostFeatures.Backend}");
        int pid = Kids.Sleeper(out int fd);
        close(fd).ShouldBe(0);
        Kids.EventuallyGone(pid).ShouldBeTrue("the warm-up child is killed and reaped");
    }

    [OneTimeTearDown]
    public void WriteTheReport()
    {
        string directory = Report.Write();
        TestContext.Progress.WriteLine($"Conformance report: {Path.Combine(directory, "compat-report.md")} (and .json)");
    }
}
