using Procdesc.Interop;

namespace Procdesc.Backends.Linux;

/// <summary>
/// A pidfd that names <see cref="Record"/>'s process for the length of one call, whatever happens
/// to the caller's descriptor number meanwhile: the record's anchor (leased) for a child the
/// library made, a private duplicate of the caller's pidfd for a process it did not make (the
/// library keeps no descriptor for those, so closing them with libc's close leaks nothing).
/// </summary>
internal readonly struct PidfdLease : IDisposable
{
    private readonly bool _temporary;

    internal PidfdLease(ChildRecord record, int pidfd, bool temporary)
    {
        Record = record;
        Pidfd = pidfd;
        _temporary = temporary;
    }

    internal ChildRecord Record { get; }

    internal int Pidfd { get; }

    public void Dispose()
    {
        if (_temporary)
            Libc.CloseKeepingErrno(Pidfd); // the call's own failure, if any, is what the caller reads
        else
            Record.EndLease();
    }
}
