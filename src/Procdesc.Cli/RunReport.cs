using System.Globalization;
using System.Text.Json;
using Mono.Unix.Native;

namespace Procdesc.Cli;

/// <summary>
/// How the child ended and what it cost, as `procdesc run` reports it: two short lines on stderr
/// (like `time -v`, but short), or one JSON object on stdout with <c>--json</c>.
/// </summary>
/// <param name="Status">The child's exit status and resource usage, from its reap.</param>
/// <param name="Wall">Elapsed time from just before the child's creation to its reap.</param>
/// <param name="TimedOut">The child was still running when <c>--timeout</c> expired.</param>
/// <param name="SignalsSent">What the timeout sent, in order (the signal, then SIGKILL after <c>--kill-after</c>).</param>
/// <param name="PreserveStatus"><c>--preserve-status</c>: the child's status even after a timeout.</param>
internal sealed record RunReport(ExitStatus Status, TimeSpan Wall, bool TimedOut, IReadOnlyList<Signum> SignalsSent, bool PreserveStatus = false)
{
    /// <summary>This host's number of the signal that killed the child, read from the wait status
    /// itself (so 128 + n is what a shell on this host would report); null after a normal exit.</summary>
    internal int? HostSignalNumber => Status.Signaled ? Status.RawStatus & 0x7f : null;

    /// <summary>
    /// The tool's exit code, by timeout(1)'s rules: 124 on timeout — unless SIGKILL ended the child
    /// (137, 128 + 9, whoever sent it) or <c>--preserve-status</c> — else the child's code, or
    /// 128 + the signal number (what a shell shows; see <see cref="SignalToEndWith"/>).
    /// </summary>
    internal int ExitCode => TimedOut && !PreserveStatus && !KilledBySigkill ? ExitCodes.TimedOut
        : Status.Exited ? Status.ExitCode
        : ExitCodes.SignalBase + HostSignalNumber!.Value;

    /// <summary>The host signal the tool ends itself with (0: none): the child's, when a signal
    /// killed it and it had not timed out, as timeout(1) re-raises it.</summary>
    internal int SignalToEndWith => !TimedOut && HostSignalNumber is { } signal ? signal : 0;

    private bool KilledBySigkill => Status.TermSignal == Signum.SIGKILL;

    /// <summary>
    /// <c>procdesc: pid 4242 exited with code 3; user 0.001s system 0.000s wall 0.031s max RSS 27968 KiB</c>
    /// and a second line with the page faults and context switches.
    /// </summary>
    internal void WriteText(TextWriter to)
    {
        Rusage usage = Status.Usage;
        string ending = Status.Exited
            ? $"exited with code {Status.ExitCode}"
            : $"killed by {SignalNames.Describe(Status.TermSignal!.Value)}{(Status.CoreDumped ? " (core dumped)" : "")}";
        if (TimedOut)
            ending += $" after timing out (sent {string.Join(", then ", SignalsSent.Select(SignalNames.Describe))})";
        if (usage.IsMissing)
        {
            // Linux §10 L1: the child was reaped outside the library and the kernel kept only its status.
            to.WriteLine(string.Create(CultureInfo.InvariantCulture, $"procdesc: pid {Status.Pid} {ending}; wall {Wall.TotalSeconds:0.000}s; no resource usage kept"));
            return;
        }
        to.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"procdesc: pid {Status.Pid} {ending}; user {usage.UserTime.TotalSeconds:0.000}s system {usage.SystemTime.TotalSeconds:0.000}s " +
            $"wall {Wall.TotalSeconds:0.000}s max RSS {usage.MaxRssKiB} KiB"));
        to.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"procdesc: page faults {usage.MinorFaults} minor {usage.MajorFaults} major; " +
            $"context switches {usage.VoluntaryContextSwitches} voluntary {usage.InvoluntaryContextSwitches} involuntary"));
    }

    /// <summary>One JSON object and a newline. Written field by field with <see cref="Utf8JsonWriter"/>:
    /// no reflection, so trimming and AOT stay possible and the field names are fixed here.</summary>
    internal void WriteJson(Stream to)
    {
        Rusage usage = Status.Usage;
        using (var json = new Utf8JsonWriter(to, JsonOutput.Options))
        {
            json.WriteStartObject();
            json.WriteNumber("pid", Status.Pid);
            json.WriteBoolean("exited", Status.Exited);
            if (Status.Exited)
                json.WriteNumber("exitCode", Status.ExitCode);
            else
                json.WriteNull("exitCode");
            if (Status.TermSignal is { } signal)
            {
                json.WriteString("signal", SignalNames.Describe(signal));
                json.WriteNumber("signalNumber", HostSignalNumber!.Value);
            }
            else
            {
                json.WriteNull("signal");
                json.WriteNull("signalNumber");
            }
            json.WriteBoolean("coreDumped", Status.CoreDumped);
            json.WriteBoolean("timedOut", TimedOut);
            json.WriteStartArray("timeoutSignalsSent");
            foreach (Signum sent in SignalsSent)
                json.WriteStringValue(SignalNames.Describe(sent));
            json.WriteEndArray();
            json.WriteNumber("toolExitCode", ExitCode);
            json.WriteNumber("wallSeconds", Math.Round(Wall.TotalSeconds, 6));
            json.WriteBoolean("rusageMissing", usage.IsMissing);
            json.WriteNumber("userSeconds", Math.Round(usage.UserTime.TotalSeconds, 6));
            json.WriteNumber("systemSeconds", Math.Round(usage.SystemTime.TotalSeconds, 6));
            json.WriteNumber("maxRssKiB", usage.MaxRssKiB);
            json.WriteNumber("minorFaults", usage.MinorFaults);
            json.WriteNumber("majorFaults", usage.MajorFaults);
            json.WriteNumber("voluntaryContextSwitches", usage.VoluntaryContextSwitches);
            json.WriteNumber("involuntaryContextSwitches", usage.InvoluntaryContextSwitches);
            json.WriteEndObject();
        }
        to.WriteByte((byte)'\n');
        to.Flush();
    }
}
