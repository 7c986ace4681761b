using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace NostrRelay.Grains.Tests.Wire;

/// <summary>
/// A rolling upgrade runs silos and gateways of two builds side by side, and grain storage keeps what earlier builds
/// wrote: every type they exchange must keep its bytes. Each sample's bytes as the builds up to this one wrote them are
/// held in <see cref="WireFixtureBytes"/>; a change that alters them fails here and must be made readable both ways
/// (new members under new ids, a surrogate) rather than have the fixture updated.
/// </summary>
public sealed class WireCompatibilityTests
{
    private static readonly Serializer Serializer = new ServiceCollection().AddSerializer(builder => builder.AddAssembly(typeof(WireSamples).Assembly))
        .BuildServiceProvider().GetRequiredService<Serializer>();

    public static TheoryData<string> Samples => new(WireSamples.All.Keys);

    [Theory]
    [MemberData(nameof(Samples))]
    public void this_build_writes_the_bytes_earlier_builds_wrote_and_reads_them_back(string sample)
    {
        var value = WireSamples.All[sample]();
        var written = Convert.ToBase64String(Serializer.SerializeToArray<object>(value));
        Assert.True(WireFixtureBytes.All.TryGetValue(sample, out var earlier), $"no fixture for {sample}; this build writes {written}");

        Assert.True(earlier == written, $"{sample}: this build writes {written}, earlier builds wrote {earlier}");
        var read = Serializer.Deserialize<object>(Convert.FromBase64String(earlier!));
        Assert.Equal(value.GetType(), read.GetType());
        Assert.Equal(earlier, Convert.ToBase64String(Serializer.SerializeToArray<object>(read)));
        Assert.Equivalent(value, read, strict: true);
    }

    [Fact]
    public void every_fixture_has_its_sample()
    {
        Assert.Empty(WireFixtureBytes.All.Keys.Except(WireSamples.All.Keys));
    }
}
