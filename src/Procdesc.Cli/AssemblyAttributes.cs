using System.Runtime.CompilerServices;

// The duration and signal parsers are unit-tested directly; everything else through the real tool.
[assembly: InternalsVisibleTo("Procdesc.Tests")]
