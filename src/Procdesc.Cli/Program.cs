using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Procdesc.Cli;

// procdesc: run a program under a process descriptor (`run`), or show what this host offers (`info`).
ToolOutput.Install(); // before anything writes: the report is best effort, the exit status is not
var run = new RunCommand();
var info = new InfoCommand();
// A plain Command rather than RootCommand, whose name would be the assembly's ("Procdesc.Cli")
// where the user types "procdesc".
var root = new Command("procdesc", "Run programs under FreeBSD-style process descriptors, on FreeBSD and Linux.")
{
    new HelpOption { Recursive = true, Action = new HelpAction { MaxWidth = ToolOutput.HelpWidth() } },
    new VersionOption(),
    run.Command,
    info.Command,
};

// No response files: "@name" is an ordinary word here (a program's argument may well be one).
var parsing = new ParserConfiguration { ResponseFileTokenReplacer = null };
ParseResult parsed = root.Parse(ProgramBoundary.Mark(args, run.Command, root.Options.Where(o => o.Recursive)), parsing);
string? error = parsed.Action is ParseErrorAction ? Explain(parsed)
    : run.FindUnknownOption(parsed) is { } unknown ? $"unknown option '{unknown}'"
    : null;
if (error is not null)
{
    // One line, env(1)-style, and timeout(1)'s code for its own failures.
    Command command = parsed.CommandResult.Command;
    string hint = run.UsageFor(parsed) ?? (command == root ? "see procdesc --help" : $"see procdesc {command.Name} --help");
    Console.Error.WriteLine($"procdesc: {error} ({hint})");
    return ExitCodes.UsageError;
}

// No ProcessTerminationTimeout: System.CommandLine would otherwise handle SIGINT and SIGTERM
// itself; `run` forwards them to its child instead (SignalForwarding).
return parsed.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });

// System.CommandLine can report several errors, the most telling not always first; one line is shown.
string Explain(ParseResult result)
{
    if (result.UnmatchedTokens.Count > 0)
    {
        string token = result.UnmatchedTokens[0];
        return token.StartsWith('-') ? $"unknown option '{token}'" : $"unknown command or argument '{token}'";
    }
    if (result.CommandResult.Command == root && result.Tokens.Count == 0)
        return "missing command: run or info";
    if (run.IsMissingProgram(result) && result.Errors.Count == 1)
        return "missing PROGRAM";
    return result.Errors[0].Message;
}
