namespace Procdesc.Backends.Linux;

/// <summary>
/// The record each descriptor number was last seen naming: an array indexed by the number (8 bytes
/// a slot), grown to the highest number used. Not thread-safe: the <see cref="ChildTable"/> holds
/// its lock around every call.
/// </summary>
internal sealed class RecordsByNumber
{
    private ChildRecord?[] _slots = new ChildRecord?[64];

    internal ChildRecord? Get(int fd) => (uint)fd < (uint)_slots.Length ? _slots[fd] : null;

    internal void Set(int fd, ChildRecord record)
    {
        if (fd >= _slots.Length)
            Array.Resize(ref _slots, Math.Max(fd + 1, _slots.Length + _slots.Length / 4));
        _slots[fd] = record;
    }

    /// <summary>Clears the number; returns what it named.</summary>
    internal ChildRecord? Remove(int fd)
    {
        ChildRecord? before = Get(fd);
        if (before is not null)
            _slots[fd] = null;
        return before;
    }

    /// <summary>Clears the number only if it still names <paramref name="record"/>.</summary>
    internal bool Remove(int fd, ChildRecord record)
    {
        if (!ReferenceEquals(Get(fd), record))
            return false;
        _slots[fd] = null;
        return true;
    }

    internal List<(int Fd, ChildRecord Record)> Snapshot()
    {
        var all = new List<(int, ChildRecord)>();
        for (int fd = 0; fd < _slots.Length; fd++)
            if (_slots[fd] is { } record)
                all.Add((fd, record));
        return all;
    }
}
