using Procdesc.Compat.Tests.Support;

namespace Procdesc.Compat.Tests;

/// <summary>
/// The test assembly run as a program: the "caller that dies" of the §6 row "the caller's process
/// exits normally, crashes, or is killed with SIGKILL". It uses PdSyscall only (no object layer):
///
///   dotnet Procdesc.Compat.Tests.dll --compat-parent MODE daemon|kill-on-close
///
/// Descriptor 3 is the read end of the test's input pipe and 4 the write end of its output pipe;
/// the program gives both to one echo child (as its 0 and 1) made with pdfork, closes its own
/// copies, prints "ready PID" on stdout, waits for a line on stdin (the test has seen the child
/// run), and then ends as MODE says: "return" (returns from Main), "crash" (dies of an unhandled
/// exception: SIGABRT), or "block" (waits to be killed with SIGKILL).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length != 3 || args[0] != "--compat-parent" || args[2] is not ("daemon" or "kill-on-close"))
        {
            Console.Error.WriteLine("usage: Procdesc.Compat.Tests --compat-parent return|crash|block daemon|kill-on-close (run by the compat tests)");
            return 2;
        }
        return Parent(args[1], args[2] == "daemon");
    }

    private static unsafe int Parent(string mode, bool daemon)
    {
        ulong* noCore = stackalloc ulong[2] { 0, 0 };
        CLibc.setrlimit(CLibc.RLIMIT_CORE, noCore); // the crash mode must leave no core file behind

        var child = PdChild.Exec(Kids.Shell, ["sh", "-c", EchoChild.Script]).WithFd(0, 3).WithFd(1, 4);
        int pid = pdfork(out int fd, PD_CLOEXEC | (daemon ? PD_DAEMON : 0), child);
        if (pid < 0)
        {
            Console.Out.WriteLine($"error {GetLastError()}");
            return 1;
        }
        // Only the child holds the pipes now: its death shows as end of file on the test's side.
        CLibc.close(3);
        CLibc.close(4);
        Console.Out.WriteLine($"ready {pid}");
        Console.Out.Flush();
        Console.In.ReadLine(); // the test's go-ahead (or end of file)

        switch (mode)
        {
            case "return":
                return 0; // the descriptor is still open: the process's end closes it
            case "crash":
                throw new InvalidOperationException("the compat parent dies of an unhandled exception, on purpose");
            default:
                Thread.Sleep(Timeout.Infinite); // the test sends SIGKILL
                GC.KeepAlive(fd);
                return 0;
        }
    }
}
