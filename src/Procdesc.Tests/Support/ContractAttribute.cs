namespace Procdesc.Tests.Support;

/// <summary>Names the row of docs/contract.md a test checks (shown as a property in results).</summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class, AllowMultiple = true)]
internal sealed class ContractAttribute(string row) : PropertyAttribute("Contract", row);
