using System.Text;
using YamlDotNet.RepresentationModel;

namespace NostrRelay.EndToEnd.Tests.Deploy;

/// <summary>The objects a kustomization renders, with the relay's workloads found by the mode they run in.</summary>
internal sealed class RenderedObjects(IReadOnlyList<YamlMappingNode> objects)
{
    private static readonly HashSet<string> WorkloadKinds = ["Deployment", "StatefulSet", "DaemonSet"];

    public IReadOnlyList<YamlMappingNode> All => objects;

    public IEnumerable<YamlMappingNode> OfKind(string kind) => objects.Where(o => o.Text("kind") == kind);

    public YamlMappingNode? Find(string kind, string name) => OfKind(kind).FirstOrDefault(o => o.Text("metadata", "name") == name);

    /// <summary>Every workload container that sets <c>Relay__Mode</c>, directly or through envFrom.</summary>
    public IReadOnlyList<RelayContainer> RelayContainers()
    {
        var found = new List<RelayContainer>();
        foreach (var workload in objects.Where(o => WorkloadKinds.Contains(o.Text("kind") ?? "")))
        {
            foreach (var container in workload.Items("spec", "template", "spec", "containers"))
            {
                var env = EnvironmentOf(container);
                if (env.ContainsKey("Relay__Mode")) found.Add(new RelayContainer(workload, container, env));
            }
        }
        return found;
    }

    /// <summary>The one workload whose relay container runs in this mode.</summary>
    public RelayContainer InMode(string mode)
    {
        var matching = RelayContainers().Where(c => c.Env["Relay__Mode"].Value == mode).ToList();
        Assert.True(matching.Count == 1, $"expected one workload with Relay__Mode={mode}, found {matching.Count}");
        return matching[0];
    }

    /// <summary>The decoded value of one key of a rendered Secret, or null when the Secret or key is missing.</summary>
    public string? SecretValue(string name, string key)
    {
        var secret = Find("Secret", name);
        if (secret is null) return null;
        if (secret.Text("stringData", key) is { } plain) return plain;
        return secret.Text("data", key) is { } encoded ? Encoding.UTF8.GetString(Convert.FromBase64String(encoded)) : null;
    }

    /// <summary>A container's environment as Kubernetes builds it: envFrom first, then env, which wins.</summary>
    public Dictionary<string, EnvValue> EnvironmentOf(YamlNode container)
    {
        var env = new Dictionary<string, EnvValue>(StringComparer.Ordinal);
        foreach (var source in container.Items("envFrom"))
        {
            if (source.Text("configMapRef", "name") is { } configMap)
            {
                var map = Find("ConfigMap", configMap) ?? throw new InvalidOperationException($"envFrom names ConfigMap {configMap}, which is not rendered");
                foreach (var (key, value) in map.Map("data")) env[key] = new EnvValue(value, null);
            }
            else if (source.Text("secretRef", "name") is { } secret)
            {
                var map = Find("Secret", secret) ?? throw new InvalidOperationException($"envFrom names Secret {secret}, which is not rendered");
                foreach (var key in map.Map("data").Keys.Concat(map.Map("stringData").Keys)) env[key] = new EnvValue(null, source);
            }
        }
        foreach (var variable in container.Items("env"))
        {
            env[variable.Text("name")!] = new EnvValue(variable.Text("value"), variable.At("valueFrom"));
        }
        return env;
    }
}

/// <summary>A plain value, or where the value comes from (fieldRef, secretKeyRef, an envFrom Secret).</summary>
internal sealed record EnvValue(string? Value, YamlNode? ValueFrom);

/// <summary>A relay container and the workload and pod template it runs in.</summary>
internal sealed record RelayContainer(YamlMappingNode Workload, YamlNode Container, IReadOnlyDictionary<string, EnvValue> Env)
{
    public string Name => $"{Workload.Text("kind")}/{Workload.Text("metadata", "name")}";

    public YamlNode PodSpec => Workload.At("spec", "template", "spec")!;

    public IReadOnlyDictionary<string, string?> PodLabels => Workload.Map("spec", "template", "metadata", "labels");

    /// <summary>A probe's or Service's port, named or numbered, as the container port number it means.</summary>
    public int? ResolvePort(string? port)
    {
        if (port is null) return null;
        if (int.TryParse(port, out var number)) return number;
        var named = Container.Items("ports").FirstOrDefault(p => p.Text("name") == port);
        return named?.Text("containerPort") is { } value ? int.Parse(value) : null;
    }

    public EnvValue Variable(string name)
    {
        Assert.True(Env.TryGetValue(name, out var value), $"{Name} does not set {name}");
        return value;
    }

    public IReadOnlyList<int> ContainerPorts => Container.Items("ports").Select(p => int.Parse(p.Text("containerPort")!)).ToList();
}
