using System.CommandLine;

namespace Procdesc.Cli;

/// <summary>
/// Where the program starts on a `procdesc run` command line. System.CommandLine lets options follow
/// arguments, so in <c>procdesc run sh -c 'exit 3' --daemon</c> it would take <c>--daemon</c>
/// (and <c>sh</c>'s own <c>-c</c> would be an unknown option); env(1) and timeout(1) stop reading
/// their options at the program's name instead. This inserts the <c>--</c> the user may leave out,
/// before the first word that is neither an option nor an option's value, so everything from the
/// program on reaches the program unchanged.
/// </summary>
internal static class ProgramBoundary
{
    /// <summary>The command line with a <c>--</c> before the program, when it is a `run` command
    /// line with a program and no <c>--</c> of its own; otherwise <paramref name="args"/> itself.</summary>
    /// <param name="args">The tool's arguments.</param>
    /// <param name="run">The `run` command.</param>
    /// <param name="inherited">Options of parent commands that `run` accepts too (--help).</param>
    internal static string[] Mark(string[] args, Command run, IEnumerable<Option> inherited)
    {
        if (args.Length == 0 || args[0] != run.Name)
            return args;
        var options = run.Options.Concat(inherited).ToList();
        for (int i = 1; i < args.Length; i++)
        {
            string token = args[i];
            if (token == "--")
                return args;
            if (token.Length > 1 && token[0] == '-')
            {
                // An unknown option is left where it is, for the parser to reject.
                Option? option = options.FirstOrDefault(o => o.Name == token || o.Aliases.Contains(token));
                if (option is not null && option.Arity.MinimumNumberOfValues > 0)
                    i++; // its value, which may be anything ("--signal -9" is not an option)
                continue;
            }
            return [.. args[..i], "--", .. args[i..]];
        }
        return args;
    }
}
