namespace Procdesc.Backends.Linux;

/// <summary>
/// The child records by key (<see cref="ChildRecord.Key"/>): an open-addressing table of
/// references (linear probing, backward-shift deletion), 8 bytes a slot at most three quarters
/// full — a tenth of what a ConcurrentDictionary node costs per child. Not thread-safe: the
/// <see cref="ChildTable"/> holds its lock around every call.
/// </summary>
internal sealed class RecordsByKey
{
    private const int MinimumCapacity = 16;
    private ChildRecord?[] _slots = new ChildRecord?[MinimumCapacity];

    internal int Count { get; private set; }

    internal bool TryGet(ulong key, out ChildRecord? record)
    {
        int at = Find(key);
        record = at >= 0 ? _slots[at] : null;
        return at >= 0;
    }

    /// <summary>Files <paramref name="record"/> under its key, replacing whatever was filed there.</summary>
    internal void Set(ChildRecord record)
    {
        int at = Find(record.Key);
        if (at >= 0)
        {
            _slots[at] = record;
            return;
        }
        Insert(record, ~at);
    }

    /// <summary>The record filed under <paramref name="record"/>'s key, filing this one if none is.</summary>
    internal ChildRecord GetOrAdd(ChildRecord record)
    {
        int at = Find(record.Key);
        if (at >= 0)
            return _slots[at]!;
        Insert(record, ~at);
        return record;
    }

    /// <summary>Removes <paramref name="record"/> if it is the one filed under its key.</summary>
    internal bool Remove(ChildRecord record)
    {
        int at = Find(record.Key);
        if (at < 0 || !ReferenceEquals(_slots[at], record))
            return false;
        RemoveAt(at);
        Count--;
        if (_slots.Length > MinimumCapacity && Count < _slots.Length / 8)
            Resize(_slots.Length / 2);
        return true;
    }

    internal List<ChildRecord> Snapshot()
    {
        var all = new List<ChildRecord>(Count);
        foreach (ChildRecord? record in _slots)
            if (record is not null)
                all.Add(record);
        return all;
    }

    // Fibonacci hashing: inodes and pids are sequential, and the high bits of the product spread them.
    private int Home(ulong key, int length) => (int)((key * 0x9E3779B97F4A7C15UL) >> (64 - System.Numerics.BitOperations.Log2((uint)length)));

    /// <summary>The slot holding <paramref name="key"/>, or the complement of the free slot where it would go.</summary>
    private int Find(ulong key)
    {
        int mask = _slots.Length - 1;
        for (int at = Home(key, _slots.Length); ; at = (at + 1) & mask)
        {
            ChildRecord? there = _slots[at];
            if (there is null)
                return ~at;
            if (there.Key == key)
                return at;
        }
    }

    private void Insert(ChildRecord record, int free)
    {
        _slots[free] = record;
        Count++;
        if (Count * 4 > _slots.Length * 3)
            Resize(_slots.Length * 2);
    }

    /// <summary>Backward-shift deletion: later records of the same probe run move up, so that no
    /// run is ever broken by a hole (no tombstones).</summary>
    private void RemoveAt(int hole)
    {
        int mask = _slots.Length - 1;
        int at = hole;
        while (true)
        {
            _slots[hole] = null;
            while (true)
            {
                at = (at + 1) & mask;
                ChildRecord? next = _slots[at];
                if (next is null)
                    return;
                int home = Home(next.Key, _slots.Length);
                // Movable into the hole unless its home lies cyclically in (hole, at].
                bool homeInRange = hole <= at ? hole < home && home <= at : hole < home || home <= at;
                if (!homeInRange)
                {
                    _slots[hole] = next;
                    hole = at;
                    break;
                }
            }
        }
    }

    private void Resize(int capacity)
    {
        ChildRecord?[] old = _slots;
        _slots = new ChildRecord?[capacity];
        foreach (ChildRecord? record in old)
            if (record is not null)
                _slots[~Find(record.Key)] = record;
    }
}
