using System.Net.WebSockets;
using System.Text;
using NostrRelay.Protocol;

namespace NostrRelay.Testing.Hostile;

/// <summary>
/// Sizes of a hostile plan, and the relay limits it probes (the relay's defaults, as advertised in NIP-11).
/// The end-to-end test uses the defaults; the benchmark asks for more.
/// </summary>
public sealed class HostilePlanOptions
{
    public int Seed { get; init; } = 9;

    /// <summary>Attacker connections that send frames and read their answers.</summary>
    public int Connections { get; init; } = 6;

    /// <summary>Frames of the weighted mix per connection; the special frames below come on top.</summary>
    public int FramesPerConnection { get; init; } = 1_700;

    /// <summary>1 MiB messages in all (3 text to 1 binary), dealt over the connections.</summary>
    public int MebibyteFrames { get; init; } = 8;

    /// <summary>16 MiB text messages in all.</summary>
    public int SixteenMebibyteFrames { get; init; } = 1;

    /// <summary>Text frames with invalid UTF-8 per connection; each ends its connection, which then reconnects.</summary>
    public int InvalidUtf8PerConnection { get; init; } = 2;

    /// <summary>Times each connection sends the set of value- and filter-limit REQs (4,999 / 5,001 / 10,000 values, 20 / 21 / 1,000 filters, ...).</summary>
    public int LimitProbesPerConnection { get; init; } = 1;

    /// <summary>Depth of the deeply nested frames ([[[[...]]]] and the like).</summary>
    public int NestingDepth { get; init; } = 10_000;

    public int SlowConsumers { get; init; } = 2;
    public int SubscriptionsPerSlowConsumer { get; init; } = 25;

    /// <summary>created_at of the events the attack signs; "now" by default.</summary>
    public long Now { get; init; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public int MaxFilterValues { get; init; } = 5_000;
    public int MaxFilters { get; init; } = 20;
    public int MaxSubscriptionIdLength { get; init; } = 64;
    public int MaxEventTags { get; init; } = 2_500;
    public int MaxContentLength { get; init; } = 100_000;
    public int MaxMessageBytes { get; init; } = 256 * 1024;
}

/// <summary>
/// A deterministic generator of hostile Nostr traffic (fixed seed, printed by whoever runs it): malformed and
/// truncated JSON, wrong types in every field, huge numbers, deep nesting, invalid UTF-8, binary frames, 1 and 16
/// MiB messages, thousands of filters and of values, long subscription ids, bad ids, signatures and hex, too
/// many tags, REQ and CLOSE floods, and valid-but-heavy REQs; each frame carries the answer NIP-01 and the
/// relay's advertised limits make due. Events with a correct id and a wrong signature make the relay verify a
/// signature, as an attacker would. Everything is built up front: sending costs only the send.
/// </summary>
public static class HostileFrames
{
    /// <summary>The event kind of every event the attack signs or forges (not 1: the honest subscriber's).</summary>
    public const int AttackKind = 4444;

