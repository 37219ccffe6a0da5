using Procdesc.Cli;

namespace Procdesc.Tests;

/// <summary>The tool's duration and signal parsers, tested directly (the tool's own assembly).</summary>
public partial class CliTests
{
    [TestCase("1.5s", 1_500)]
    [TestCase("200ms", 200)]
    [TestCase("2m", 120_000)]
    [TestCase("1h", 3_600_000)]
    [TestCase("1d", 86_400_000)]
    [TestCase("3", 3_000)]
    [TestCase("0.25", 250)]
    [TestCase(".5s", 500)]
    [TestCase("0", 0)]
    [TestCase("0.5ms", 0.5)]
    public void Duration_Parses(string text, double milliseconds)
    {
        Duration.TryParse(text, out TimeSpan duration).ShouldBeTrue();
        duration.TotalMilliseconds.ShouldBe(milliseconds, 0.001);
    }

    [TestCase(null), TestCase(""), TestCase("soon"), TestCase("-1"), TestCase("+1"), TestCase("1e3"), TestCase("1 s")]
    [TestCase(" 1"), TestCase("1.5.2"), TestCase("s"), TestCase("ms"), TestCase("."), TestCase("1sec"), TestCase("1S")]
    [TestCase("1,5"), TestCase("NaN"), TestCase("Infinity"), TestCase("99999999999999d")]
    public void Duration_Rejects(string? text)
    {
        Duration.TryParse(text, out _).ShouldBeFalse();
    }

    [TestCase("TERM", Signum.SIGTERM), TestCase("SIGTERM", Signum.SIGTERM), TestCase("term", Signum.SIGTERM)]
    [TestCase("SigTerm", Signum.SIGTERM), TestCase("15", Signum.SIGTERM), TestCase("KILL", Signum.SIGKILL)]
    [TestCase("9", Signum.SIGKILL), TestCase("HUP", Signum.SIGHUP), TestCase("INT", Signum.SIGINT)]
    [TestCase("QUIT", Signum.SIGQUIT), TestCase("USR1", Signum.SIGUSR1), TestCase("SIGUSR2", Signum.SIGUSR2)]
    [TestCase("ALRM", Signum.SIGALRM), TestCase("IOT", Signum.SIGABRT), TestCase("CHLD", Signum.SIGCHLD)]
    [TestCase("RTMIN", (Signum)34), TestCase("SIGRTMIN+2", (Signum)36)]
    public void SignalNames_ParsesNamesAndNumbers(string text, Signum expected)
    {
        SignalNames.TryParse(text, out Signum signal).ShouldBeTrue();
        signal.ShouldBe(expected);
    }

    [Test]
    public void SignalNames_NumbersAreThisHostsOwn()
    {
        // platform-notes.md: SIGUSR1 is 30 on FreeBSD and 10 on Linux; SIGUSR2 31 and 12.
        (int usr1, int usr2) = OperatingSystem.IsFreeBSD() ? (30, 31) : (10, 12);
        SignalNames.ToHost(Signum.SIGUSR1).ShouldBe(usr1);
        SignalNames.ToHost(Signum.SIGUSR2).ShouldBe(usr2);
        SignalNames.TryParse(usr1.ToString(), out Signum signal).ShouldBeTrue();
        signal.ShouldBe(Signum.SIGUSR1);
    }

    [TestCase(null), TestCase(""), TestCase("0"), TestCase("-9"), TestCase("+9"), TestCase("NOPE"), TestCase("SIG")]
    [TestCase("SIGTERM "), TestCase("1.5"), TestCase("999"), TestCase("127"), TestCase("RTMIN-1"), TestCase("RTMAX+1")]
    [TestCase("RTMIN+31"), TestCase("RTMIN+"), TestCase("SIGRT")]
    public void SignalNames_Rejects(string? text)
    {
        SignalNames.TryParse(text, out _).ShouldBeFalse();
    }

    [TestCase(Signum.SIGTERM, "SIGTERM"), TestCase(Signum.SIGABRT, "SIGABRT"), TestCase(Signum.SIGCHLD, "SIGCHLD")]
    [TestCase(Signum.SIGIO, "SIGIO"), TestCase((Signum)34, "SIGRTMIN"), TestCase((Signum)36, "SIGRTMIN+2")]
    public void SignalNames_DescribesWithThePreferredName(Signum signal, string name)
    {
        SignalNames.Describe(signal).ShouldBe(name);
    }
}
