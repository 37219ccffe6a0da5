namespace Procdesc.Cli;

/// <summary>execvp's search: a name without '/' is looked up in PATH (pdfork itself uses execve).</summary>
internal static class ProgramPath
{
    internal static string? Resolve(string name)
    {
        if (name.Contains('/'))
            return name;
        string path = Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } p ? p : "/usr/local/bin:/usr/bin:/bin";
        string? firstFound = null;
        foreach (string dir in path.Split(':'))
        {
            string candidate = Path.Combine(dir.Length == 0 ? "." : dir, name);
            if (!File.Exists(candidate))
                continue;
            firstFound ??= candidate;
            if ((File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                return candidate;
        }
        return firstFound; // not executable: let exec report EACCES
    }
}
