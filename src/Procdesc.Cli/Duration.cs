using System.Globalization;

namespace Procdesc.Cli;

/// <summary>
/// Durations as timeout(1) and sleep(1) users write them: a decimal number with an optional unit,
/// <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c>; a bare number is seconds.
/// </summary>
internal static class Duration
{
    /// <summary>What the option help and the error message show.</summary>
    internal const string Syntax = "a number with an optional unit: 200ms, 1.5s, 2m, 1h, 1d (seconds when bare)";

    private static readonly (string Suffix, double Milliseconds)[] Units =
    [
        // "ms" before "m" and "s": the longest suffix must be tried first.
        ("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ];

    /// <summary>Parses <paramref name="text"/>; false for anything else (negative, empty, exponent,
    /// spaces, unknown unit, or too long for a <see cref="TimeSpan"/>).</summary>
    internal static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrEmpty(text))
            return false;
        string number = text;
        double unit = 1_000;
        foreach (var (suffix, milliseconds) in Units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                number = text[..^suffix.Length];
                unit = milliseconds;
                break;
            }
        }
        // Digits and one decimal point only: no sign, exponent, spaces or thousands separators, in
        // any culture.
        if (number.Length == 0 || number == "."
            || !double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value))
            return false;
        double total = value * unit;
        if (!double.IsFinite(total) || total >= TimeSpan.MaxValue.TotalMilliseconds)
            return false;
        duration = TimeSpan.FromMilliseconds(total);
        return true;
    }
}
