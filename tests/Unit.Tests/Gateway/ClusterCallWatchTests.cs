using NostrRelay.Connections;

namespace NostrRelay.Unit.Tests.Gateway;

/// <summary>
/// A gateway-only process lets go of its calls in flight when it loses a gateway connection, and makes each once
/// more, so a call caught on a killed silo is answered in a failover's time, not the response timeout's.
/// </summary>
public sealed class ClusterCallWatchTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task a_call_out_when_a_gateway_is_lost_is_made_again_and_its_second_answer_returned()
    {
        var watch = new ClusterCallWatch();
        var first = new TaskCompletionSource<int>();
        var made = 0;
        var call = watch.CallAsync(() => ++made == 1 ? first.Task : Task.FromResult(42));

        watch.NotifyGatewayCountChanged(1, 2, connectionRecovered: false);

        Assert.Equal(42, await call.WaitAsync(Patience));
        Assert.Equal(2, made);
        first.SetException(new TimeoutException("the lost call times out later"));
    }

    [Fact]
    public async Task a_call_that_loses_a_gateway_twice_fails_as_lost()
    {
        var watch = new ClusterCallWatch();
        var made = 0;
        var call = watch.CallAsync(() =>
        {
            made++;
            return new TaskCompletionSource().Task;
        });

        watch.NotifyGatewayCountChanged(2, 3, connectionRecovered: false);
        await WaitUntilAsync(() => made == 2);
        watch.NotifyGatewayCountChanged(1, 2, connectionRecovered: false);

        await Assert.ThrowsAsync<ClusterConnectionLostException>(() => call.WaitAsync(Patience));
        Assert.Equal(2, made);
    }

    [Fact]
    public async Task a_gateway_joining_leaves_calls_in_flight_alone()
    {
        var watch = new ClusterCallWatch();
        var answer = new TaskCompletionSource<string>();
        var made = 0;
        var call = watch.CallAsync(() =>
        {
            made++;
            return answer.Task;
        });

        watch.NotifyGatewayCountChanged(3, 2, connectionRecovered: true);
        watch.NotifyClusterConnectionLost();
        await Task.Delay(50);
        answer.SetResult("stored");

        Assert.Equal("stored", await call.WaitAsync(Patience));
        Assert.Equal(1, made);
        Assert.Equal(0, watch.Breaks);
    }

    [Fact]
    public async Task in_a_silo_calls_go_straight_through_and_nothing_lets_go_of_them()
    {
        var watch = new ClusterCallWatch(watching: false);
        var answer = new TaskCompletionSource<int>();
        var made = 0;
        var call = watch.CallAsync(() =>
        {
            made++;
            return answer.Task;
        });

        Assert.Same(answer.Task, call);
        Assert.False(watch.CallsInFlight.CanBeCanceled);
        watch.NotifyGatewayCountChanged(1, 2, connectionRecovered: false);
        await Task.Delay(50);
        answer.SetResult(7);

        Assert.Equal(7, await call.WaitAsync(Patience));
        Assert.Equal(1, made);
    }

    [Fact]
    public async Task in_a_silo_a_call_that_throws_before_it_returns_a_task_fails_its_task()
    {
        var watch = new ClusterCallWatch(watching: false);

        var call = watch.CallAsync<int>(() => throw new InvalidOperationException("refused before any task"));
        var plain = watch.CallAsync(() => throw new InvalidOperationException("refused too"));

        Assert.Equal("refused before any task", (await Assert.ThrowsAsync<InvalidOperationException>(() => call.WaitAsync(Patience))).Message);
        Assert.Equal("refused too", (await Assert.ThrowsAsync<InvalidOperationException>(() => plain.WaitAsync(Patience))).Message);
    }

    [Fact]
    public async Task a_call_that_fails_on_its_own_fails_without_being_made_again()
    {
        var watch = new ClusterCallWatch();
        var made = 0;
        var call = watch.CallAsync(() =>
        {
            made++;
            return Task.FromException(new InvalidOperationException("refused by the grain"));
        });

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => call.WaitAsync(Patience));
        Assert.Equal("refused by the grain", failure.Message);
        Assert.Equal(1, made);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }
}
