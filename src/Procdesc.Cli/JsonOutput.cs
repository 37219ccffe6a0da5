using System.Text.Encodings.Web;
using System.Text.Json;

namespace Procdesc.Cli;

/// <summary>How the tool writes JSON: compact, one object per line.</summary>
internal static class JsonOutput
{
    /// <summary>The default encoder escapes '+', '\'' and non-ASCII for embedding in HTML, which
    /// this output never is; the relaxed one keeps "Linux 6.9+" readable and is still valid JSON.</summary>
    internal static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
