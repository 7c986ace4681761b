using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace NostrRelay.Grains.Tests.Wire;

/// <summary>
/// A rolling upgrade runs silos and gateways of two builds side by side, and grain storage keeps what earlier builds
/// wrote: every type they exchange must keep its bytes. Each sample's bytes as the builds up to this one wrote them are
/// held in <see cref="WireFixtureBytes"/>; a change that alters them fails here and must be made readable both ways
/// (new members under new ids, a surrogate) rather than have the fixture updated. A new member under a new id does
/// change a sample's bytes (Orleans writes every member, defaults too): the bytes before it move to
/// <see cref="WireFixtureBytes.BeforeNewMembers"/>, where they are still checked both ways.
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

    public static TheoryData<string> SamplesBeforeNewMembers => new(WireFixtureBytes.BeforeNewMembers.Keys);

    [Theory]
    [MemberData(nameof(SamplesBeforeNewMembers))]
    public void what_builds_before_a_new_member_wrote_reads_with_the_member_at_its_default_and_they_can_read_this_build(string sample)
    {
        var earlier = Convert.FromBase64String(WireFixtureBytes.BeforeNewMembers[sample]);
        var read = Serializer.Deserialize<object>(earlier);
        Assert.Equivalent(WireSamples.All[sample](), read, strict: true);

        // Those builds find every field they know where they wrote it, and skip the new ones after it, as Orleans'
        // generated readers skip any field id they do not know: their bytes, but for the end of the object, start this
        // build's, which then add only the new fields.
        var written = Serializer.SerializeToArray<object>(read);
        Assert.True(written.Length > earlier.Length, $"{sample}: this build writes no more than the earlier bytes");
        Assert.Equal(earlier[..^1], written[..(earlier.Length - 1)]);
        Assert.Equal(earlier[^1], written[^1]);
    }

    [Fact]
    public void every_fixture_has_its_sample()
    {
        Assert.Empty(WireFixtureBytes.All.Keys.Except(WireSamples.All.Keys));
        Assert.Empty(WireFixtureBytes.BeforeNewMembers.Keys.Except(WireSamples.All.Keys));
    }
}
