using System.Diagnostics;

namespace Procdesc.Benchmarks.Harness;

/// <summary>
/// A long-lived helper process that answers one line per command line: a C baseline
/// (native/*.c, built beside the harness) or the harness itself in a worker mode. The harness
/// alternates its commands with its own measurements, which is what makes the rounds interleaved.
/// </summary>
internal sealed class LineWorker : IDisposable
{
    private readonly Process _process;
    private readonly string _name;

    private LineWorker(Process process, string name)
    {
        _process = process;
        _name = name;
    }

    /// <summary>The line the worker printed when it was ready.</summary>
    internal string Ready { get; private set; } = "";

    /// <summary>A C baseline program from beside the harness.</summary>
    internal static LineWorker Baseline(string program, params string[] args) =>
        Start(Path.Combine(AppContext.BaseDirectory, program), args, program + " " + string.Join(' ', args));

    /// <summary>This harness in a worker mode, in a process of its own.</summary>
    internal static LineWorker Harness(params string[] args)
    {
        string assembly = typeof(LineWorker).Assembly.Location;
        return Start(Environment.ProcessPath ?? "dotnet", [assembly, .. args], "harness " + string.Join(' ', args));
    }

    /// <summary>Any program found in PATH (strace around a worker).</summary>
    internal static LineWorker Command(string program, IEnumerable<string> args, string name) => Start(program, args, name, searchPath: true);

    private static LineWorker Start(string file, IEnumerable<string> args, string name, bool searchPath = false)
    {
        if (!searchPath && !File.Exists(file))
            throw new FileNotFoundException($"{file} is missing: build src/Procdesc.Benchmarks (it compiles native/*.c with cc)", file);
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
            info.ArgumentList.Add(a);
        var worker = new LineWorker(Process.Start(info) ?? throw new InvalidOperationException($"cannot start {name}"), name);
        worker.Ready = worker.ReadLine(300_000);
        if (!worker.Ready.StartsWith("ready", StringComparison.Ordinal))
            throw new InvalidOperationException($"{name} did not start: {worker.Ready}");
        return worker;
    }

    internal int Pid => _process.Id;

    internal string Ask(string command, int timeoutMs = 300_000)
    {
        Send(command);
        return ReadLine(timeoutMs);
    }

    internal long AskLong(string command, int timeoutMs = 300_000) => ParseLong(Ask(command, timeoutMs));

    internal void Send(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
    }

    internal string ReadLine(int timeoutMs = 300_000)
    {
        Task<string?> line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(timeoutMs))
            throw new TimeoutException($"{_name}: no answer within {timeoutMs} ms");
        string? text = line.Result ?? throw new InvalidOperationException($"{_name} ended (exit code {ExitCodeOrNone()})");
        if (text.StartsWith("error", StringComparison.Ordinal))
            throw new InvalidOperationException($"{_name}: {text}");
        return text;
    }

    internal long ReadLong(int timeoutMs = 300_000) => ParseLong(ReadLine(timeoutMs));

    private long ParseLong(string text) =>
        long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new InvalidOperationException($"{_name}: unexpected answer '{text}'");

    private string ExitCodeOrNone()
    {
        _process.WaitForExit(5_000);
        return _process.HasExited ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000))
                _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
