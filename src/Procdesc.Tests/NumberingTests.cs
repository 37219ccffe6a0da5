using Procdesc.Tests.Support;
using Procdesc.Backends.Linux;
using Procdesc.Interop;
using Procdesc.Numbering;

namespace Procdesc.Tests;

/// <summary>
/// Contract §9: every entry of the numbering tables in the platform notes, checked on any host
/// (the FreeBSD tables are plain data and run here too).
/// </summary>
[Contract("§9")]
public class NumberingTests
{
    private static readonly FreeBsdNumbering FreeBsd = new();
    private static readonly LinuxNumbering Linux = new();

    // platform-notes.md, "Signals that differ (FreeBSD / Linux)".
    [TestCase(Signum.SIGBUS, 10, 7), TestCase(Signum.SIGSYS, 12, 31), TestCase(Signum.SIGURG, 16, 23)]
    [TestCase(Signum.SIGSTOP, 17, 19), TestCase(Signum.SIGTSTP, 18, 20), TestCase(Signum.SIGCONT, 19, 18)]
    [TestCase(Signum.SIGCHLD, 20, 17), TestCase(Signum.SIGIO, 23, 29), TestCase(Signum.SIGUSR1, 30, 10)]
    [TestCase(Signum.SIGUSR2, 31, 12)]
    public void SignalsThatDiffer(Signum signal, int freeBsd, int linux)
    {
        ((int)signal).ShouldBe(linux, "canonical numbering is Linux's");
        FreeBsd.SignalToNative(signal).ShouldBe(freeBsd);
        FreeBsd.SignalFromNative(freeBsd).ShouldBe(signal);
        Linux.SignalToNative(signal).ShouldBe(linux);
        Linux.SignalFromNative(linux).ShouldBe(signal);
    }

    // "Same on both".
    [TestCase(1), TestCase(2), TestCase(3), TestCase(4), TestCase(5), TestCase(6), TestCase(8), TestCase(9), TestCase(11)]
    [TestCase(13), TestCase(14), TestCase(15), TestCase(21), TestCase(22), TestCase(24), TestCase(25), TestCase(26), TestCase(27), TestCase(28)]
    public void SignalsTheSameOnBoth(int number)
    {
        FreeBsd.SignalToNative((Signum)number).ShouldBe(number);
        FreeBsd.SignalFromNative(number).ShouldBe((Signum)number);
        Linux.SignalToNative((Signum)number).ShouldBe(number);
    }

    [Test]
    public void SignalsOnlyOneSystemHas()
    {
        // SIGSTKFLT –/16, SIGPWR –/30: FreeBSD has none.
        FreeBsd.SignalToNative(Signum.SIGSTKFLT).ShouldBe(-1);
        FreeBsd.SignalToNative(Signum.SIGPWR).ShouldBe(-1);
        // SIGEMT 7/–, SIGINFO 29/–: no canonical name; never mistaken for SIGBUS (7) or SIGIO (29).
        foreach (int freeBsdOnly in new[] { FreeBsdNumbering.SIGEMT, FreeBsdNumbering.SIGINFO })
        {
            Signum canonical = FreeBsd.SignalFromNative(freeBsdOnly);
            ((int)canonical).ShouldBe(freeBsdOnly + FreeBsdNumbering.NoCanonicalName);
            FreeBsd.SignalToNative(canonical).ShouldBe(freeBsdOnly, "and back");
        }
    }

    [Test]
    public void RealtimeSignals_65To126_Against_34To64()
    {
        for (int linux = 34; linux <= 64; linux++)
        {
            int freeBsd = linux - 34 + 65;
            FreeBsd.SignalToNative((Signum)linux).ShouldBe(freeBsd);
            FreeBsd.SignalFromNative(freeBsd).ShouldBe((Signum)linux);
        }
        for (int freeBsd = 96; freeBsd <= 126; freeBsd++)
            FreeBsd.SignalToNative(FreeBsd.SignalFromNative(freeBsd)).ShouldBe(freeBsd, "beyond Linux's range: no canonical name, but a round trip");
        FreeBsd.SignalToNative((Signum)32).ShouldBe(-1, "glibc's private realtime signals");
        FreeBsd.SignalToNative((Signum)33).ShouldBe(-1);
    }

    [Test]
    public void MaximumSignal_128_Against_64()
    {
        FreeBsd.MaxSignal.ShouldBe(128);
        Linux.MaxSignal.ShouldBe(64);
    }

    // platform-notes.md, "errno values that differ (FreeBSD / Linux)".
    [TestCase(Errno.EDEADLK, 11, 35), TestCase(Errno.EAGAIN, 35, 11), TestCase(Errno.EINPROGRESS, 36, 115)]
    [TestCase(Errno.EALREADY, 37, 114), TestCase(Errno.ENOTSOCK, 38, 88), TestCase(Errno.EOPNOTSUPP, 45, 95)]
    [TestCase(Errno.ELOOP, 62, 40), TestCase(Errno.ENAMETOOLONG, 63, 36), TestCase(Errno.ENOTEMPTY, 66, 39)]
    [TestCase(Errno.ENOLCK, 77, 37), TestCase(Errno.ENOSYS, 78, 38), TestCase(Errno.EOVERFLOW, 84, 75)]
    [TestCase(Errno.ECANCELED, 85, 125), TestCase(Errno.EILSEQ, 86, 84), TestCase(Errno.ETIMEDOUT, 60, 110)]
    [TestCase(Errno.ECONNREFUSED, 61, 111)]
    public void ErrnosThatDiffer(Errno errno, int freeBsd, int linux)
    {
        ((int)errno).ShouldBe(linux);
        FreeBsd.ErrnoToNative(errno).ShouldBe(freeBsd);
        FreeBsd.ErrnoFromNative(freeBsd).ShouldBe(errno);
        Linux.ErrnoFromNative(linux).ShouldBe(errno);
    }

