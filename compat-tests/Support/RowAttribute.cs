using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace Procdesc.Compat.Tests.Support;

/// <summary>
/// The row of docs/contract.md a test checks: its section, its place in the
/// report (rows are sorted by section, then by this order, fixed in the source), the row's text and
/// the expected result. The report has one line per attribute; the values also show as test properties.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
internal sealed class RowAttribute(string section, int order, string row, string expectation)
    : ContractAttribute($"{section} {row}")
{
    internal string Section { get; } = section;
    internal int Order { get; } = order;
    internal string Row { get; } = row;
    internal string Expectation { get; } = expectation;

    /// <summary>The section's number, for sorting (§2 before §10).</summary>
    internal int SectionNumber => int.Parse(Section.TrimStart('§'), System.Globalization.CultureInfo.InvariantCulture);

    public override void ApplyToTest(NUnit.Framework.Internal.Test test)
    {
        base.ApplyToTest(test);
        test.Properties.Add("Section", Section);
        test.Properties.Add("Row", Row);
        test.Properties.Add("Expectation", Expectation);
    }
}

/// <summary>
/// The row is one where Linux documentedly differs from FreeBSD (contract §10 L1 / L2, or the row's
/// own Linux clause). The test asserts the Linux expectation on Linux and the FreeBSD one on FreeBSD;
/// a pass on Linux is reported as "PASS (documented Linux difference LABEL)".
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
internal sealed class LinuxDifferenceAttribute(string label) : NUnitAttribute, IApplyToTest
{
    internal string Label { get; } = label;

    public void ApplyToTest(NUnit.Framework.Internal.Test test) => test.Properties.Add("LinuxDifference", Label);
}
