using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace Procdesc.Tests.Support;

/// <summary>Runs a test only on the named system. NUnit's [Platform("Linux")] is true on any Unix,
/// FreeBSD included, so the project decides with OperatingSystem itself.</summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class)]
internal sealed class OnlyOnAttribute(string system, string? why = null) : NUnitAttribute, IApplyToTest
{
    public void ApplyToTest(NUnit.Framework.Internal.Test test)
    {
        if (test.RunState == RunState.NotRunnable || OperatingSystem.IsOSPlatform(system))
            return;
        test.RunState = RunState.Skipped;
        test.Properties.Set(PropertyNames.SkipReason,
            $"{why ?? $"checks {system}'s row"}; this host is {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
    }
}
