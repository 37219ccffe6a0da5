namespace Procdesc;

/// <summary>execvp's PATH search, done in the parent (the child runs no code of ours before exec).</summary>
internal static class ProgramSearch
{
    private const string DefaultPath = "/usr/local/bin:/usr/bin:/bin";
    private const UnixFileMode AnyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <param name="file">A program name or path.</param>
    /// <param name="envp">The child's environment, whose PATH is used if it has one; else this process's.</param>
    internal static string Resolve(string file, IReadOnlyList<string>? envp = null)
    {
        if (file.Length == 0 || file.Contains('/'))
            return file;
        string? path = envp?.FirstOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal))?[5..]
                       ?? Environment.GetEnvironmentVariable("PATH");
        string? firstMatch = null, firstCandidate = null;
        foreach (string dir in (string.IsNullOrEmpty(path) ? DefaultPath : path).Split(':'))
        {
            string candidate = Path.Combine(dir.Length == 0 ? "." : dir, file);
            firstCandidate ??= candidate;
            if (!File.Exists(candidate))
                continue;
            if ((File.GetUnixFileMode(candidate) & AnyExecute) != 0)
                return candidate;
            firstMatch ??= candidate;
        }
        return firstMatch ?? firstCandidate ?? file;
    }
}
