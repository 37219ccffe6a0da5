using Procdesc.Backends;
using Procdesc.Backends.FreeBsd;
using Procdesc.Backends.Linux;

namespace Procdesc;

/// <summary>The backend for the running system, chosen once at run time. It lives above the
/// backends, which know nothing of each other or of the choice.</summary>
internal static class HostBackend
{
    internal static readonly ProcdescBackend Current = Create();

    private static ProcdescBackend Create()
    {
        if (OperatingSystem.IsLinux())
        {
            var linux = LinuxBackend.TryCreate(out string? why);
            if (linux is not null)
                return linux;
            return new UnsupportedBackend(why!);
        }
        if (OperatingSystem.IsFreeBSD())
            return new FreeBsdBackend();
        return new UnsupportedBackend($"{System.Runtime.InteropServices.RuntimeInformation.OSDescription} has no Procdesc backend");
    }
}
