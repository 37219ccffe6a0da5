namespace Procdesc.Benchmarks.Harness;

internal sealed class Options
{
    /// <summary>A few iterations of every row: proves the harness runs (make test); figures mean nothing.</summary>
    public bool Smoke { get; init; }
    public string OutDirectory { get; init; } = "artifacts";
    public HashSet<int> Rows { get; init; } = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    /// <summary>Row 9's NativeAOT tool; null: artifacts/aot/&lt;rid&gt;/procdesc of this tree.</summary>
    public string? AotTool { get; init; }
    /// <summary>Run BenchmarkDotNet's cross-check of row 3.</summary>
    public bool BenchmarkDotNet { get; init; } = true;

    /// <summary>full when not smoke.</summary>
    internal int Pick(int full, int smoke) => Smoke ? smoke : full;

    internal static Options Parse(string[] args)
    {
        bool smoke = false, bdn = true;
        string output = "artifacts";
        HashSet<int> rows = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        string? aotTool = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--smoke":
                    smoke = true;
                    break;
                case "--out" when i + 1 < args.Length:
                    output = args[++i];
                    break;
                case "--rows" when i + 1 < args.Length:
                    rows = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToHashSet();
                    break;
                case "--aot-tool" when i + 1 < args.Length:
                    aotTool = args[++i];
                    break;
                case "--no-bdn":
                    bdn = false;
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        return new Options { Smoke = smoke, OutDirectory = output, Rows = rows, BenchmarkDotNet = bdn, AotTool = aotTool };
    }

    internal const string Usage = """
        usage: Procdesc.Benchmarks [--smoke] [--out DIR] [--rows 1,2,...] [--no-bdn] [--aot-tool PATH]
          --smoke      a few iterations of every row (seconds): checks the harness, not the library
          --out DIR    where bench-report.md and bench-report.json go (default: artifacts)
          --rows LIST  only these rows (1-7: issue 7; 8: workers, issue 13; 9: the tool's start, issue 14)
          --aot-tool PATH  row 9's NativeAOT procdesc (default: artifacts/aot/<rid>/procdesc of this tree)
          --no-bdn     skip BenchmarkDotNet's cross-check of row 3
        """;
}
