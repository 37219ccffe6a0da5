using System.Reflection;
using System.Runtime.Loader;

namespace Procdesc;

/// <summary>
/// A worker's entry as it crosses into the new runtime: the assembly, the type and the method's
/// name (the signature is fixed: <c>static int M(WorkerContext)</c>), checked in the parent so that
/// a bad entry fails <see cref="PdWorker.Start"/> before anything is started.
/// </summary>
internal sealed record WorkerEntry(string AssemblyName, string AssemblyPath, string TypeName, string MethodName)
{
    private const BindingFlags AnyStatic = BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    /// <exception cref="ArgumentException">Not a single static, non-generic method of a named type
    /// in an assembly the new runtime can load.</exception>
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
        if (type.GetMethod(method.Name, AnyStatic, [typeof(WorkerContext)]) != method)
            throw new ArgumentException($"A worker's entry is found by its name; '{type.FullName}.{method.Name}' is not the only static method of that name taking a WorkerContext.", nameof(entry));
        return new WorkerEntry(assembly.FullName!, assembly.Location, type.FullName, method.Name);
    }

    /// <summary>In the worker: the method, loaded. Null with <paramref name="why"/> where it is not there.</summary>
    internal Func<WorkerContext, int>? Resolve(out string why)
    {
        try
        {
            Assembly assembly;
            try
            {
                assembly = AssemblyLoadContext.Default.LoadFromAssemblyName(new AssemblyName(AssemblyName));
            }
            catch (FileNotFoundException) when (AssemblyPath.Length > 0)
            {
                assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(AssemblyPath);
            }
            MethodInfo? method = assembly.GetType(TypeName, throwOnError: true)!.GetMethod(MethodName, AnyStatic, [typeof(WorkerContext)]);
            if (method is null || method.ReturnType != typeof(int))
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
}
