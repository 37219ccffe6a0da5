using System.Globalization;
using Mono.Unix.Native;
using static Procdesc.PdSyscall;

namespace Procdesc.Cli;

/// <summary>
/// <c>procdesc run [--daemon] -- PROGRAM [ARGS…]</c>: starts PROGRAM through pdfork, waits with
/// pdwait4, reports how it ended and what it cost, and exits as it did (128 + signal when killed).
/// </summary>
internal static class RunCommand
{
    private const int UsageError = 125, CannotExecute = 126, NotFound = 127;

    internal static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            PrintUsage(args.Length == 0 ? Console.Error : Console.Out);
            return args.Length == 0 ? UsageError : 0;
        }
        if (args[0] != "run")
            return Fail($"unknown command '{args[0]}'", UsageError);

        bool daemon = false;
        int i = 1;
        for (; i < args.Length && args[i] != "--"; i++)
        {
            if (args[i] == "--daemon")
                daemon = true;
            else if (args[i] is "-h" or "--help")
            {
                PrintUsage(Console.Out);
                return 0;
            }
            else if (args[i].StartsWith('-'))
                return Fail($"unknown option '{args[i]}'", UsageError);
            else
                break; // the program, given without "--"
        }
        if (i < args.Length && args[i] == "--")
            i++;
        if (i >= args.Length)
            return Fail("missing PROGRAM (usage: procdesc run [--daemon] -- PROGRAM [ARGS...])", UsageError);

        string[] argv = args[i..];
        string? path = ProgramPath.Resolve(argv[0]);
        if (path is null)
            return Fail($"{argv[0]}: command not found", NotFound);

        var started = DateTime.UtcNow;
        int pid = pdfork(out int fd, PD_CLOEXEC | (daemon ? PD_DAEMON : 0), PdChild.Exec(path, argv));
        if (pid < 0)
        {
            Errno errno = GetLastError();
            return Fail($"{argv[0]}: {ErrnoText(errno)}", errno is Errno.ENOENT ? NotFound : CannotExecute);
        }

        int reaped;
        int status;
        Rusage usage;
        while ((reaped = pdwait4(fd, out status, PdWaitOptions.None, out usage)) < 0 && GetLastError() == Errno.EINTR)
        {
        }
        TimeSpan wall = DateTime.UtcNow - started;
        close(fd);
        if (reaped < 0)
            return Fail($"pdwait4: {ErrnoText(GetLastError())}", UsageError);

        string ending = WIFEXITED(status)
            ? $"exited with code {WEXITSTATUS(status)}"
            : $"killed by {WTERMSIG(status)}{(WCOREDUMP(status) ? " (core dumped)" : "")}";
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"procdesc: pid {pid} {ending}; user {usage.UserTime.TotalSeconds:0.000}s system {usage.SystemTime.TotalSeconds:0.000}s " +
            $"wall {wall.TotalSeconds:0.000}s max RSS {usage.MaxRssKiB} KiB"));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (int)WTERMSIG(status);
    }

    private static void PrintUsage(TextWriter to) => to.WriteLine(
        """
        usage: procdesc run [--daemon] -- PROGRAM [ARGS...]

        Runs PROGRAM under a process descriptor, waits for it, prints to stderr how it ended and
        its resource usage, and exits with its exit code (128 + signal number when killed).
          --daemon   create the child with PD_DAEMON (it is not killed when the descriptor closes)
        """);

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"procdesc: {message}");
        return code;
    }

    private static string ErrnoText(Errno errno) => errno switch
    {
        Errno.ENOENT => "No such file or directory",
        Errno.EACCES => "Permission denied",
        Errno.ENOEXEC => "Exec format error",
        _ => errno.ToString(),
    };
}
