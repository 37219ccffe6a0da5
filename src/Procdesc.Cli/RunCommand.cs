using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using Mono.Unix.Native;

namespace Procdesc.Cli;

/// <summary>
/// <c>procdesc run [OPTIONS] -- PROGRAM [ARGS…]</c>: starts PROGRAM under a process descriptor,
/// forwards the tool's termination signals to it, optionally ends it after a timeout (like
/// timeout(1)), reaps it, reports how it ended and what it cost, and exits as it did.
/// </summary>
internal sealed class RunCommand
{
    private const string Usage = "usage: procdesc run [OPTIONS] -- PROGRAM [ARGS...]";

    private readonly Option<bool> _daemon = new("--daemon")
    {
        Description = "Create the child with PD_DAEMON: it is not killed when the tool ends.",
    };

    private readonly Option<TimeSpan?> _timeout = new("--timeout")
    {
        HelpName = "DURATION",
        Description = $"Send --signal to the child if it still runs after DURATION ({Duration.Syntax}; 0: no timeout); the tool then exits 124.",
        CustomParser = result => ParseDuration(result, "--timeout"),
    };

    private readonly Option<Signum> _signal = new("--signal", "-s")
    {
        HelpName = "SIG",
        Description = $"The signal --timeout sends: {SignalNames.Syntax}.",
        DefaultValueFactory = _ => Signum.SIGTERM,
        CustomParser = ParseSignal,
    };

    private readonly Option<TimeSpan?> _killAfter = new("--kill-after", "-k")
    {
        HelpName = "DURATION",
        Description = "After the timeout's signal, send SIGKILL if the child still runs after DURATION.",
        CustomParser = result => ParseDuration(result, "--kill-after"),
    };

    private readonly Option<bool> _preserveStatus = new("--preserve-status")
    {
        Description = "After a timeout, exit as the child did (its code, or 128+N for signal N) instead of 124, as timeout(1)'s option does.",
    };

    private readonly Option<bool> _inheritSignals = new("--inherit-signals")
    {
        Description = "Start PROGRAM with the tool's signal dispositions as exec passes them on (SIGPIPE ignored: the .NET " +
                      "runtime ignores it) instead of SIGPIPE and SIGXFSZ at their defaults, as from a shell.",
    };

    private readonly Option<bool> _json = new("--json")
    {
        Description = "Print how the child ended and its resource usage as one JSON object on stdout, instead of on stderr.",
    };

    private readonly Option<bool> _quiet = new("--quiet", "-q")
    {
        Description = "Print no report.",
    };

    private readonly Option<bool> _sandbox = new("--sandbox")
    {
        Description = "Run the child in a sandbox (Linux: no_new_privs and Landlock: no file outside the program, its " +
                      "libraries and --allow-read/--allow-write paths; no TCP bind or connect; no abstract Unix socket or " +
                      "signal outside the sandbox, as far as the kernel's Landlock ABI goes; `procdesc info` shows it). " +
                      "Exit 125 if the kernel has no Landlock.",
    };

