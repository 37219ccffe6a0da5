using System.Globalization;
using Mono.Unix.Native;

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
        PdChild child = PdChild.ExecFromPath(argv[0], argv);
        if (!argv[0].Contains('/') && !File.Exists(child.Path))
            return Fail($"{argv[0]}: command not found", NotFound);

        var started = DateTime.UtcNow;
        ProcessDescriptor descriptor;
        try
        {
            // The tool holds the only descriptor: if the tool dies in any way, the child dies too
            // (unless --daemon).
            descriptor = ProcessDescriptor.Fork(child, PdFlags.CloExec | (daemon ? PdFlags.Daemon : PdFlags.None));
        }
        catch (ProcessDescriptorException e)
        {
            return Fail($"{argv[0]}: {ErrnoText(e.Errno)}", e.Errno is Errno.ENOENT ? NotFound : CannotExecute);
        }

        ExitStatus status;
        using (descriptor)
        {
            try
            {
                status = descriptor.Wait();
            }
            catch (ProcessDescriptorException e)
            {
                return Fail($"wait: {ErrnoText(e.Errno)}", UsageError);
            }
        }
        TimeSpan wall = DateTime.UtcNow - started;
        Rusage usage = status.Usage;
        string ending = status.Exited
            ? $"exited with code {status.ExitCode}"
            : $"killed by {status.TermSignal}{(status.CoreDumped ? " (core dumped)" : "")}";
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"procdesc: pid {status.Pid} {ending}; user {usage.UserTime.TotalSeconds:0.000}s system {usage.SystemTime.TotalSeconds:0.000}s " +
            $"wall {wall.TotalSeconds:0.000}s max RSS {usage.MaxRssKiB} KiB"));
        return status.Exited ? status.ExitCode : 128 + (int)status.TermSignal!.Value;
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
