using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Procdesc.Benchmarks.Harness;

/// <summary>One measured figure: a subject, its baseline from the same run, their ratio, and the goal.</summary>
internal sealed class Figure
{
    public required string Name { get; init; }
    public required string Subject { get; init; }
    public required double Value { get; init; }
    public required string Unit { get; init; }
    /// <summary>How <see cref="Value"/> was reduced: "median of 21 rounds", "p99 of 1000 exits".</summary>
    public required string Statistic { get; init; }
    public string? Baseline { get; init; }
    public double? BaselineValue { get; init; }
    /// <summary>Subject / baseline: the median of the per-round ratios where the rounds were paired.</summary>
    public double? Ratio { get; init; }
    /// <summary>The range of the per-round ratios, to show how steady the ratio was.</summary>
    public string? RatioRange { get; init; }
    public string? Goal { get; init; }
    /// <summary>The goal's limit, and what it limits: "ratio" or "value".</summary>
    public double? GoalLimit { get; init; }
    public string? GoalOn { get; init; }
    /// <summary>Null: no goal (an informational figure).</summary>
    public bool? Met { get; init; }
    public string? Note { get; init; }

    private static string RangeOf(double[]? ratios) =>
        ratios is { Length: > 1 } ? $"{Fmt.Ratio(ratios.Min())}–{Fmt.Ratio(ratios.Max())}" : "";

    /// <summary>A figure against a baseline whose goal is a ratio limit (or none).</summary>
    internal static Figure Versus(string name, string subject, double value, string unit, string statistic,
        string baseline, double baselineValue, double ratio, double[]? perRound, double? maxRatio, string? note = null) => new()
    {
        Name = name, Subject = subject, Value = value, Unit = unit, Statistic = statistic,
        Baseline = baseline, BaselineValue = baselineValue, Ratio = ratio, RatioRange = RangeOf(perRound),
        Goal = maxRatio is { } limit ? $"≤ {Fmt.Ratio(limit)} ×" : null,
        GoalLimit = maxRatio,
        GoalOn = maxRatio is null ? null : "ratio",
        Met = maxRatio is { } l ? ratio <= l : null,
        Note = note,
    };

    /// <summary>A figure whose goal is an absolute limit; a baseline, if any, is for comparison.</summary>
    internal static Figure Absolute(string name, string subject, double value, string unit, string statistic,
        double? maxValue, string? baseline = null, double? baselineValue = null, string? note = null) => new()
    {
        Name = name, Subject = subject, Value = value, Unit = unit, Statistic = statistic,
        Baseline = baseline, BaselineValue = baselineValue,
        Ratio = baselineValue is { } b && b > 0 ? value / b : null,
        Goal = maxValue is { } limit ? $"≤ {Fmt.Value(limit)} {unit}" : null,
        GoalLimit = maxValue,
        GoalOn = maxValue is null ? null : "value",
        Met = maxValue is { } l ? value <= l : null,
        Note = note,
    };
}

/// <summary>What one row of issue 7 measured.</summary>
internal sealed class RowResult
{
    public required int Number { get; init; }
    public required string Title { get; init; }
    /// <summary>How the row measures, in a sentence or two (markdown).</summary>
    public string Method { get; set; } = "";
    public List<Figure> Figures { get; } = [];
    /// <summary>Further markdown: breakdowns, distributions, thread counts.</summary>
    public List<string> Details { get; } = [];
    /// <summary>For a missed goal: the measured cause and what would move it (markdown).</summary>
    public List<string> Diagnosis { get; } = [];
    public double Seconds { get; set; }
    public string? Error { get; set; }

    /// <summary>A table of each subject's per-round figures: median, min, max, in <paramref name="format"/>.</summary>
    internal void AddSubjectTable(IEnumerable<Subject> subjects, Dictionary<string, List<double>> results, Func<double, string> format)
    {
        Details.Add("| subject | median | min | max |");
        Details.Add("|---|---|---|---|");
        foreach (Subject s in subjects)
            Details.Add($"| {Fmt.Escape(s.Name)} | {format(Stats.Median(results[s.Name]))} | {format(results[s.Name].Min())} | {format(results[s.Name].Max())} |");
    }
    /// <summary>Why this kernel cannot give the row's figures (a feature it lacks), or null.</summary>
    public string? NotMeasured { get; set; }

    [JsonIgnore]
    public bool AnyMissed => Figures.Any(f => f.Met == false);
}

internal sealed class MachineInfo
{
    public required int Cores { get; init; }
    public required string Cpu { get; init; }
    public required long MemoryMiB { get; init; }
    public required string Kernel { get; init; }
    public required string Os { get; init; }
    public required string Dotnet { get; init; }
    public required string Gc { get; init; }
    public required string CCompiler { get; init; }
    public required string Backend { get; init; }
    public required int PidMax { get; init; }
    public required string LoadAverageAtStart { get; init; }
    public string LoadAverageAtEnd { get; set; } = "";
}

