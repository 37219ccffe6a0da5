using Procdesc.Compat.Tests.Support;

namespace Procdesc.Compat.Tests;

/// <summary>
/// The conformance suite: one test per row of procdesc-contract.md §1–§8 (and a few more FreeBSD
/// behaviours), split over one file per section. Tests run one at a time: several watch this
/// process's children, signals or descriptor numbers as a whole.
/// </summary>
[TestFixture, NonParallelizable]
public partial class Conformance
{
    [TearDown]
    public void RecordTheResult() => Report.RecordCurrentTest();

    /// <summary>
    /// A zombie reaped through a dup'ed copy of its descriptor, once by pdwait4 and once by pdwait
    /// (each reap checked to get the exit status); after each, <paramref name="check"/> runs on
    /// the original and on the copy, with words for the failure message.
    /// </summary>
    private static void AfterAReapThroughACopy(int code, Action<int, string> check)
    {
        foreach (bool byPdwait in new[] { false, true })
        {
            string how = byPdwait ? "reaped by pdwait through a dup" : "reaped by pdwait4 through a dup";
            int pid = Kids.Zombie(out int fd, code);
            int copy = CLibc.dup(fd);
            try
            {
                copy.ShouldBeGreaterThanOrEqualTo(0);
                int status;
                if (byPdwait)
                {
                    pdwait(copy, out status, PdWaitOptions.WEXITED, out _, out PdSigInfo info).ShouldBe(0, how);
                    info.Pid.ShouldBe(pid, how);
                }
                else
                {
                    pdwait4(copy, out status, PdWaitOptions.None, out _).ShouldBe(pid, how);
                }
                WEXITSTATUS(status).ShouldBe(code, how);
                check(fd, $"{how}, asked through the original");
                check(copy, $"{how}, asked through the copy");
            }
            finally
            {
                close(copy);
                Kids.Cleanup(fd);
            }
        }
    }

    /// <summary>
    /// Standard input moved out of the way for a test that needs descriptor 0 to be the lowest free
    /// number (and a number a child's shell can name: sh redirections take one digit only).
    /// Dispose puts it back; whatever the test left on 0 must be closed first.
    /// </summary>
    private sealed class StdinAside : IDisposable
    {
        private readonly int _saved;

        internal StdinAside()
        {
            _saved = CLibc.fcntl(0, CLibc.F_DUPFD_CLOEXEC, 10);
            _saved.ShouldBeGreaterThan(0, $"fcntl(0, F_DUPFD_CLOEXEC): errno {CLibc.Errno}");
            CLibc.close(0).ShouldBe(0);
        }

        public void Dispose()
        {
            Kids.Cleanup(0);
            // Put standard input back, unless another thread of the runtime has opened a file there meanwhile.
            if (!CLibc.IsOpen(0))
                CLibc.dup2(_saved, 0).ShouldBe(0);
            CLibc.close(_saved);
        }
    }

    /// <summary>
    /// Starts a child shell with <paramref name="flags"/> and asks it whether its descriptor 0 is
    /// open ("open" or "closed", through its fd 3); also gives the number of the child's own descriptor.
    /// </summary>
    private static string AskAChildWhetherItsFd0IsOpen(int flags, out int childsOwnFd)
    {
        childsOwnFd = -1;
        var (read, write) = CLibc.PipeAbove(10); // not on 0, which the test keeps free
        int fd = -1;
        try
        {
            int pid = pdfork(out fd, flags, PdChild.Exec(Kids.Shell, ["sh", "-c", Fd0Question]).WithFd(3, write));
            CLibc.close(write);
            write = -1;
            pid.ShouldBeGreaterThan(0, $"pdfork failed: {GetLastError()}");
            childsOwnFd = fd;
            using var reader = new LineReader(read);
            read = -1;
            return reader.ReadLine() ?? "(no answer)";
        }
        finally
        {
            if (read >= 0) CLibc.close(read);
            if (write >= 0) CLibc.close(write);
            Kids.Cleanup(fd);
        }
    }

    /// <summary>dup2(0, 9) in the shell: EBADF when 0 is closed (stderr closed for the question, so nothing is opened).</summary>
    private const string Fd0Question = "if { true 9<&0; } 2>&-; then echo open >&3; else echo closed >&3; fi";
}
