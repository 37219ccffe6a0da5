namespace Procdesc.TestSupport;

/// <summary>
/// Names the row of docs/contract.md a test checks (shown as the "Contract" property in results).
/// The conformance suite's <c>RowAttribute</c> is this with the report's order and expectation.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class, AllowMultiple = true)]
internal class ContractAttribute(string row) : PropertyAttribute("Contract", row);
