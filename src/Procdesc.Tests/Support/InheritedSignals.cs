namespace Procdesc.Tests.Support;

/// <summary>
/// A signal this test process ignores is ignored by the programs it starts too (ignored signals
/// survive exec), and .NET leaves an inherited ignored SIGINT or SIGQUIT ignored — a shell without
/// job control starts background jobs so. Such a program cannot receive it: the row cannot be
/// checked in this run, which says so instead of failing.
/// </summary>
internal static class InheritedSignals
{
    internal static void SkipIfIgnoredHere(Signum signal, string who)
    {
        if (!OperatingSystem.IsLinux())
            return;
        string line = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        ulong ignored = Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
        if ((ignored & (1UL << ((int)signal - 1))) != 0)
            Assert.Ignore($"this test process was started with {signal} ignored, so {who} would be too");
    }
}
