using Procdesc.Tests.Support;

namespace Procdesc.Tests;

/// <summary>
/// Every call with every kind of wrong descriptor: the contract's errno, -1 (never an exception),
/// the native errno beside the canonical one, and no descriptor of the library's left behind
/// (counted in /proc/self/fd; the errnos alone are the conformance rows'). Also close(2) for
/// anything but a process descriptor, and the managed API's argument checks.
/// </summary>
[OnlyOn("Linux", "uses /proc and the Linux backend's internals; the cross-OS checks are compat-tests")]
public class BadInputTests
{
    private static readonly string[] Kinds = ["-1", "closed", "1<<30", "file", "pipe", "socket"];

    /// <summary>(descriptor kind, call) → the errno the contract gives.</summary>
    private static Errno Expected(string kind, string call) => (kind, call) switch
    {
        ("file" or "pipe" or "socket", "pdwait") => Errno.EINVAL, // §5: open but not a procdesc
        _ => Errno.EBADF,
    };

    private static IEnumerable<TestCaseData> Cases() =>
        from kind in Kinds
        from call in new[] { "pdgetpid", "pdkill", "pdwait4", "pdwait", "fstat" }
        select new TestCaseData(kind, call).SetName($"{call}_On_{kind.Replace("<<", "shl")}");

    [TestCaseSource(nameof(Cases))]
    [Contract("§2 fd not open / not a procdesc"), Contract("§3 fd not open / not a procdesc"), Contract("§4 fd not open / not a procdesc"),
     Contract("§5 fd not open"), Contract("§5 fd open but not a procdesc"), Contract("§8 fstat")]
    public void WrongDescriptors_GiveTheContractsErrno_AndLeakNothing(string kind, string call)
    {
        var before = Processes.OpenDescriptors();
        using var others = new OtherDescriptors();
        int fd = kind switch
        {
            "-1" => -1,
            "closed" => ClosedNumber(),
            "1<<30" => 1 << 30,
            "file" => others.File,
            "pipe" => others.PipeRead,
            _ => others.Socket,
        };
        int result = call switch
        {
            "pdgetpid" => pdgetpid(fd, out _),
            "pdkill" => pdkill(fd, Signum.SIGTERM),
            "pdwait4" => pdwait4(fd, out _, PdWaitOptions.WNOHANG, out _),
            "pdwait" => pdwait(fd, out _, PdWaitOptions.WEXITED | PdWaitOptions.WNOHANG, out _, out _),
            _ => ExpectFstat(fd, kind),
        };
        if (call == "fstat" && kind is "file" or "pipe" or "socket")
            return; // checked in ExpectFstat: a real fstat
        Expect.ShouldFailWith(result, Expected(kind, call));
        others.Dispose();
        Processes.NoDescriptorLeaked(before);
    }

    private static int ExpectFstat(int fd, string kind)
    {
        int r = fstat(fd, out Stat stat);
        if (kind is "file" or "pipe" or "socket")
        {
            r.ShouldBe(0, "fstat of an ordinary descriptor is fstat(2)");
            stat.st_ino.ShouldNotBe(0UL);
        }
        return r;
    }

    [Test, Contract("§6 close: ordinary close(2) for anything else")]
    public void Close_OfBadNumbers_IsEBADF_AndOfOtherDescriptors_Closes()
    {
        foreach (int fd in new[] { -1, 1 << 30, ClosedNumber() })
            Expect.ShouldFailWith(close(fd), Errno.EBADF, $"fd {fd}");
        var others = new OtherDescriptors();
        foreach (int fd in others.All)
            close(fd).ShouldBe(0);
        foreach (int fd in others.All)
            CLibc.fcntl(fd, CLibc.F_GETFD, 0).ShouldBe(-1, "closed for real");
        CLibc.close(others.SocketPeer);
    }

    [Test, Contract("§1 flags outside PD_DAEMON | PD_CLOEXEC")]
    public void NullArguments_ThrowArgumentNull_NotOsErrors()
    {
        Should.Throw<ArgumentNullException>(() => pdfork(out _, 0, null!));
        Should.Throw<ArgumentNullException>(() => poll(null!, 0));
        Should.Throw<ArgumentNullException>(() => PdChild.Exec(null!, ["x"]));
        Should.Throw<ArgumentNullException>(() => PdChild.Exec("/bin/true", null!));
        Should.Throw<ArgumentException>(() => PdChild.Exec("/bin/tr\0ue", ["x"]));
        Should.Throw<ArgumentOutOfRangeException>(() => PdChild.Exec("/bin/true", ["x"]).WithFd(-1, 0));
    }

    /// <summary>A number that was open a moment ago and is closed now.</summary>
    private static int ClosedNumber()
    {
        int fd = CLibc.dup(2);
        CLibc.close(fd);
        return fd;
    }
}