    public static HostilePlan Plan(HostilePlanOptions options)
    {
        var builder = new Builder(options);
        var connections = new List<List<List<HostileBurst>>>();   // per connection, units of bursts
        for (var c = 0; c < options.Connections; c++) connections.Add(builder.Mix(c));

        // Special frames, dealt round-robin so every connection carries its share of the heavy ones.
        var specials = builder.Specials();
        var offset = builder.Random.Next(options.Connections);
        for (var i = 0; i < specials.Count; i++) connections[(i + offset) % options.Connections].Add(specials[i]);
        for (var c = 0; c < options.Connections; c++)
        {
            connections[c].AddRange(builder.PerConnectionSpecials(c));
            for (var u = 0; u < options.InvalidUtf8PerConnection; u++) connections[c].Add(builder.InvalidUtf8(c));
        }

        var scripts = new List<HostileScript>();
        for (var c = 0; c < options.Connections; c++)
        {
            var units = connections[c];
            Shuffle(builder.Random, units);
            // The heavy subscriptions go first: they stay open for the whole attack and take the live flow.
            var heavy = units.FindIndex(u => u.Count > 0 && u[0].Frames.Count > 0 && u[0].Frames[0].Category == "heavy REQ");
            if (heavy > 0) (units[0], units[heavy]) = (units[heavy], units[0]);
            // An invalid-UTF-8 unit ends its connection: never first, so the connection has done something before.
            var first = units.FindIndex(u => u.Any(b => b.Frames.Any(f => f.Expect.Kind == AnswerKind.ConnectionClosed)));
            if (first == 0 && units.Count > 1) (units[0], units[^1]) = (units[^1], units[0]);
            scripts.Add(new HostileScript($"attacker {c + 1}", units.SelectMany(u => u).ToList()));
        }

        var slow = new List<SlowConsumerScript>();
        for (var s = 0; s < options.SlowConsumers; s++)
        {
            var requests = new List<(string, byte[])>();
            for (var i = 0; i < options.SubscriptionsPerSlowConsumer; i++)
            {
                var id = $"slow{s}-{i}";
                requests.Add((id, Utf8($"[\"REQ\",\"{id}\",{(i % 2 == 0 ? "{}" : "{\"limit\":5000}")}]")));
            }
            slow.Add(new SlowConsumerScript($"slow consumer {s + 1}", requests));
        }
        return new HostilePlan(options.Seed, scripts, slow);
    }

    private static void Shuffle<T>(Random random, List<T> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private sealed class Builder
    {
        private const string HexDigits = "0123456789abcdef";
        private readonly HostilePlanOptions _options;
        private readonly byte[][] _secretKeys;
        private readonly string[] _pubkeys;
        private readonly int[] _subscriptionCounters;
        private int _eventCounter;

        public Builder(HostilePlanOptions options)
        {
            _options = options;
            Random = new Random(options.Seed);
            _subscriptionCounters = new int[options.Connections];
            _secretKeys = new byte[3][];
            _pubkeys = new string[3];
            for (var i = 0; i < _secretKeys.Length; i++)
            {
                while (true)
                {
                    var key = new byte[32];
                    Random.NextBytes(key);
                    try
                    {
                        _pubkeys[i] = NativeSchnorrSigner.Shared.PublicKeyHex(key);
                        _secretKeys[i] = key;
                        break;
                    }
                    catch (ArgumentException)
                    {
                        // zero or not below the curve order: draw again
                    }
                }
            }
        }

        public Random Random { get; }

        // ---------- the weighted mix ----------

        public List<List<HostileBurst>> Mix(int c)
        {
            // One unit of every kind first, so even a small plan has them all; then the weighted draw.
            var units = new List<List<HostileBurst>>
            {
                One(Malformed(c, 20)), One(Truncated(c, 20)), WrongTypes(c), HugeNumbers(c), One(BadEvents(c, 20)), One(FloodSameId(c, 40)),
                One(FloodFreshIds(c, 40)), FloodReplacing(c, 30), FloodWithoutClose(c, 60), One(CloseFlood(c, 50)), One(Binary(10)), Deep(c), Weird(c), LongIds(c),
            };
            var frames = units.Sum(u => u.Sum(b => b.Frames.Count));
            while (frames < _options.FramesPerConnection)
            {
                var unit = Random.Next(100) switch
                {
                    < 12 => One(Malformed(c, 20)),
                    < 24 => One(Truncated(c, 20)),
                    < 28 => WrongTypes(c),
                    < 34 => HugeNumbers(c),
                    < 56 => One(BadEvents(c, 20)),
                    < 60 => One(FloodSameId(c, 40)),
                    < 64 => One(FloodFreshIds(c, 40)),
                    < 68 => FloodReplacing(c, 30),
                    < 70 => FloodWithoutClose(c, 60),
                    < 73 => One(CloseFlood(c, 50)),
                    < 81 => One(Binary(10)),
                    < 85 => Deep(c),
                    < 93 => Weird(c),
                    _ => LongIds(c),
                };
                frames += unit.Sum(b => b.Frames.Count);
                units.Add(unit);
            }
            return units;
        }

        private static List<HostileBurst> One(List<HostileFrame> frames, bool barrier = false) => [new HostileBurst(frames, barrier)];

        /// <summary>The REQs' frames, then (once they are answered) a CLOSE for each, so subscriptions do not pile up.</summary>
        private static List<HostileBurst> ThenClose(List<HostileFrame> frames, IEnumerable<string> opened) =>
            [new HostileBurst(frames), new HostileBurst(opened.Select(id => Close(id, "CLOSE after answers")).ToList(), Barrier: true)];

        private List<HostileFrame> Malformed(int c, int count)
        {
            string[] fixedOnes =
            [
                "", " ", "[", "]", "[[", "{", "}", "[\"REQ\"", "[\"EVENT\",{", "nul", "tru", "[1,]", "[,]", "{\"a\":}",
                "'single quoted'", "[\"REQ\" \"x\"]", "NaN", "[Infinity]", "[\"EVENT\",{\"id\":\"abc\"]", "\u0000", "[\"CLOSE\",\"x\",]",
                "[\"EVENT\",{\"kind\":01}]", "[\"NOTICE\",\"\\x41\"]", "[\"EVENT\",{\"content\":\"\\q\"}]", "[\"EVENT\",{\"content\":\"tab\there\"}]",
                "[\"REQ\",'x',{}]", "]]]][[[[", "[\"OK\",",
            ];
            // Malformed after a readable subscription id: the relay may answer CLOSED for that id, or a NOTICE.
            string[] afterId = ["{\"kinds\":[1,]}]", "{\"limit\":0x10}]", "{\"since\":+1}]", "{\"kinds\":[1]}", "{\"#t\":[\"a\"}]"];
            var frames = new List<HostileFrame>(count);
            for (var i = 0; i < count; i++)
            {
                var roll = Random.Next(6);
                if (roll == 0) frames.Add(Text("malformed JSON", Garbage(), Expectation.ANotice));
                else if (roll == 1)
                {
                    var sub = Sub(c);
                    frames.Add(Text("malformed JSON", $"[\"REQ\",\"{sub}\",{afterId[Random.Next(afterId.Length)]}", Expectation.AnsweredOrNotice(sub)));
                }
                else frames.Add(Text("malformed JSON", fixedOnes[Random.Next(fixedOnes.Length)], Expectation.ANotice));
            }
            return frames;
        }

        /// <summary>Printable ASCII that is not JSON: it starts with a character no JSON value starts with.</summary>
        private string Garbage()
        {
            const string starts = "#@!$%&*<>?^|~;=";
            var length = 1 + Random.Next(160);
            var chars = new char[length];
            chars[0] = starts[Random.Next(starts.Length)];
            for (var i = 1; i < length; i++) chars[i] = (char)Random.Next(32, 127);
            return new string(chars);
        }

        private List<HostileFrame> Truncated(int c, int count)
        {
            var frames = new List<HostileFrame>(count);
            for (var i = 0; i < count; i++)
            {
                switch (Random.Next(3))
                {
                    case 0:
                    {
                        var sub = Sub(c);
                        var text = $"[\"REQ\",\"{sub}\",{{\"kinds\":[1,7],\"authors\":[\"{_pubkeys[0]}\"],\"#t\":[\"nostr\"],\"limit\":10}}]";
                        frames.Add(Text("truncated JSON", text[..(1 + Random.Next(text.Length - 1))], Expectation.AnsweredOrNotice(sub)));
                        break;
                    }
                    case 1:
                    {
                        var (id, json) = ForgedEvent(AttackKind, [["t", "cut"]], "truncated " + Random.Next(), _options.Now);
                        var text = $"[\"EVENT\",{json}]";
                        var cut = 1 + Random.Next(text.Length - 1);
                        var idEnd = text.IndexOf(id, StringComparison.Ordinal) + id.Length + 1;   // just after the id's closing quote
                        frames.Add(Text("truncated JSON", text[..cut], cut >= idEnd ? Expectation.RefusedOrNotice(id) : Expectation.ANotice));
                        break;
                    }
                    default:
                    {
                        var text = $"[\"CLOSE\",\"{Sub(c)}\"]";
                        frames.Add(Text("truncated JSON", text[..(1 + Random.Next(text.Length - 1))], Expectation.ANotice));
                        break;
                    }
                }
            }
            return frames;
        }

        private List<HostileBurst> WrongTypes(int c)
        {
            var frames = new List<HostileFrame>();
            void Notice(string text) => frames.Add(Text("wrong types", text, Expectation.ANotice));
            foreach (var text in (string[])["[\"EVENT\",\"str\"]", "[\"EVENT\",1]", "[\"EVENT\",[]]", "[\"EVENT\",null]", "[\"EVENT\",{}]",
                         "[\"EVENT\",{\"id\":1}]", "[\"EVENT\"]", "[\"REQ\",1,{}]", "[\"REQ\",null]", "[\"REQ\",{}]", "[\"REQ\",[]]", "[\"REQ\",\"\",{}]",
                         "[\"REQ\"]", "[\"CLOSE\"]", "[\"CLOSE\",1]", "[\"CLOSE\",null]", "[\"CLOSE\",{}]", "[\"CLOSE\",\"a\",\"b\"]", "[1]", "[null]",
                         "[true]", "[[]]", "[{}]", "{}", "{\"REQ\":1}", "\"EVENT\"", "42", "null", "true", "[\"FOO\"]", "[\"event\",{}]",
                         "[\"AUTH\",\"x\"]", "[\"AUTH\",{}]", "[\"COUNT\"]", "[\"EOSE\",\"x\"]", "[\"OK\",\"x\",true,\"\"]"])
                Notice(text);

            // Well-formed events with a readable id and one field of the wrong type: OK false to that id.
            string[][] fields =
            [
                ["kind", "\"1\""], ["kind", "1.5"], ["kind", "null"], ["created_at", "\"now\""], ["created_at", "1.5"], ["created_at", "[]"],
                ["tags", "\"none\""], ["tags", "[1]"], ["tags", "[[1]]"], ["tags", "[[\"t\",{}]]"], ["tags", "{}"], ["content", "7"],
                ["content", "null"], ["content", "[\"x\"]"], ["pubkey", "5"], ["pubkey", "null"], ["sig", "[]"], ["sig", "true"],
            ];
            foreach (var field in fields)
            {
                var id = Hex(64);
                frames.Add(Text("wrong types", $"[\"EVENT\",{RawEvent(id, field[0], field[1])}]", Expectation.Refused(id)));
            }
            var (extraId, extraJson) = ForgedEvent(AttackKind, [], "two events", _options.Now);
            frames.Add(Text("wrong types", $"[\"EVENT\",{extraJson},\"extra\"]", Expectation.RefusedOrNotice(extraId)));
            var (secondId, secondJson) = ForgedEvent(AttackKind, [], "and another", _options.Now);
            frames.Add(Text("wrong types", $"[\"EVENT\",{secondJson},{secondJson}]", Expectation.RefusedOrNotice(secondId)));

            // REQs of the wrong shape or with wrong filter types: EOSE or CLOSED (or a NOTICE); the accepted ones are closed after.
            string[] filters =
            [
                "", ",\"str\"", ",1", ",[]", ",null", ",{\"kinds\":\"1\"}", ",{\"kinds\":[\"1\"]}", ",{\"kinds\":[-1]}", ",{\"kinds\":[1.5]}",
                ",{\"ids\":\"x\"}", ",{\"ids\":[1]}", ",{\"authors\":[null]}", ",{\"since\":\"yesterday\"}", ",{\"since\":-5}", ",{\"until\":true}",
                ",{\"limit\":\"10\"}", ",{\"limit\":-1}", ",{\"#t\":\"x\"}", ",{\"#t\":[1]}", ",{\"#t\":[[\"x\"]]}", ",{\"#\":[\"x\"]}", ",{\"#tt\":[\"x\"]}",
                ",{\"foo\":\"bar\"}", ",{\"search\":\"x\"}", ",{\"kinds\":[1],\"kinds\":[2]}", ",{},1", ",{\"ids\":[\"XYZ\"]}",
                $",{{\"ids\":[\"{Hex(64).ToUpperInvariant()}\"]}}", $",{{\"authors\":[\"{Hex(63)}\"]}}", $",{{\"ids\":[\"{Hex(62)}zz\"]}}",
            ];
            var opened = new List<string>();
            foreach (var filter in filters)
            {
                var sub = Sub(c);
                opened.Add(sub);
                frames.Add(Text("wrong types", $"[\"REQ\",\"{sub}\"{filter}]", Expectation.AnsweredOrNotice(sub)));
            }
            var count = Sub(c);
            frames.Add(Text("wrong types", $"[\"COUNT\",\"{count}\",{{}}]", Expectation.AnsweredOrNotice(count)));
            return ThenClose(frames, opened);
        }

        private List<HostileBurst> HugeNumbers(int c)
        {
            var frames = new List<HostileFrame>();
            string[][] fields =
            [
                ["created_at", "9223372036854775808"], ["created_at", "1e400"], ["created_at", "-1"], ["created_at", "-9223372036854775809"],
                ["created_at", new string('9', 1_000)], ["created_at", "1E+308"], ["kind", "70000"], ["kind", "-1"], ["kind", "65536"],
                ["kind", "1e400"], ["kind", "4294967296"], ["kind", "1" + new string('0', 400)],
            ];
            foreach (var field in fields)
            {
                var id = Hex(64);
                frames.Add(Text("huge numbers", $"[\"EVENT\",{RawEvent(id, field[0], field[1])}]", Expectation.Refused(id)));
            }
            string[] filters =
            [
                "{\"limit\":1e30}", "{\"limit\":1e400}", "{\"limit\":18446744073709551616}", "{\"since\":1e400}", "{\"until\":-0}",
                "{\"kinds\":[1e400]}", "{\"limit\":1.5}", "{\"since\":9223372036854775807,\"until\":0}", $"{{\"limit\":{new string('9', 1_000)}}}",
            ];
            var opened = new List<string>();
            foreach (var filter in filters)
            {
                var sub = Sub(c);
                opened.Add(sub);
                frames.Add(Text("huge numbers", $"[\"REQ\",\"{sub}\",{filter}]", Expectation.AnsweredOrNotice(sub)));
            }
            return ThenClose(frames, opened);
        }

        /// <summary>Events shaped right but false: most with a correct id and a random signature, so the relay must verify it.</summary>
        private List<HostileFrame> BadEvents(int c, int count)
        {
            var frames = new List<HostileFrame>(count);
            for (var i = 0; i < count; i++)
            {
                var roll = Random.Next(100);
                var content = $"bad event {Interlocked.Increment(ref _eventCounter)}";
                if (roll < 65)
                {
                    var (id, json) = ForgedEvent(AttackKind, [["t", "forged"]], content, _options.Now);
                    frames.Add(Text("bad signature", $"[\"EVENT\",{json}]", Expectation.Refused(id)));
                }
                else if (roll < 70)
                {
                    var pubkey = _pubkeys[Random.Next(_pubkeys.Length)];
                    var id = CanonicalJson.ComputeIdHex(pubkey, _options.Now, AttackKind, [], content);
                    var json = Encoding.UTF8.GetString(CanonicalJson.SerializeEvent(id, pubkey, _options.Now, AttackKind, [], content, new string('0', 128)));
                    frames.Add(Text("bad signature", $"[\"EVENT\",{json}]", Expectation.Refused(id)));
                }
                else if (roll < 75)
                {
                    var pubkey = new string('f', 64);   // not an x coordinate on the curve
                    var id = CanonicalJson.ComputeIdHex(pubkey, _options.Now, AttackKind, [], content);
                    var json = Encoding.UTF8.GetString(CanonicalJson.SerializeEvent(id, pubkey, _options.Now, AttackKind, [], content, Hex(128)));
                    frames.Add(Text("bad pubkey", $"[\"EVENT\",{json}]", Expectation.Refused(id)));
                }
                else if (roll < 82)
                {
                    var id = Hex(64);   // not the hash of the event
                    var json = Encoding.UTF8.GetString(CanonicalJson.SerializeEvent(id, _pubkeys[0], _options.Now, AttackKind, [], content, Hex(128)));
                    frames.Add(Text("bad id", $"[\"EVENT\",{json}]", Expectation.Refused(id)));
                }
                else if (roll < 86)
                {
                    var id = Hex(64).ToUpperInvariant();
                    frames.Add(Text("bad hex", $"[\"EVENT\",{RawEvent(id, "content", Quote(content))}]", Expectation.RefusedOrNotice(id)));
                }
                else if (roll < 90)
                {
                    var id = Random.Next(2) == 0 ? Hex(63) : Hex(62) + "zz";
                    frames.Add(Text("bad hex", $"[\"EVENT\",{RawEvent(id, "content", Quote(content))}]", Expectation.RefusedOrNotice(id)));
                }
                else if (roll < 95)
                {
                    var id = Hex(64);
                    var field = Random.Next(3) switch { 0 => "pubkey", 1 => "sig", _ => "pubkey" };
                    var value = field == "sig" ? Quote(Hex(127)) : Quote("zz" + Hex(62));
                    frames.Add(Text("bad hex", $"[\"EVENT\",{RawEvent(id, field, value)}]", Expectation.Refused(id)));
                }
                else
                {
                    // Two ids: the relay may answer to the first, or not know which.
                    var first = Hex(64);
                    var json = RawEvent(Hex(64), "content", Quote(content)).Replace("{\"id\":", $"{{\"id\":\"{first}\",\"id\":", StringComparison.Ordinal);
                    frames.Add(Text("bad id", $"[\"EVENT\",{json}]", Expectation.RefusedOrNotice(first)));
                }
            }
            return frames;
        }

        private static readonly string[] FloodFilters = ["{\"kinds\":[1],\"limit\":1}", "{\"kinds\":[7],\"limit\":2}", "{\"limit\":0}", "{\"#t\":[\"flood\"],\"limit\":5}"];

        private List<HostileFrame> FloodSameId(int c, int pairs)
        {
            var sub = Sub(c);
            var frames = new List<HostileFrame>(pairs * 2);
            for (var i = 0; i < pairs; i++)
            {
                frames.Add(Text("REQ/CLOSE flood", $"[\"REQ\",\"{sub}\",{FloodFilters[i % FloodFilters.Length]}]", Expectation.Answered(sub) with { Optional = true }));
                frames.Add(Close(sub, "REQ/CLOSE flood"));
            }
            return frames;
        }

        private List<HostileFrame> FloodFreshIds(int c, int pairs)
        {
            var frames = new List<HostileFrame>(pairs * 2);
            for (var i = 0; i < pairs; i++)
            {
                var sub = Sub(c);
                frames.Add(Text("REQ/CLOSE flood", $"[\"REQ\",\"{sub}\",{FloodFilters[i % FloodFilters.Length]}]", Expectation.Answered(sub) with { Optional = true }));
                frames.Add(Close(sub, "REQ/CLOSE flood"));
            }
            return frames;
        }

        /// <summary>The same subscription id REQ'd again and again: each replaces the last, which may go unanswered; the last is answered.</summary>
        private List<HostileBurst> FloodReplacing(int c, int count)
        {
            var sub = Sub(c);
            var frames = new List<HostileFrame>(count);
            for (var i = 0; i < count; i++)
                frames.Add(Text("REQ/CLOSE flood", $"[\"REQ\",\"{sub}\",{FloodFilters[i % FloodFilters.Length]}]", Expectation.Answered(sub) with { Optional = i < count - 1 }));
            return ThenClose(frames, [sub]);
        }

        /// <summary>More REQs than a connection may hold open: each is answered (EOSE, or CLOSED "blocked:" past the limit); then all are closed.</summary>
        private List<HostileBurst> FloodWithoutClose(int c, int count)
        {
            var frames = new List<HostileFrame>(count);
            var opened = new List<string>(count);
            for (var i = 0; i < count; i++)
            {
                var sub = Sub(c);
                opened.Add(sub);
                frames.Add(Text("REQ/CLOSE flood", $"[\"REQ\",\"{sub}\",{FloodFilters[i % FloodFilters.Length]}]", Expectation.Answered(sub)));
            }
            return ThenClose(frames, opened);
        }

        private List<HostileFrame> CloseFlood(int c, int count)
        {
            var frames = new List<HostileFrame>(count);
            for (var i = 0; i < count; i++) frames.Add(Close(Sub(c), "REQ/CLOSE flood"));
            return frames;
        }

        private List<HostileFrame> Binary(int count)
        {
            var frames = new List<HostileFrame>(count);
            for (var i = 0; i < count; i++)
            {
                byte[] bytes;
                if (Random.Next(3) == 0) bytes = Utf8("[\"REQ\",\"binary\",{\"limit\":1}]");
                else
                {
                    bytes = new byte[1 + Random.Next(1_000)];
                    Random.NextBytes(bytes);
                }
                frames.Add(new HostileFrame("binary frame", bytes, WebSocketMessageType.Binary, Expectation.ANotice));
            }
            return frames;
        }

        private List<HostileBurst> Deep(int c)
        {
            var depth = _options.NestingDepth;
            var open = new string('[', depth);
            var close = new string(']', depth);
            var frames = new List<HostileFrame>
            {
                Text("deep nesting", open + close, Expectation.ANotice),
                Text("deep nesting", open, Expectation.ANotice),
                Text("deep nesting", string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth), Expectation.ANotice),
            };
            var opened = new List<string>();
            var sub1 = Sub(c);
            opened.Add(sub1);
            frames.Add(Text("deep nesting", $"[\"REQ\",\"{sub1}\",{{\"#e\":{open}{close}}}]", Expectation.AnsweredOrNotice(sub1)));
            var sub2 = Sub(c);
            opened.Add(sub2);
            frames.Add(Text("deep nesting", $"[\"REQ\",\"{sub2}\",{open}{close}]", Expectation.AnsweredOrNotice(sub2)));
            var id = Hex(64);
            frames.Add(Text("deep nesting", $"[\"EVENT\",{{\"id\":\"{id}\",\"tags\":{open}{close}}}]", Expectation.RefusedOrNotice(id)));
            frames.Add(Text("deep nesting", $"[\"EVENT\",{{\"tags\":[{open}{close}]}}]", Expectation.ANotice));
            return ThenClose(frames, opened);
        }

        /// <summary>Valid UTF-8 that is odd: escapes, lone surrogates as escapes, emoji, NUL, a BOM, whitespace, an escaped message type.</summary>
        private List<HostileBurst> Weird(int c)
        {
            var frames = new List<HostileFrame>();
            var opened = new List<string>();
            void Req(string sub, string text, bool strict)
            {
                opened.Add(sub);
                frames.Add(Text("odd text", text, strict ? Expectation.Answered(sub) : Expectation.AnsweredOrNotice(sub)));
            }
            var tag = Random.Next(1_000);
            Req($"nul\u0000{tag}", $"[\"REQ\",\"nul\\u0000{tag}\",{{\"limit\":1}}]", strict: true);
            Req($"日本語🎉{tag}", $"[\"REQ\",\"日本語🎉{tag}\",{{\"limit\":1}}]", strict: true);
            Req($"ws{tag}", $"  \n\t[ \"REQ\" ,\r\n \"ws{tag}\" , {{ \"limit\" : 1 }} ]  \n", strict: true);
            Req($"quote\"{tag}", $"[\"REQ\",\"quote\\\"{tag}\",{{\"limit\":1}}]", strict: true);
            Req($"esc{tag}", $"[\"\\u0052EQ\",\"esc{tag}\",{{\"limit\":1}}]", strict: false);
            Req($"bom{tag}", $"\uFEFF[\"REQ\",\"bom{tag}\",{{\"limit\":1}}]", strict: false);
            Req($"sur{tag}", $"[\"REQ\",\"sur{tag}\",{{\"#t\":[\"\\ud83d\"]}}]", strict: false);
            Req($"trail{tag}", $"[\"REQ\",\"trail{tag}\",{{\"limit\":1}}] trailing", strict: false);
            Req($"comment{tag}", $"[\"REQ\",\"comment{tag}\",{{\"limit\":1}}/* hi */]", strict: false);
            frames.Add(Text("odd text", "[\"REQ\",\"\\ud800\",{\"limit\":1}]", Expectation.AnsweredOrNotice("\ud800")));
            opened.Add("\ud800");
            var (id, json) = ForgedEvent(AttackKind, [], "lone \ud800 surrogate", _options.Now);
            frames.Add(Text("odd text", $"[\"EVENT\",{json}]", Expectation.Refused(id)));
            var (id2, json2) = ForgedEvent(AttackKind, [["t", "\u0000\u001f"]], "control \u0001 characters and emoji 🎉", _options.Now);
            frames.Add(Text("odd text", $"[\"EVENT\",{json2}]", Expectation.Refused(id2)));
            // CLOSE of odd ids: the lone surrogate cannot be written as UTF-8, so it is closed by its escape.
            var closes = opened.Where(s => s != "\ud800").Select(s => Close(s, "CLOSE after answers")).ToList();
            closes.Add(Text("CLOSE after answers", "[\"CLOSE\",\"\\ud800\"]", Expectation.MaybeANotice));
            return [new HostileBurst(frames), new HostileBurst(closes, Barrier: true)];
        }

        private List<HostileBurst> LongIds(int c)
        {
            var frames = new List<HostileFrame>();
            var max = _options.MaxSubscriptionIdLength;
            var exact = Sub(c);
            exact += new string('x', max - exact.Length);
            frames.Add(Text("long subscription id", $"[\"REQ\",\"{exact}\",{{\"limit\":1}}]", Expectation.Answered(exact)));
            foreach (var length in (int[])[max + 1, 1_000, 100_000])
            {
                var sub = Sub(c);
                sub += new string('s', length - sub.Length);
                frames.Add(Text("long subscription id", $"[\"REQ\",\"{sub}\",{{\"limit\":1}}]", Expectation.AnsweredOrNotice(sub) with { Prefix = "invalid:" }));
            }
            frames.Add(Text("long subscription id", $"[\"CLOSE\",\"{new string('c', 100_000)}\"]", Expectation.MaybeANotice));
            return ThenClose(frames, [exact]);
        }

        // ---------- special frames ----------

        /// <summary>Big messages and heavy events, dealt over the connections.</summary>
        public List<List<HostileBurst>> Specials()
        {
            var units = new List<List<HostileBurst>>();
            if (_options.MebibyteFrames > 0 || _options.SixteenMebibyteFrames > 0)
            {
                var mebibyte = BigEventMessage(1 << 20);
                for (var i = 0; i < _options.MebibyteFrames; i++)
                    units.Add(One([i % 4 == 3
                        ? new HostileFrame("1 MiB message", mebibyte, WebSocketMessageType.Binary, Expectation.ANotice)
                        : new HostileFrame("1 MiB message", mebibyte, WebSocketMessageType.Text, Expectation.ANotice)]));
                if (_options.SixteenMebibyteFrames > 0)
                {
                    var sixteen = BigEventMessage(16 << 20);
                    for (var i = 0; i < _options.SixteenMebibyteFrames; i++)
                        units.Add(One([new HostileFrame("16 MiB message", sixteen, WebSocketMessageType.Text, Expectation.ANotice)]));
                }
            }

            // One event at the tag limit (valid, may be stored) and one past it; one far-future created_at; one content too long.
            var tags = Enumerable.Range(0, _options.MaxEventTags).Select(i => new[] { "t", "tag" + i }).ToArray();
            var atLimit = NativeSchnorrSigner.Shared.Sign(_secretKeys[1], _options.Now, AttackKind, tags, "at the tag limit");
            units.Add(One([new HostileFrame("too many tags", EventMessage(atLimit.Json), WebSocketMessageType.Text, new Expectation(AnswerKind.Ok, atLimit.Id))]));
            var future = NativeSchnorrSigner.Shared.Sign(_secretKeys[1], long.MaxValue, AttackKind, [], "created_at 2^63-1");
            units.Add(One([new HostileFrame("huge numbers", EventMessage(future.Json), WebSocketMessageType.Text, new Expectation(AnswerKind.Ok, future.Id))]));
            return units;
        }

        /// <summary>What every connection sends once: heavy subscriptions, value and filter limits, too many tags, fragments.</summary>
        public List<List<HostileBurst>> PerConnectionSpecials(int c)
        {
            var units = new List<List<HostileBurst>>();

            // Valid but heavy: the whole store, and the largest limit. They stay open and take every live event.
            var all = Sub(c);
            var most = Sub(c);
            units.Add(One([
                Text("heavy REQ", $"[\"REQ\",\"{all}\",{{}}]", Expectation.Answered(all)),
                Text("heavy REQ", $"[\"REQ\",\"{most}\",{{\"limit\":5000}}]", Expectation.Answered(most)),
            ]));

            for (var probe = 0; probe < _options.LimitProbesPerConnection; probe++) units.Add(LimitProbes(c));

            var tooMany = Enumerable.Range(0, _options.MaxEventTags + 1).Select(i => new[] { "t", "tag" + i }).ToArray();
            var overTags = NativeSchnorrSigner.Shared.Sign(_secretKeys[2], _options.Now, AttackKind, tooMany, $"one tag too many {c}");
            units.Add(One([new HostileFrame("too many tags", EventMessage(overTags.Json), WebSocketMessageType.Text, Expectation.Refused(overTags.Id) with { Prefix = "invalid:" })]));
            var longContent = NativeSchnorrSigner.Shared.Sign(_secretKeys[2], _options.Now, AttackKind, [], new string('x', _options.MaxContentLength + 1) + c);
            units.Add(One([new HostileFrame("content too long", EventMessage(longContent.Json), WebSocketMessageType.Text, Expectation.Refused(longContent.Id) with { Prefix = "invalid:" })]));

            // A small REQ one byte per fragment, and a message past max_message_length in 4 KiB fragments.
            var fragmented = Sub(c);
            units.Add(ThenClose([
                new HostileFrame("fragmented", Utf8($"[\"REQ\",\"{fragmented}\",{{\"limit\":1}}]"), WebSocketMessageType.Text, Expectation.Answered(fragmented), FragmentBytes: 1),
                new HostileFrame("fragmented", BigEventMessage(_options.MaxMessageBytes + 40_000), WebSocketMessageType.Text, Expectation.ANotice, FragmentBytes: 4_096),
            ], [fragmented]));
            return units;
        }

        /// <summary>
        /// REQs at and past the relay's value and filter limits: 4,999 values must be harmless (answered), more than
        /// MaxFilterValues in total CLOSED "invalid:", 20 filters of 250 values answered, 21 or 1,000 filters CLOSED
        /// "invalid:", 3,000 authors or ids answered. Closed afterwards.
        /// </summary>
        private List<HostileBurst> LimitProbes(int c)
        {
            var limit = _options.MaxFilterValues;
            var frames = new List<HostileFrame>();
            var opened = new List<string>();
            void Add(string filters, bool refused, string what)
            {
                var sub = Sub(c);
                opened.Add(sub);
                frames.Add(Text(what, $"[\"REQ\",\"{sub}\",{filters}]", refused ? Expectation.ClosedAs(sub, "invalid:") : Expectation.Answered(sub)));
            }
            Add($"{{\"#t\":{Strings(limit - 1, "t")}}}", refused: false, "thousands of values");
            Add($"{{\"#t\":{Strings(limit + 1, "t")}}}", refused: true, "thousands of values");
            Add($"{{\"#t\":{Strings(10_000, "t")}}}", refused: true, "thousands of values");
            Add($"{{\"authors\":{HexList(limit / 2, 64)},\"#t\":{Strings(limit - limit / 2 + 1, "t")}}}", refused: true, "thousands of values");
            Add($"{{\"kinds\":[{string.Join(',', Enumerable.Range(0, limit + 1))}]}}", refused: true, "thousands of values");
            Add($"{{\"authors\":{HexList(3_000, 64)}}}", refused: false, "thousands of values");
            Add($"{{\"ids\":{HexList(3_000, 64)}}}", refused: false, "thousands of values");
            var perFilter = limit / _options.MaxFilters;
            Add(string.Join(',', Enumerable.Range(0, _options.MaxFilters).Select(f => $"{{\"#t\":{Strings(perFilter, "f" + f + "-")}}}")), refused: false, "thousands of filters");
            Add(string.Join(',', Enumerable.Repeat("{\"kinds\":[1]}", _options.MaxFilters + 1)), refused: true, "thousands of filters");
            Add(string.Join(',', Enumerable.Repeat("{}", 1_000)), refused: true, "thousands of filters");
            return ThenClose(frames, opened);
        }

        public List<HostileBurst> InvalidUtf8(int c)
        {
            byte[][] bad =
            [
                [0xff, 0xfe], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xc3, 0x28], [0xe2, 0x82],
            ];
            var bytes = bad[Random.Next(bad.Length)];
            var frame = Random.Next(3) switch
            {
                0 => Splice("[\"REQ\",\"", bytes, $"{Sub(c)}\",{{}}]"),
                1 => Splice("[\"EVENT\",{\"content\":\"", bytes, "\"}]"),
                _ => Splice("[\"REQ\",\"x\",{\"#t\":[\"", bytes, "\"]}]"),
            };
            return One([new HostileFrame("invalid UTF-8", frame, WebSocketMessageType.Text, Expectation.Utf8Close)], barrier: true);
        }

        // ---------- building blocks ----------

        private string Sub(int c) => $"h{c}-{_subscriptionCounters[c]++}";

        private string Hex(int length)
        {
            var chars = new char[length];
            for (var i = 0; i < length; i++) chars[i] = HexDigits[Random.Next(16)];
            return new string(chars);
        }

        private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);