    private readonly Option<string[]> _allowRead = new("--allow-read")
    {
        HelpName = "PATH",
        Description = "With --sandbox: the child may read and execute PATH and what is beneath it (repeatable).",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string[]> _allowWrite = new("--allow-write")
    {
        HelpName = "PATH",
        Description = "With --sandbox: the child may also write, create and remove at and beneath PATH (repeatable).",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Argument<string[]> _program = new("PROGRAM")
    {
        Arity = ArgumentArity.OneOrMore,
        HelpName = "PROGRAM [ARGS...]",
        Description = "The program (looked up in PATH when it has no '/') and its arguments.",
    };

    internal RunCommand()
    {
        Command = new Command("run",
            "Run PROGRAM under a process descriptor, so that it cannot outlive the tool (unless --daemon); forward " +
            "INT, TERM, HUP, QUIT, USR1 and USR2 to it; report how it ended and what it cost. Exit status: PROGRAM's, " +
            "death by the same signal when signal N killed it (a shell shows 128+N), 124 on timeout (137 when SIGKILL " +
            "ended it), 125 usage error, 126 cannot execute, 127 not found — as timeout(1).")
        {
            _daemon, _timeout, _signal, _killAfter, _preserveStatus, _inheritSignals, _json, _quiet, _sandbox, _allowRead, _allowWrite, _program,
        };
        Command.Validators.Add(Validate);
        Command.SetAction(parsed =>
        {
            var options = new RunOptions(parsed.GetValue(_daemon), parsed.GetValue(_timeout), parsed.GetValue(_signal),
                parsed.GetValue(_killAfter), parsed.GetValue(_preserveStatus), parsed.GetValue(_inheritSignals),
                parsed.GetValue(_json), parsed.GetValue(_quiet),
                parsed.GetValue(_sandbox) ? Sandbox(parsed.GetValue(_allowRead), parsed.GetValue(_allowWrite)) : null);
            (int code, int signal) = Execute(parsed.GetValue(_program)!, options);
            // timeout(1): a child killed by a signal (not by the timeout) ends the tool with the
            // same signal, so its own parent sees what a shell would have seen without the tool.
            // Only once the forwarding handlers are gone; 128+N if the signal did not end us.
            if (signal > 0)
                ExitBySignal.Raise(signal);
            return code;
        });
    }

    /// <summary>What the command line asked for, beside the program.</summary>
    private sealed record RunOptions(bool Daemon, TimeSpan? Timeout, Signum Signal, TimeSpan? KillAfter, bool PreserveStatus,
        bool InheritSignals, bool Json, bool Quiet, SandboxPolicy? Sandbox);

    /// <summary>The System.CommandLine command.</summary>
    internal Command Command { get; }

    /// <summary>
    /// The first unknown option on a `run` command line, or null. System.CommandLine takes a word
    /// that is not one of its options for an argument, so "--bogus" before "--" would become the
    /// program's name; <see cref="ProgramBoundary"/> put a "--" before the real program, so PROGRAM
    /// words found before any "--" are options nobody knows.
    /// </summary>
    internal string? FindUnknownOption(ParseResult parsed)
    {
        if (parsed.CommandResult.Command != Command || parsed.GetResult(_program) is not { } program)
            return null;
        int afterDoubleDash = 0;
        bool seen = false;
        foreach (Token token in parsed.Tokens)
        {
            if (seen)
                afterDoubleDash++;
            else if (token.Type == TokenType.DoubleDash)
                seen = true;
        }
        int unknown = program.Tokens.Count - afterDoubleDash;
        return unknown > 0 ? program.Tokens[0].Value : null;
    }

    /// <summary>The usage line to show after an error on a `run` command line; null for other commands.</summary>
    internal string? UsageFor(ParseResult parsed) => parsed.CommandResult.Command == Command ? Usage : null;

    /// <summary>"missing PROGRAM" in place of System.CommandLine's wording, which names no argument.</summary>
    internal bool IsMissingProgram(ParseResult parsed) =>
        parsed.CommandResult.Command == Command && (parsed.GetResult(_program)?.Tokens.Count ?? 0) == 0;

    private void Validate(CommandResult result)
    {
        bool timeout = result.GetResult(_timeout) is not null;
        if (!timeout && result.GetResult(_killAfter) is not null)
            result.AddError("--kill-after needs --timeout");
        if (!timeout && result.GetResult(_signal) is { Implicit: false })
            result.AddError("--signal needs --timeout");
        if (result.GetValue(_json) && result.GetValue(_quiet))
            result.AddError("--json and --quiet cannot be used together");
        bool sandbox = result.GetValue(_sandbox);
        foreach ((Option<string[]> option, string name) in new[] { (_allowRead, "--allow-read"), (_allowWrite, "--allow-write") })
        {
            string[] paths = result.GetValue(option) ?? [];
            if (paths.Length > 0 && !sandbox)
                result.AddError($"{name} needs --sandbox");
            foreach (string path in paths)
                if (!Path.Exists(path))
                    result.AddError($"{name} {path}: No such file or directory");
        }
    }

    private static SandboxPolicy Sandbox(string[]? readOnly, string[]? readWrite)
    {
        SandboxPolicy policy = SandboxPolicy.Default;
        foreach (string path in readOnly ?? [])
            policy = policy.AllowRead(path);
        foreach (string path in readWrite ?? [])
            policy = policy.AllowReadWrite(path);
        return policy;
    }

    private static TimeSpan? ParseDuration(ArgumentResult result, string option)
    {
        string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (Duration.TryParse(text, out TimeSpan duration))
            return duration;
        result.AddError($"invalid duration '{text}' for {option}: use {Duration.Syntax}");
        return null;
    }

    private static Signum ParseSignal(ArgumentResult result)
    {
        string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (SignalNames.TryParse(text, out Signum signal))
            return signal;
        result.AddError($"invalid signal '{text}' for --signal: use {SignalNames.Syntax}");
        return Signum.SIGTERM;
    }

    /// <returns>The tool's exit code, and the host signal to end the tool with instead (0: none).</returns>
    private static (int Code, int Signal) Execute(string[] argv, RunOptions options)
    {
        PdChild child = PdChild.ExecFromPath(argv[0], argv);
        if (options.InheritSignals)
            child = child.WithInheritedSignals();
        if (!argv[0].Contains('/') && !File.Exists(child.Path))
            return (Fail($"{argv[0]}: command not found", ExitCodes.NotFound), 0);
        if (options.Sandbox is { } sandbox)
        {
            // The tool's own failure (125), told apart from the program's: never run unsandboxed.
            if ((sandbox.Minimum & ~HostFeatures.ProgramSandbox) != 0)
                return (Fail($"--sandbox: this system cannot sandbox a program ({SandboxUnavailable()})", ExitCodes.UsageError), 0);
            child = child.WithSandbox(sandbox);
        }

        // Installed before the child exists, so there is no moment when one of these signals would
        // end the tool (and, through kill-on-close, the child) instead of reaching the child.
        using SignalForwarding forwarding = SignalForwarding.Install();
        var clock = Stopwatch.StartNew();
        ProcessDescriptor descriptor;
        try
        {
            // CloExec: the tool holds the child's only descriptor (no program it starts inherits a
            // copy), so the tool's end in any way, SIGKILL included, kills the child — unless --daemon.
            descriptor = ProcessDescriptor.Fork(child, PdFlags.CloExec | (options.Daemon ? PdFlags.Daemon : PdFlags.None));
        }
        catch (ProcessDescriptorException e)
        {
            return (Fail($"{argv[0]}: {ErrnoText(e.Errno)}", e.Errno is Errno.ENOENT ? ExitCodes.NotFound : ExitCodes.CannotExecute), 0);
        }

        RunReport report;
        using (descriptor)
        {
            forwarding.Attach(descriptor);
            Task<ExitStatus> exit = descriptor.WaitAsync();
            var sent = new List<Signum>();
            bool timedOut = false;
            // timeout(1): a zero duration disables the timeout (and the kill-after).
            if (options.Timeout is { } limit && limit > TimeSpan.Zero && !Finishes(exit, limit))
            {
                // Not timed out after all if the child was reaped just before the signal could go.
                timedOut = Send(descriptor, options.Signal, sent);
                if (timedOut && options.KillAfter is { } grace && grace > TimeSpan.Zero && !Finishes(exit, grace))
                    Send(descriptor, Signum.SIGKILL, sent);
            }
            ExitStatus status;
            try
            {
                status = exit.GetAwaiter().GetResult();
            }
            catch (ProcessDescriptorException e)
            {
                return (Fail($"wait: {ErrnoText(e.Errno)}", ExitCodes.UsageError), 0);
            }
            forwarding.Detach();
            report = new RunReport(status, clock.Elapsed, timedOut, sent, options.PreserveStatus);
        }

        if (options.Json)
        {
            using Stream stdout = ToolOutput.OpenStandardOutput();
            report.WriteJson(stdout);
        }
        else if (!options.Quiet)
        {
            report.WriteText(Console.Error);
        }
        return (report.ExitCode, report.SignalToEndWith);
    }

    /// <summary>True if <paramref name="task"/> completes within <paramref name="span"/>. Waits in
    /// slices, since one timed wait is limited to about 49 days and a duration may be longer.</summary>
    private static bool Finishes(Task task, TimeSpan span)
    {
        TimeSpan slice = TimeSpan.FromDays(1);
        for (TimeSpan left = span; left > TimeSpan.Zero; left -= slice)
        {
            // The wait handle, not Task.Wait: a faulted wait is reported once, by GetResult, later.
            if (((IAsyncResult)task).AsyncWaitHandle.WaitOne(left < slice ? left : slice))
                return true;
        }
        return task.IsCompleted;
    }

    /// <returns>False when the child had already been reaped (ESRCH): it ended on its own.</returns>
    private static bool Send(ProcessDescriptor descriptor, Signum signal, List<Signum> sent)
    {
        try
        {
            descriptor.Kill(signal);
            sent.Add(signal);
            return true;
        }
        catch (ProcessDescriptorException)
        {
            return false;
        }
    }

    private static string SandboxUnavailable() => OperatingSystem.IsFreeBSD()
        ? "capability mode cannot cross execve; a FreeBSD program calls cap_enter itself"
        : HostFeatures.All.FirstOrDefault(f => f.Name == "Landlock").Detail ?? "no Landlock";

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
        Errno.E2BIG => "Argument list too long",
        Errno.ENOTDIR => "Not a directory",
        Errno.ELOOP => "Too many levels of symbolic links",
        _ => errno.ToString(),
    };
}
