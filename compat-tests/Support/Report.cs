using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using System.Text.Json;
using NUnit.Framework.Interfaces;

namespace Procdesc.Compat.Tests.Support;

/// <summary>
/// The conformance report: every [Row] test's result on this host, written after the run as
/// artifacts/compat-report.md and artifacts/compat-report.json (or into $PROCDESC_COMPAT_REPORT_DIR).
/// Rows come from the test methods themselves, in a fixed order, and carry no pid or time: two
/// reports from two systems differ only in their header and their result cells.
/// </summary>
internal static class Report
{
    internal const string DirectoryVariable = "PROCDESC_COMPAT_REPORT_DIR";

    private static readonly ConcurrentDictionary<string, string> s_results = new();
    private static readonly ConcurrentDictionary<string, string> s_notes = new();

    /// <summary>A remark of the running test that belongs in its result cell (e.g. a part it could not check here).</summary>
    internal static void Note(string text) => s_notes[TestContext.CurrentContext.Test.MethodName ?? "?"] = text;

    /// <summary>Keeps the current test's result (called from the fixture's [TearDown]).</summary>
    internal static void RecordCurrentTest()
    {
        var test = TestContext.CurrentContext.Test;
        string method = test.MethodName ?? test.Name;
        var result = TestContext.CurrentContext.Result;
        string cell;
        if (result.Outcome.Status == TestStatus.Passed)
        {
            string? difference = OperatingSystem.IsLinux() ? test.Properties.Get("LinuxDifference") as string : null;
            var remarks = new List<string>();
            if (difference is not null)
                remarks.Add($"documented Linux difference {difference}");
            if (s_notes.TryGetValue(method, out string? note))
                remarks.Add(note);
            cell = remarks.Count == 0 ? "PASS" : $"PASS ({string.Join("; ", remarks)})";
        }
        else
        {
            string reason = OneLine(result.Message);
            cell = $"FAIL: {(reason.Length > 0 ? reason : result.Outcome.ToString())}";
        }
        s_results[method] = cell;
    }

    /// <summary>Writes both files; returns the directory.</summary>
    internal static string Write()
    {
        var rows = typeof(Report).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance))
            .Select(m => (Method: m, Row: m.GetCustomAttribute<RowAttribute>(), Difference: m.GetCustomAttribute<LinuxDifferenceAttribute>()))
            .Where(r => r.Row is not null)
            .OrderBy(r => r.Row!.SectionNumber).ThenBy(r => r.Row!.Order).ThenBy(r => r.Method.Name, StringComparer.Ordinal)
            .Select(r => new Line(r.Row!.Section, r.Row.Row, r.Row.Expectation, r.Method.Name, r.Difference?.Label,
                s_results.TryGetValue(r.Method.Name, out string? cell) ? cell : "NOT RUN"))
            .ToList();

        // A relative directory is the repository's (dotnet test runs the suite in its bin folder).
        string directory = Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } chosen
            ? Path.GetFullPath(chosen, RepositoryRoot())
            : Path.Combine(RepositoryRoot(), "artifacts");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "compat-report.md"), Markdown(rows));
        File.WriteAllText(Path.Combine(directory, "compat-report.json"), Json(rows));
        return directory;
    }

    private sealed record Line(string Section, string Row, string Expectation, string Test, string? LinuxDifference, string Result);

    private static string Markdown(List<Line> rows)
    {
        var md = new StringBuilder();
        md.Append("# Procdesc conformance report\n\n");
        md.Append("Contract: `procdesc-contract.md` (§1–§9), checked through `PdSyscall` and libc only (`compat-tests/`).\n\n");
        md.Append($"- OS: {Cell(HostFeatures.OperatingSystem)}\n");
        md.Append($"- Kernel: {Cell(HostFeatures.KernelRelease)}\n");
        md.Append($"- Backend: {Cell(HostFeatures.Backend)}\n");
        md.Append($"- Rows: {rows.Count}; {Summary(rows)}\n\n");
        md.Append("| feature | found |\n|---|---|\n");
        foreach (HostFeature feature in Features())
            md.Append($"| {Cell(feature.Name)} | {(feature.Found ? "yes" : "no")} |\n");
        md.Append("\n## Rows\n\n");
        md.Append("| section | row | expectation | test | result |\n|---|---|---|---|---|\n");
        foreach (Line row in rows)
            md.Append($"| {row.Section} | {Cell(row.Row)} | {Cell(row.Expectation)} | `{row.Test}` | {Cell(row.Result)} |\n");
        return md.ToString();
    }

    private static string Json(List<Line> rows)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("host");
            json.WriteString("os", HostFeatures.OperatingSystem);
            json.WriteString("kernel", HostFeatures.KernelRelease);
            json.WriteString("backend", HostFeatures.Backend);
            json.WriteStartArray("features");
            foreach (HostFeature feature in Features())
            {
                json.WriteStartObject();
                json.WriteString("name", feature.Name);
                json.WriteBoolean("found", feature.Found);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("summary", Summary(rows));
            json.WriteEndObject();
            json.WriteStartArray("rows");
            foreach (Line row in rows)
            {
                json.WriteStartObject();
                json.WriteString("section", row.Section);
                json.WriteString("row", row.Row);
                json.WriteString("expectation", row.Expectation);
                json.WriteString("test", row.Test);
                if (row.LinuxDifference is null)
                    json.WriteNull("linuxDifference");
                else
                    json.WriteString("linuxDifference", row.LinuxDifference);
                json.WriteString("result", row.Result);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static IReadOnlyList<HostFeature> Features()
    {
        try { return HostFeatures.All; }
        catch (Exception e) when (e is not OutOfMemoryException) { return [new HostFeature($"(probe failed: {OneLine(e.Message)})", false, "")]; }
    }

    private static string Summary(List<Line> rows)
    {
        int pass = rows.Count(r => r.Result.StartsWith("PASS", StringComparison.Ordinal));
        int documented = rows.Count(r => r.Result.StartsWith("PASS (documented", StringComparison.Ordinal));
        int fail = rows.Count(r => r.Result.StartsWith("FAIL", StringComparison.Ordinal));
        int notRun = rows.Count - pass - fail;
        return $"{pass} pass ({documented} as a documented Linux difference), {fail} fail, {notRun} not run";
    }

    /// <summary>The repository: the nearest directory above the test binaries holding Procdesc.sln.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Procdesc.sln")))
                return dir.FullName;
        }
        return Directory.GetCurrentDirectory();
    }

    /// <summary>A failure message on one line (Shouldly's are several), at most 300 characters.</summary>
    private static string OneLine(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return "";
        string line = string.Join(' ', text.Split((char[])['\n', '\r', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
        return line.Length <= 300 ? line : line[..297] + "...";
    }

    /// <summary>Text safe inside a Markdown table cell.</summary>
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
