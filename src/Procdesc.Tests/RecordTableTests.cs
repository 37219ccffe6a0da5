using Procdesc.Backends.Linux;

namespace Procdesc.Tests;

/// <summary>
/// The child table's compact structures (issue 15: 48-byte records, 8-byte slots) against plain
/// references: an open-addressing table whose deletions shift entries back, a number-indexed
/// array, and a record whose flags and in-flight count share one word changed by several threads.
/// </summary>
public class RecordTableTests
{
    private static ChildRecord Record(ulong key) => new(key, keyIsUnique: true, pid: (int)(key % 100_000) + 1, createdHere: true, daemon: false, 0);

    [Test]
    public void RecordsByKey_AgreesWithADictionary_OverRandomInsertsReplacementsAndRemovals()
    {
        var random = new Random(15);
        var table = new RecordsByKey();
        var reference = new Dictionary<ulong, ChildRecord>();
        // Keys from a small range collide in long probe runs, in every part of the table; multiples
        // of large powers of two stress the hash's spread.
        ulong Key() => random.Next(3) switch
        {
            0 => (ulong)random.Next(1, 300),
            1 => (ulong)random.Next(1, 64) << 20,
            _ => (ulong)random.NextInt64(1, long.MaxValue),
        };
        for (int op = 0; op < 200_000; op++)
        {
            ulong key = Key();
            switch (random.Next(4))
            {
                case 0:
                    var fresh = Record(key);
                    table.Set(fresh);
                    reference[key] = fresh;
                    break;
                case 1:
                    var added = Record(key);
                    ChildRecord kept = table.GetOrAdd(added);
                    if (!reference.TryGetValue(key, out ChildRecord? existing))
                        reference[key] = existing = added;
                    kept.ShouldBeSameAs(existing);
                    break;
                default:
                    if (reference.TryGetValue(key, out ChildRecord? victim))
                    {
                        table.Remove(Record(key)).ShouldBeFalse("only the very record filed is removed");
                        table.Remove(victim).ShouldBeTrue();
                        reference.Remove(key);
                    }
                    else
                    {
                        table.Remove(Record(key)).ShouldBeFalse();
                    }
                    break;
            }
            if (op % 10_000 == 0 || op == 199_999)
            {
                table.Count.ShouldBe(reference.Count);
                foreach ((ulong k, ChildRecord r) in reference)
                {
                    table.TryGet(k, out ChildRecord? found).ShouldBeTrue($"key {k} after op {op}");
                    found.ShouldBeSameAs(r);
                }
                table.Snapshot().Count.ShouldBe(reference.Count);
            }
        }
        foreach (ChildRecord r in reference.Values.ToList())
            table.Remove(r).ShouldBeTrue();
        table.Count.ShouldBe(0);
        table.TryGet(1, out _).ShouldBeFalse();
    }

    [Test]
    public void RecordsByNumber_GrowsToTheNumber_AndRemovesOnlyTheRecordItNames()
    {
        var numbers = new RecordsByNumber();
        ChildRecord a = Record(1), b = Record(2);
        numbers.Get(5000).ShouldBeNull();
        numbers.Get(-1).ShouldBeNull();
        numbers.Set(5000, a);
        numbers.Set(3, b);
        numbers.Get(5000).ShouldBeSameAs(a);
        numbers.Remove(5000, b).ShouldBeFalse();
        numbers.Remove(5000, a).ShouldBeTrue();
        numbers.Get(5000).ShouldBeNull();
        numbers.Remove(3).ShouldBeSameAs(b);
        numbers.Snapshot().ShouldBeEmpty();
    }

    [Test, CancelAfter(60_000)]
    public void AChildRecordsFlags_SurviveConcurrentInFlightCounting(CancellationToken cancellation)
    {
        ChildRecord record = Record(7);
        const int Rounds = 200_000;
        var counter = new Thread(() =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                record.BeginInFlight();
                record.EndInFlight();
            }
        });
        counter.Start();
        for (int i = 0; i < Rounds; i++)
        {
            bool on = (i & 1) == 0;
            record.Killed = on;
            record.Released = !on;
            record.Killed.ShouldBe(on);
            record.Released.ShouldBe(!on);
        }
        counter.Join();
        record.InFlight.ShouldBe(0);
        record.Killed.ShouldBeFalse();
        record.Released.ShouldBeTrue();
        record.CreatedHere.ShouldBeTrue("the constant flags are untouched");
        record.Daemon.ShouldBeFalse();
        record.Key.ShouldBe(7UL);
    }
}
