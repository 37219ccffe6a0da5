namespace Procdesc.Cli;

/// <summary>
/// The tool's own exit codes, those of coreutils timeout(1) and env(1), so scripts that already
/// tell "the tool failed" from "the program failed" keep working: anything else is the program's.
/// </summary>
internal static class ExitCodes
{
    /// <summary>The program was still running when <c>--timeout</c> expired (whatever it then died of).</summary>
    internal const int TimedOut = 124;

    /// <summary>The tool itself failed: bad usage, or it could not wait for the child.</summary>
    internal const int UsageError = 125;

    /// <summary>The program was found but could not be executed (EACCES, ENOEXEC, …).</summary>
    internal const int CannotExecute = 126;

    /// <summary>The program was not found.</summary>
    internal const int NotFound = 127;

    /// <summary>Added to the signal number when the program was killed by a signal, as shells do.</summary>
    internal const int SignalBase = 128;
}
