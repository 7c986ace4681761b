using Xunit.Abstractions;

namespace NostrRelay.Grains.Tests.Interest;

/// <summary>
/// Routing by interest at 100 simulated silos (<see cref="ClusterSimulation"/>): exact while silos join, die, lose
/// calls and learn of each other late, and sending an event only where a subscription may match it.
/// </summary>
public sealed class InterestSimulationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void at_100_silos_every_REQ_gets_every_event_committed_after_its_store_read_and_events_go_only_where_they_may_match(int seed)
    {
        var sim = new ClusterSimulation(seed, silos: 100);
        for (var i = 0; i < 90; i++) sim.Start(i);
        sim.Run(steps: 4_000);
        for (var i = 90; i < 100; i++)
        {
            sim.Start(i);   // ten more join while REQs open and close and events flow
            sim.Run(steps: 600);
        }
        sim.Kill(3);
        sim.Kill(47);
        sim.Run(steps: 4_000);
        sim.Drain();

        // Exact: an event committed elsewhere after a REQ read the store, while the REQ was open, reached the REQ's silo.
        var checkedPairs = 0;
        foreach (var req in sim.Reqs)
        {
            if (req.Live is not { } live || !req.Silo.Alive) continue;
            foreach (var committed in sim.Events)
            {
                if (committed.Step <= live || committed.Step >= (req.Closed ?? long.MaxValue) || committed.Origin == req.Silo) continue;
                if (!req.Matches(committed.Event)) continue;
                checkedPairs++;
                Assert.True(req.Silo.Received.Contains(committed.Event.Id),
                    $"{req.Silo} missed an event of {committed.Origin} committed at step {committed.Step} for a REQ live since step {live}");
            }
        }
        Assert.True(checkedPairs > 1_000, $"only {checkedPairs} (REQ, event) pairs were checked");
        Assert.True(sim.PeersHeardFirst > 100);   // silos did learn of each other late, and REQs went live meanwhile
        Assert.True(sim.Reqs.Count(r => r.Live is not null) > 1_500);

        // REQs on surviving silos all went live, even those that waited on a silo that died.
        Assert.All(sim.Reqs.Where(r => r.Silo.Alive), r => Assert.NotNull(r.Live));

        // Selective: once quiet, an event goes to exactly the silos with an open REQ keyed for it.
        for (var i = 0; i < 300; i++)
        {
            var origin = sim.AliveSilo();
            var committed = sim.Commit(origin, sim.RandomEvent());
            var wanted = sim.Reqs.Where(r => r.Closed is null && r.Silo != origin && r.KeyedFor(committed.Event)).Select(r => r.Silo).ToHashSet();
            Assert.Equal(wanted.OrderBy(s => s.Index), committed.SentTo.OrderBy(s => s.Index));
        }
        // And over the whole run, far fewer hops than sending every event to every silo.
        Assert.True(sim.EventMessages < sim.PeersAtCommit / 2, $"{sim.EventMessages} hops of {sim.PeersAtCommit} with every event to every silo");
        output.WriteLine($"{sim.Reqs.Count} REQs, {sim.Events.Count} events, {checkedPairs} (REQ, matching later event) pairs checked; " +
            $"{sim.EventMessages} event hops against {sim.PeersAtCommit} with every event sent to every silo; {sim.PeersHeardFirst} peers heard before membership");
    }
}