    [Test]
    public void ErrnosTheSameOnBoth_1To10_And_12To34()
    {
        foreach (int number in Enumerable.Range(1, 10).Concat(Enumerable.Range(12, 23)))
        {
            FreeBsd.ErrnoFromNative(number).ShouldBe((Errno)number);
            FreeBsd.ErrnoToNative((Errno)number).ShouldBe(number);
        }
        FreeBsd.ErrnoFromNative(9).ShouldBe(Errno.EBADF);
        FreeBsd.ErrnoFromNative(10).ShouldBe(Errno.ECHILD);
        FreeBsd.ErrnoFromNative(22).ShouldBe(Errno.EINVAL);
    }

    [TestCase(93, TestName = "ENOTCAPABLE_93_HasNoCanonicalName"), TestCase(94, TestName = "ECAPMODE_94_HasNoCanonicalName")]
    public void CapsicumErrnos(int freeBsd)
    {
        Errno canonical = FreeBsd.ErrnoFromNative(freeBsd);
        ((int)canonical).ShouldBe(freeBsd + FreeBsdNumbering.NoCanonicalName, "never EPROTONOSUPPORT/ESOCKTNOSUPPORT, Linux's 93/94");
        FreeBsd.ErrnoToNative(canonical).ShouldBe(freeBsd);
    }

    [Test]
    public void EveryFreeBsdErrno_RoundTrips()
    {
        for (int native = 1; native <= 97; native++)
            FreeBsd.ErrnoToNative(FreeBsd.ErrnoFromNative(native)).ShouldBe(native, $"FreeBSD errno {native}");
    }

    // "FreeBSD wait option bits: WNOHANG 1, WUNTRACED 2, WCONTINUED 4, WNOWAIT 8, WEXITED 16, WTRAPPED 32.
    //  Linux: WNOHANG 1, WUNTRACED 2, WEXITED 4, WCONTINUED 8, WNOWAIT 0x01000000".
    [TestCase(PdWaitOptions.WNOHANG, 1, 1), TestCase(PdWaitOptions.WUNTRACED, 2, 2), TestCase(PdWaitOptions.WCONTINUED, 4, 8)]
    [TestCase(PdWaitOptions.WNOWAIT, 8, 0x01000000), TestCase(PdWaitOptions.WEXITED, 16, 4), TestCase(PdWaitOptions.WTRAPPED, 32, 2)]
    public void WaitOptions(PdWaitOptions option, int freeBsd, int linux)
    {
        ((int)option).ShouldBe(freeBsd, "PdWaitOptions carries FreeBSD's values");
        LinuxBackend.ToLinuxOptions(option).ShouldBe(linux);
    }

    [Test]
    public void FreeBsdWaitConstants_AreThePublicOnes()
    {
        FreeBsdLibc.WNOHANG.ShouldBe((int)PdWaitOptions.WNOHANG);
        FreeBsdLibc.WUNTRACED.ShouldBe((int)PdWaitOptions.WUNTRACED);
        FreeBsdLibc.WCONTINUED.ShouldBe((int)PdWaitOptions.WCONTINUED);
        FreeBsdLibc.WNOWAIT.ShouldBe((int)PdWaitOptions.WNOWAIT);
        FreeBsdLibc.WEXITED.ShouldBe((int)PdWaitOptions.WEXITED);
        FreeBsdLibc.WTRAPPED.ShouldBe((int)PdWaitOptions.WTRAPPED);
        FreeBsdLibc.P_PID.ShouldBe(0, "idtype P_PID: FreeBSD 0, Linux 1");
        LinuxSyscalls.P_PID.ShouldBe(1);
    }

    [Test]
    public void ContinuedStatusWords_0x13_Against_0xffff()
    {
        FreeBsd.ContinuedStatus.ShouldBe(0x13);
        Linux.ContinuedStatus.ShouldBe(0xffff);
    }

    [Test]
    public void PollEvents_WriteBitsAreTranslated()
    {
        const short POLLOUT = 4, LinuxWrNorm = 0x100, LinuxWrBand = 0x200, FreeBsdWrBand = 0x100;
        FreeBsdPollEvents.ToNative((short)(PollEvents.POLLIN | PollEvents.POLLHUP | PollEvents.POLLRDBAND)).ShouldBe((short)(1 | 0x10 | 0x80));
        FreeBsdPollEvents.ToNative(LinuxWrNorm).ShouldBe(POLLOUT, "FreeBSD's POLLWRNORM is POLLOUT");
        FreeBsdPollEvents.ToNative(LinuxWrBand).ShouldBe(FreeBsdWrBand);
        FreeBsdPollEvents.FromNative(POLLOUT, LinuxWrNorm).ShouldBe(LinuxWrNorm);
        FreeBsdPollEvents.FromNative(POLLOUT, POLLOUT).ShouldBe(POLLOUT);
        FreeBsdPollEvents.FromNative(FreeBsdWrBand, LinuxWrBand).ShouldBe(LinuxWrBand);
        FreeBsdPollEvents.FromNative(0x10, 0).ShouldBe((short)PollEvents.POLLHUP);
    }
}