        private static HostileFrame Text(string category, string text, Expectation expect) =>
            new(category, Utf8(text), WebSocketMessageType.Text, expect);

        private static HostileFrame Close(string sub, string category) =>
            new(category, Utf8($"[\"CLOSE\",{Quote(sub)}]"), WebSocketMessageType.Text, Expectation.Nothing);

        private static byte[] EventMessage(byte[] eventJson)
        {
            var frame = new byte[eventJson.Length + 10];
            "[\"EVENT\","u8.CopyTo(frame);
            eventJson.CopyTo(frame, 9);
            frame[^1] = (byte)']';
            return frame;
        }

        /// <summary><c>["EVENT",{"content":"xxx..."}]</c> of exactly <paramref name="size"/> bytes: no id, so only a NOTICE can answer it.</summary>
        private static byte[] BigEventMessage(int size)
        {
            var head = "[\"EVENT\",{\"content\":\""u8;
            var tail = "\"}]"u8;
            var frame = new byte[size];
            head.CopyTo(frame);
            frame.AsSpan(head.Length, size - head.Length - tail.Length).Fill((byte)'x');
            tail.CopyTo(frame.AsSpan(size - tail.Length));
            return frame;
        }

        private static byte[] Splice(string before, byte[] middle, string after) => [.. Utf8(before), .. middle, .. Utf8(after)];