internal sealed class BenchReport
{
    public required string Command { get; init; }
    public required bool Smoke { get; init; }
    public required DateTime StartedUtc { get; init; }
    public double Seconds { get; set; }
    public required MachineInfo Machine { get; init; }
    public List<RowResult> Rows { get; } = [];

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    internal void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "bench-report.json"), JsonSerializer.Serialize(this, Json) + "\n");
        File.WriteAllText(Path.Combine(directory, "bench-report.md"), Markdown());
    }

    internal string Markdown()
    {
        var md = new StringBuilder();
        md.AppendLine(Smoke ? "# Procdesc benchmarks (smoke run: a few iterations, figures not meaningful)" : "# Procdesc benchmarks");
        md.AppendLine();
        md.AppendLine($"`{Command}` — {StartedUtc:yyyy-MM-dd HH:mm} UTC, {Seconds:F0} s. Every figure is measured against its baseline in the same run, interleaved (baseline and subject alternate in rounds, the order rotating); a ratio is subject / baseline, the median of the per-round ratios (range in brackets) unless it says otherwise.");
        md.AppendLine();
        md.AppendLine("| machine | |");
        md.AppendLine("|---|---|");
        md.AppendLine($"| CPU | {Machine.Cores} cores, {Machine.Cpu} |");
        md.AppendLine($"| memory | {Machine.MemoryMiB / 1024.0:F1} GiB |");
        md.AppendLine($"| kernel | Linux {Machine.Kernel} ({Machine.Os}), pid_max {Machine.PidMax} |");
        md.AppendLine($"| .NET | {Machine.Dotnet}, {Machine.Gc} |");
        md.AppendLine($"| C baselines | {Machine.CCompiler}, -O2 |");
        md.AppendLine($"| Procdesc backend | {Machine.Backend} |");
        md.AppendLine($"| load average (1, 5, 15 min) | start {Machine.LoadAverageAtStart}; end {Machine.LoadAverageAtEnd} |");
        md.AppendLine();

        md.AppendLine("## Summary");
        md.AppendLine();
        md.AppendLine("| # | figure | Procdesc | baseline | ratio | goal | result |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (RowResult row in Rows)
        {
            if (row.Error is not null)
            {
                md.AppendLine($"| {row.Number} | {row.Title} | — | — | — | — | **error**: {Fmt.Escape(row.Error.Split('\n')[0])} |");
                continue;
            }
            foreach (Figure f in row.Figures.Where(f => f.Goal is not null))
                md.AppendLine($"| {row.Number} | {Fmt.Escape(f.Name)} | {Fmt.Value(f.Value)} {f.Unit} | {BaselineCell(f)} | {RatioCell(f)} | {f.Goal} | {Verdict(f)} |");
        }
        md.AppendLine();

        foreach (RowResult row in Rows)
        {
            md.AppendLine($"## {row.Number}. {row.Title}");
            md.AppendLine();
            if (row.Method.Length > 0)
            {
                md.AppendLine(row.Method);
                md.AppendLine();
            }
            if (row.Error is not null)
            {
                md.AppendLine("**The row failed:**");
                md.AppendLine();
                md.AppendLine("```");
                md.AppendLine(row.Error);
                md.AppendLine("```");
                md.AppendLine();
                continue;
            }
            md.AppendLine("| figure | subject | value | baseline | ratio | goal | result |");
            md.AppendLine("|---|---|---|---|---|---|---|");
            foreach (Figure f in row.Figures)
                md.AppendLine($"| {Fmt.Escape(f.Name)} | {Fmt.Escape(f.Subject)} | {Fmt.Value(f.Value)} {f.Unit} ({f.Statistic}) | {BaselineCell(f)} | {RatioCell(f)} | {f.Goal ?? "—"} | {Verdict(f)} |");
            md.AppendLine();
            foreach (Figure f in row.Figures.Where(f => f.Note is not null))
                md.AppendLine($"- *{Fmt.Escape(f.Name)}*: {f.Note}");
            if (row.Figures.Any(f => f.Note is not null))
                md.AppendLine();
            foreach (string line in row.Details)
                md.AppendLine(line);
            if (row.Details.Count > 0)
                md.AppendLine();
            if (row.Diagnosis.Count > 0)
            {
                md.AppendLine("**Missed — measured cause and what would move it:**");
                md.AppendLine();
                foreach (string line in row.Diagnosis)
                    md.AppendLine(line);
                md.AppendLine();
            }
            md.AppendLine($"*Row time: {row.Seconds:F0} s.*");
            md.AppendLine();
        }
        return md.ToString();
    }

    private static string BaselineCell(Figure f) =>
        f.Baseline is null ? "—" : f.BaselineValue is { } b ? $"{Fmt.Escape(f.Baseline)}: {Fmt.Value(b)} {f.Unit}" : Fmt.Escape(f.Baseline);

    private static string RatioCell(Figure f) =>
        f.Ratio is { } r ? (string.IsNullOrEmpty(f.RatioRange) ? Fmt.Ratio(r) : $"{Fmt.Ratio(r)} ({f.RatioRange})") : "—";

    private static string Verdict(Figure f) => f.Met switch
    {
        true => "met",
        false => "**missed**",
        null => "—",
    };

}

internal static class Fmt
{
    /// <summary>Text for a markdown table cell: a '|' would end the cell.</summary>
    internal static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);

    internal static string Value(double v) => v switch
    {
        double.NaN => "n/a",
        _ when v == Math.Round(v) => v.ToString("F0", CultureInfo.InvariantCulture),
        >= 100 or <= -100 => v.ToString("F0", CultureInfo.InvariantCulture),
        >= 10 or <= -10 => v.ToString("F1", CultureInfo.InvariantCulture),
        _ => v.ToString("F2", CultureInfo.InvariantCulture),
    };

    internal static string Ratio(double r) => r switch
    {
        >= 10 => r.ToString("F0", CultureInfo.InvariantCulture),
        >= 0.1 => r.ToString("F2", CultureInfo.InvariantCulture),
        _ => r.ToString("F3", CultureInfo.InvariantCulture),
    };

    internal static string Us(double ns) => Value(ns / 1000.0) + " µs";
}
