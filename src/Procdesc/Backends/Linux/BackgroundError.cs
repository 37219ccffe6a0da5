namespace Procdesc.Backends.Linux;

/// <summary>A resource the exit reactor's background work needed was not there (its work is kept
/// and retried): what <see cref="ExitReactor.LastBackgroundError"/> reports for it.</summary>
internal sealed class BackgroundError(string operation, int nativeErrno)
    : Exception($"{operation}: errno {nativeErrno}")
{
    internal int NativeErrno { get; } = nativeErrno;
}
