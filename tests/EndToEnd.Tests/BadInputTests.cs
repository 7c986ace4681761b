using System.Net.WebSockets;
using System.Text;
using NostrRelay.EndToEnd.Tests.Infrastructure;

namespace NostrRelay.EndToEnd.Tests;

/// <summary>
/// Hostile or broken input gets a NIP-01 answer (NOTICE, OK false, CLOSED) and never takes down the
/// connection's neighbours: after every case another client still publishes and reads.
/// </summary>
[Collection(RelayCollection.Name)]
public sealed class BadInputTests(RelayFixture fixture)
{
    private async Task NeighbourStillWorksAsync()
    {
        await using var neighbour = await fixture.ConnectAsync();
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "neighbour");
        Assert.True((await neighbour.PublishAsync(evt)).Accepted);
        Assert.Single(await neighbour.QueryAsync("n", new { ids = new[] { evt.Id } }));
    }

    private static async Task<string> NoticeAsync(TestClient client)
    {
        var frame = await client.NextAsync();
        Assert.True(Frames.Is(frame, "NOTICE"), frame.ToString());
        return frame[1].GetString()!;
    }

    private async Task SameConnectionStillWorksAsync(TestClient client)
    {
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "still here");
        Assert.True((await client.PublishAsync(evt)).Accepted);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"EVENT\":1}")]
    [InlineData("[]")]
    [InlineData("[1,2,3]")]
    [InlineData("[\"EVENT\"")]
    [InlineData("[\"REQ\",")]
    [InlineData("\"REQ\"")]
    [InlineData("[\"CLOSE\",42]")]
    [InlineData("[\"EVENT\",42]")]
    [InlineData("[\"EVENT\",{\"id\":1}]")]
    public async Task malformed_messages_get_a_notice_and_the_connection_keeps_working(string frame)
    {
        await using var client = await fixture.ConnectAsync();

        await client.SendAsync(frame);

        Assert.StartsWith("invalid:", await NoticeAsync(client));
        await SameConnectionStillWorksAsync(client);
        await NeighbourStillWorksAsync();
    }

    [Fact]
    public async Task an_event_with_wrong_field_types_gets_ok_false_addressed_to_its_id()
    {
        await using var client = await fixture.ConnectAsync();
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "typed");
        string[] broken =
        [
            evt.Json.Replace($"\"kind\":1,", "\"kind\":\"1\","),
            evt.Json.Replace($"\"created_at\":{evt.CreatedAt}", $"\"created_at\":{evt.CreatedAt}.5"),
            evt.Json.Replace("\"tags\":[]", "\"tags\":[[1]]"),
            evt.Json.Replace("\"tags\":[]", "\"tags\":\"none\""),
            evt.Json.Replace("\"content\":\"typed\"", "\"content\":7"),
            evt.Json.Replace($"\"kind\":1,", "\"kind\":70000,"),
        ];
        foreach (var json in broken)
        {
            var (accepted, message) = await client.PublishRawAsync(evt.Id, $"[\"EVENT\",{json}]");
            Assert.False(accepted);
            Assert.StartsWith("invalid:", message);
        }
    }

    [Fact]
    public async Task deep_nesting_is_refused_without_harm()
    {
        await using var client = await fixture.ConnectAsync();
        var nested = new string('[', 5000) + new string(']', 5000);

        await client.SendAsync(nested);
        var notice = await NoticeAsync(client);
        await client.SendAsync("[\"REQ\",\"deep\",{\"#e\":" + nested + "}]");
        var closed = await client.ExpectAsync(f => Frames.IsFor(f, "deep"));
        await client.SendAsync("[\"EVENT\",{\"tags\":[" + nested + "]}]");
        var eventNotice = await NoticeAsync(client);

        Assert.StartsWith("invalid:", notice);
        Assert.True(Frames.Is(closed, "CLOSED"));
        Assert.StartsWith("invalid:", closed[2].GetString());
        Assert.StartsWith("invalid:", eventNotice);
        await SameConnectionStillWorksAsync(client);
        await NeighbourStillWorksAsync();
    }

    [Fact]
    public async Task binary_frames_get_a_notice()
    {
        await using var client = await fixture.ConnectAsync();

        await client.SendRawAsync([0x5b, 0x5d, 0x00, 0xff], WebSocketMessageType.Binary);

        Assert.Contains("binary", await NoticeAsync(client));
        await SameConnectionStillWorksAsync(client);
    }

    [Fact]
    public async Task a_message_larger_than_max_message_length_is_refused_and_the_connection_keeps_working()
    {
        await using var client = await fixture.ConnectAsync();
        var chunk = Encoding.UTF8.GetBytes(new string('x', 64 * 1024));

        // 1 MiB in 16 fragments: the relay stops keeping it after 256 KiB and answers at its end.
        await client.SendRawAsync(Encoding.UTF8.GetBytes("[\"EVENT\",\""), WebSocketMessageType.Text, endOfMessage: false);
        for (var i = 0; i < 16; i++) await client.SendRawAsync(chunk, WebSocketMessageType.Text, endOfMessage: false);
        await client.SendRawAsync(Encoding.UTF8.GetBytes("\"]"), WebSocketMessageType.Text, endOfMessage: true);

        Assert.Contains("larger than 262144 bytes", await NoticeAsync(client));
        await SameConnectionStillWorksAsync(client);
        await NeighbourStillWorksAsync();
    }

    [Fact]
    public async Task invalid_utf8_in_a_text_frame_closes_that_connection_with_1007_and_a_reason_and_no_other()
    {
        await using var client = await fixture.ConnectAsync();
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "Zz");
        var bytes = Encoding.UTF8.GetBytes($"[\"EVENT\",{evt.Json}]");
        var at = Encoding.UTF8.GetString(bytes).IndexOf("Zz", StringComparison.Ordinal);
        bytes[at] = 0xC3;   // a lead byte followed by an ASCII byte: not UTF-8
        bytes[at + 1] = 0x28;

        await client.SendRawAsync(bytes, WebSocketMessageType.Text);

        // RFC 6455 §8.1: an endpoint receiving invalid UTF-8 in a text message fails the connection, with 1007.
        await client.Closed.WaitAsync(TestClient.DefaultTimeout);
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, client.CloseStatus);
        Assert.StartsWith("invalid:", client.CloseStatusDescription);
        await NeighbourStillWorksAsync();
    }

    [Fact]
    public async Task a_flood_of_req_and_close_is_answered_and_neighbours_keep_working()
    {
        await using var client = await fixture.ConnectAsync();
        await using var neighbour = await fixture.ConnectAsync();
        var sk = NostrTools.NewSecretKey();
        var pubkey = await fixture.Tools.PublicKeyAsync(sk);
        await neighbour.QueryAsync("watch", new { authors = new[] { pubkey } });

        for (var i = 0; i < 2000; i++)
        {
            await client.SendAsync(Frames.Req($"flood{i % 40}", new { kinds = new[] { 1 }, limit = 1 }));
            await client.SendAsync(Frames.Close($"flood{i % 40}"));
        }
        var evt = await fixture.Tools.SignAsync(sk, 1, "during the flood");
        Assert.True((await neighbour.PublishAsync(evt)).Accepted);

        var live = await neighbour.ExpectAsync(f => Frames.IsFor(f, "watch") && Frames.Is(f, "EVENT"));
        Assert.Equal(evt.Id, Frames.Id(live[2]));
        await SameConnectionStillWorksAsync(client);
    }

    [Fact]
    public async Task a_filter_with_more_values_than_max_filter_values_is_closed_as_invalid_and_one_at_the_bound_is_served()
    {
        await using var client = await fixture.ConnectAsync();
        string[] Values(int count) => [.. Enumerable.Range(0, count).Select(i => $"value-{i}")];

        await client.SendAsync(Frames.Req("over", new Dictionary<string, object> { ["#t"] = Values(4_001), ["kinds"] = Enumerable.Range(0, 1_000).ToArray() }));
        var closed = await client.ExpectAsync(f => Frames.Is(f, "CLOSED") && Frames.IsFor(f, "over"));
        await client.SendAsync(Frames.Req("at", new Dictionary<string, object> { ["#t"] = Values(5_000) }));
        var eose = await client.ExpectAsync(f => Frames.IsFor(f, "at"));

        Assert.Equal("invalid: filter has more than 5000 values", closed[2].GetString());
        Assert.True(Frames.Is(eose, "EOSE"), eose.ToString());
        await NeighbourStillWorksAsync();
    }

    [Fact]
    public async Task a_subscription_id_longer_than_the_limit_is_closed_as_invalid()
    {
        await using var client = await fixture.ConnectAsync();
        var longId = new string('s', 65);

        await client.SendAsync(Frames.Req(longId, new { kinds = new[] { 1 } }));
        var closed = await client.ExpectAsync(f => Frames.Is(f, "CLOSED"));

        Assert.Equal(longId, closed[1].GetString());
        Assert.StartsWith("invalid:", closed[2].GetString());
    }

    [Fact]
    public async Task an_event_with_more_tags_than_allowed_is_refused()
    {
        await using var client = await fixture.ConnectAsync();
        var tags = Enumerable.Range(0, 2501).Select(i => new[] { "t", i.ToString() }).ToArray();
        var evt = await fixture.Tools.SignAsync(NostrTools.NewSecretKey(), 1, "tagged", tags);

        var (accepted, message) = await client.PublishAsync(evt);

        Assert.False(accepted);
        Assert.StartsWith("invalid: too many tags", message);
    }
}
