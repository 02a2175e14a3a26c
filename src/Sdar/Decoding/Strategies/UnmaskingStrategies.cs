using System.Collections.Concurrent;

namespace Sdar.Decoding;

/// <summary>
/// The strategies by name. A new strategy is one class plus one <see cref="Register"/> call (here for the built-in
/// ones, or from the caller's code for its own).
/// </summary>
public static class UnmaskingStrategies
{
    private static readonly ConcurrentDictionary<string, Func<GenerationOptions, IUnmaskingStrategy>> Factories =
        new(StringComparer.Ordinal)
        {
            [SequentialStrategy.StrategyName] = _ => new SequentialStrategy(),
            [LowConfidenceStaticStrategy.StrategyName] = _ => new LowConfidenceStaticStrategy(),
            [LowConfidenceDynamicStrategy.StrategyName] = o => new LowConfidenceDynamicStrategy(o.ConfidenceThreshold),
            [EntropyBoundedStrategy.StrategyName] = o => new EntropyBoundedStrategy(o.EbThreshold),
        };

    /// <summary>The registered names, sorted.</summary>
    public static IReadOnlyList<string> Names => Factories.Keys.Order(StringComparer.Ordinal).ToArray();

    public static bool IsKnown(string? name) => name is not null && Factories.ContainsKey(name);

    /// <summary>Adds (or replaces) the strategy called <paramref name="name"/>.</summary>
    public static void Register(string name, Func<GenerationOptions, IUnmaskingStrategy> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Factories[name] = factory ?? throw new ArgumentNullException(nameof(factory));
    }

    /// <summary>The strategy <paramref name="options"/> names, configured from its thresholds.</summary>
    public static IUnmaskingStrategy Create(GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Factories.TryGetValue(options.Strategy ?? "", out var factory))
            throw new ArgumentException(
                $"Strategy (remasking_strategy) '{options.Strategy}' is unknown; expected one of: {string.Join(", ", Names)}");
        return factory(options);
    }
}
