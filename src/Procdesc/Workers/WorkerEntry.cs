using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;

namespace Procdesc;

/// <summary>
/// A worker's entry as it crosses into the new runtime: the assembly, the method's module and
/// metadata token (found without a name lookup), and the type's and method's names (a check, and
/// the way back should the token not fit); the signature is fixed: <c>static int M(WorkerContext)</c>.
/// Checked in the parent, so that a bad entry fails <see cref="PdWorker.Start"/> before anything starts.
/// </summary>
internal sealed record WorkerEntry(string AssemblyName, string AssemblyPath, Guid Module, int Token, string TypeName, string MethodName)
{
    /// <summary>Why finding the entry again needs its metadata (RequiresUnreferencedCode's message).</summary>
    internal const string TrimmingNote =
        "A worker finds its entry again in the new process by metadata token and name; trimming (and NativeAOT) may remove " +
        "or renumber that metadata. Keep the entry's type with [DynamicallyAccessedMembers] or a rooting descriptor, or do not trim.";

    private const BindingFlags AnyStatic = BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    /// <summary>The entry's part of a worker's command line.</summary>
    internal string[] ToArguments() =>
        [AssemblyName, AssemblyPath, Module.ToString("N"), Token.ToString(CultureInfo.InvariantCulture), TypeName, MethodName];

    internal const int ArgumentCount = 6;

    internal static WorkerEntry? FromArguments(IReadOnlyList<string> a, int at) =>
        a.Count >= at + ArgumentCount && Guid.TryParseExact(a[at + 2], "N", out Guid module) && Digits(a[at + 3]) is int token
            ? new WorkerEntry(a[at], a[at + 1], module, token, a[at + 4], a[at + 5])
            : null;

    /// <summary>A non-negative decimal number, parsed without culture data (which would load ICU
    /// before the worker's entry runs); null if it is not one.</summary>
    internal static int? Digits(string text)
    {
        if (text.Length is 0 or > 9)
            return null;
        int value = 0;
        foreach (char c in text)
        {
            if (c is < '0' or > '9')
                return null;
            value = value * 10 + (c - '0');
        }
        return value;
    }

    /// <exception cref="ArgumentException">Not a single static, non-generic method of a named type
    /// in an assembly the new runtime can load.</exception>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000",
        Justification = "An empty Location (single-file) only drops the by-path fallback: the assembly is loaded by name first.")]
    internal static WorkerEntry From(Func<WorkerContext, int> entry)
    {
        MethodInfo method = entry.Method;
        if (entry.GetInvocationList().Length != 1)
            throw new ArgumentException("A worker's entry is one method, not a multicast delegate.", nameof(entry));
        if (!method.IsStatic || entry.Target is not null)
            throw new ArgumentException(
                $"A worker's entry must be a static method ('{method.Name}' is an instance method; a lambda, even a static one, " +
                "compiles to one): declare 'static int Name(WorkerContext context)' and pass it.", nameof(entry));
        Type? type = method.DeclaringType;
        if (type is null || type.FullName is null || type.ContainsGenericParameters || method.IsGenericMethod)
            throw new ArgumentException($"A worker's entry must be a non-generic static method of a non-generic type ('{method.Name}').", nameof(entry));
        Assembly assembly = type.Assembly;
        if (assembly.IsDynamic || AssemblyLoadContext.GetLoadContext(assembly) != AssemblyLoadContext.Default)
            throw new ArgumentException($"A worker's entry must live in an assembly of the application itself ('{assembly.GetName().Name}' is dynamic or in another load context).", nameof(entry));
        return new WorkerEntry(assembly.FullName!, assembly.Location, method.Module.ModuleVersionId, method.MetadataToken, type.FullName, method.Name);
    }

    /// <summary>
    /// In the worker: the method, ready to call; null with <paramref name="why"/> where it is not
    /// there. Where the module is the very build the parent checked (same MVID), the token names the
    /// method <see cref="From"/> checked, and it is called through its function pointer: no
    /// reflection object is made, which is most of what finding it costs.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(TrimmingNote)]
    internal unsafe delegate*<WorkerContext, int> ResolvePointer(out string why)
    {
        try
        {
            Assembly assembly = Loaded() ?? Load();
            foreach (Module module in assembly.GetModules())
                if (module.ModuleVersionId == Module)
                {
                    why = "";
                    return (delegate*<WorkerContext, int>)module.ModuleHandle.ResolveMethodHandle(Token).GetFunctionPointer();
                }
        }
        catch (Exception e) when (e is IOException or BadImageFormatException or ArgumentException)
        {
            why = $"{TypeName}.{MethodName} in {AssemblyName}: {e.Message}";
            return null;
        }
        Func<WorkerContext, int>? byName = Resolve(out why);
        if (byName is null)
            return null;
        s_byName = byName;
        return &CallByName;
    }

    private static Func<WorkerContext, int>? s_byName;

    private static int CallByName(WorkerContext context) => s_byName!(context);

    /// <summary>The method found by its names (another build of the module): checked, as a delegate.</summary>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(TrimmingNote)]
    private Func<WorkerContext, int>? Resolve(out string why)
    {
        try
        {
            MethodInfo? method = Find();
            if (method is null || !method.IsStatic || method.ReturnType != typeof(int)
                || method.GetParameters() is not [{ ParameterType: var p }] || p != typeof(WorkerContext))
            {
                why = $"no static int {TypeName}.{MethodName}(WorkerContext) in {AssemblyName}";
                return null;
            }
            why = "";
            return method.CreateDelegate<Func<WorkerContext, int>>();
        }
        catch (Exception e) when (e is IOException or BadImageFormatException or TypeLoadException or ArgumentException)
        {
            why = $"{TypeName}.{MethodName} in {AssemblyName}: {e.Message}";
            return null;
        }
    }

    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(TrimmingNote)]
    private MethodInfo? Find() =>
        (Loaded() ?? Load()).GetType(TypeName, throwOnError: true)!.GetMethod(MethodName, AnyStatic, [typeof(WorkerContext)]);

    /// <summary>Usually the application's own, which the host has loaded already.</summary>
    private Assembly? Loaded()
    {
        if (Assembly.GetEntryAssembly() is { } entry && entry.FullName == AssemblyName)
            return entry;
        foreach (Assembly assembly in AppDomain.CurrentDomain.GetAssemblies())
            if (assembly.FullName == AssemblyName)
                return assembly;
        return null;
    }

    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(TrimmingNote)]
    private Assembly Load()
    {
        try
        {
            return Assembly.Load(new AssemblyName(AssemblyName));
        }
        catch (FileNotFoundException) when (AssemblyPath.Length > 0)
        {
            return AssemblyLoadContext.Default.LoadFromAssemblyPath(AssemblyPath);
        }
    }
}