        private string Strings(int count, string prefix)
        {
            var text = new StringBuilder(count * 8).Append('[');
            for (var i = 0; i < count; i++) text.Append(i == 0 ? "\"" : ",\"").Append(prefix).Append(i).Append('"');
            return text.Append(']').ToString();
        }

        private string HexList(int count, int length)
        {
            var text = new StringBuilder(count * (length + 3)).Append('[');
            for (var i = 0; i < count; i++) text.Append(i == 0 ? "\"" : ",\"").Append(Hex(length)).Append('"');
            return text.Append(']').ToString();
        }

        /// <summary>An event with a correct id over its fields and a random signature: only verifying it shows it is false.</summary>
        private (string Id, string Json) ForgedEvent(int kind, string[][] tags, string content, long createdAt)
        {
            var pubkey = _pubkeys[Random.Next(_pubkeys.Length)];
            var id = CanonicalJson.ComputeIdHex(pubkey, createdAt, kind, tags, content);
            return (id, Encoding.UTF8.GetString(CanonicalJson.SerializeEvent(id, pubkey, createdAt, kind, tags, content, Hex(128))));
        }

        /// <summary>An event object with the id first and one field replaced by raw JSON text.</summary>
        private string RawEvent(string id, string field, string rawValue)
        {
            var values = new Dictionary<string, string>
            {
                ["id"] = Quote(id), ["pubkey"] = Quote(_pubkeys[0]), ["created_at"] = _options.Now.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["kind"] = AttackKind.ToString(System.Globalization.CultureInfo.InvariantCulture), ["tags"] = "[]", ["content"] = "\"raw\"", ["sig"] = Quote(Hex(128)),
            };
            values[field] = rawValue;
            return "{" + string.Join(',', values.Select(v => $"\"{v.Key}\":{v.Value}")) + "}";
        }
    }
}
