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

        // Exact: an event committed elsewhere after a REQ arrived, while the REQ was open, reached the REQ's silo: those
        // committed before its store read too, by routing or a replay (an ephemeral event, or one a limit leaves out of
        // the read, has no other way), unless their silo died before the REQ went live.
        var checkedPairs = 0;
        foreach (var req in sim.Reqs)
        {
            if (req.Live is not { } live || live >= (req.Closed ?? long.MaxValue) || !req.Silo.Alive) continue;   // closed before its EOSE: owed nothing
            foreach (var committed in sim.Events)
            {
                if (committed.Step <= req.Opened || committed.Step >= (req.Closed ?? long.MaxValue) || committed.Origin == req.Silo) continue;
                // A silo that died before the REQ went live could not replay what it committed meanwhile: the store read has it.
                if (committed.Step <= live && committed.Origin.DiedAt < live) continue;
                if (!req.Matches(committed.Event)) continue;
                checkedPairs++;
                // Rule (1): one committed after the REQ read the store went by routing, when it was committed.
                if (committed.Step > live)
                    Assert.True(committed.SentTo.Contains(req.Silo), $"{committed.Origin} did not route an event committed at step {committed.Step} to {req.Silo}, whose REQ was live since step {live}");
                Assert.True(req.Silo.Received.Contains(committed.Event.Id),
                    $"{req.Silo} missed an event of {committed.Origin} committed at step {committed.Step} for a REQ opened at {req.Opened}, live since step {live}");
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
        // (Replays are counted apart: the simulation replays everything since the start, a silo only its last seconds.)
        Assert.True(sim.Routed < sim.PeersAtCommit / 2, $"{sim.Routed} hops of {sim.PeersAtCommit} with every event to every silo");
        Assert.True(sim.Replayed > 0);
        output.WriteLine($"{sim.Reqs.Count} REQs, {sim.Events.Count} events, {checkedPairs} (REQ, matching event) pairs checked; " +
            $"{sim.Routed} event hops routed against {sim.PeersAtCommit} with every event sent to every silo, {sim.Replayed} replayed; " +
            $"{sim.PeersHeardFirst} peers heard before membership");
    }
}
