using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace NostrRelay.EndToEnd.Tests.Deploy;

/// <summary>Reads YAML documents (merge keys resolved, as Compose does) and walks them by key.</summary>
internal static class Yaml
{
    public static IReadOnlyList<YamlMappingNode> LoadDocuments(string text)
    {
        var stream = new YamlStream();
        stream.Load(new MergingParser(new Parser(new StringReader(text))));
        var documents = new List<YamlMappingNode>();
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is YamlMappingNode mapping) documents.Add(mapping);
        }
        return documents;
    }

    /// <summary>The node under the path of keys, or null where a key is missing.</summary>
    public static YamlNode? At(this YamlNode node, params string[] path)
    {
        var current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out var next)) return null;
            current = next;
        }
        return current;
    }

    public static string? Text(this YamlNode node, params string[] path) => (node.At(path) as YamlScalarNode)?.Value;

    public static IReadOnlyList<YamlNode> Items(this YamlNode node, params string[] path) =>
        node.At(path) is YamlSequenceNode sequence ? sequence.Children.ToList() : [];

    public static IReadOnlyDictionary<string, string?> Map(this YamlNode node, params string[] path)
    {
        var map = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (node.At(path) is YamlMappingNode mapping)
        {
            foreach (var (key, value) in mapping.Children) map[((YamlScalarNode)key).Value!] = (value as YamlScalarNode)?.Value;
        }
        return map;
    }
}
