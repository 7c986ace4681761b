using System.Text;
using System.Text.Json;
using NostrRelay.Framing;
using NostrRelay.Hosting;

namespace NostrRelay.Unit.Tests.Gateway;

/// <summary>
/// Relay:Limits:MaxFilterValues bounds the values one filter carries over all its lists (ids, authors, kinds, every
/// #x), so one REQ cannot make matching and the store's work grow without end.
/// </summary>
public sealed class FilterValueLimitTests
{
    private static readonly RelayLimits Limits = new() { MaxFilterValues = 10 };

    private static (bool Ok, string? Error) Read(string filterJson)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes($"[\"REQ\",\"s\",{filterJson}]"), FrameReader.Options);
        FrameReader.ReadKind(ref reader);
        Assert.True(FrameReader.TryReadSubscriptionId(ref reader, Limits, out _, out _));
        var ok = FrameReader.TryReadFilters(ref reader, Limits, out _, out var error);
        return (ok, error);
    }

    private static string Hex(int i) => i.ToString("x64");

    private static string Strings(int count) => string.Join(',', Enumerable.Range(0, count).Select(i => $"\"v{i}\""));

    [Fact]
    public void a_filter_at_the_bound_is_read()
    {
        Assert.Equal((true, null), Read($"{{\"#t\":[{Strings(10)}]}}"));
        Assert.Equal((true, null), Read($"{{\"kinds\":[1,2,3],\"#t\":[{Strings(5)}],\"authors\":[\"{Hex(1)}\",\"{Hex(2)}\"]}}"));
    }

    [Theory]
    [InlineData("{\"#t\":[VALUES11]}")]
    [InlineData("{\"#t\":[VALUES6],\"#p\":[VALUES5]}")]
    [InlineData("{\"kinds\":[1,2,3,4,5,6],\"#e\":[VALUES5]}")]
    public void a_filter_past_the_bound_is_refused_with_the_bound_in_the_reason(string template)
    {
        var json = template.Replace("VALUES11", Strings(11)).Replace("VALUES6", Strings(6)).Replace("VALUES5", Strings(5));
        Assert.Equal((false, "invalid: filter has more than 10 values"), Read(json));
    }

    [Fact]
    public void ids_and_authors_count_toward_the_bound()
    {
        var ids = string.Join(',', Enumerable.Range(0, 6).Select(i => $"\"{Hex(i)}\""));
        var authors = string.Join(',', Enumerable.Range(0, 5).Select(i => $"\"{Hex(i)}\""));
        Assert.Equal((false, "invalid: filter has more than 10 values"), Read($"{{\"ids\":[{ids}],\"authors\":[{authors}]}}"));
    }

    [Fact]
    public void each_filter_of_a_req_has_its_own_bound()
    {
        Assert.Equal((true, null), Read($"{{\"#t\":[{Strings(10)}]}},{{\"#t\":[{Strings(10)}]}}"));
    }

    [Fact]
    public void a_bad_value_is_still_named_as_such_under_the_bound()
    {
        Assert.Equal((false, "invalid: kinds must be a list of integers between 0 and 65535"), Read("{\"kinds\":[1,\"x\"]}"));
    }
}
