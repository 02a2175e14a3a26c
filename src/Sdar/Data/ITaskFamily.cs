namespace Sdar.Data;

/// <summary>A generator of one kind of verifiable task. Every draw comes from <paramref name="rng"/> only, so a
/// seeded <see cref="Random"/> reproduces the same tasks.</summary>
public interface ITaskFamily
{
    /// <summary>The family name; a <see cref="TaskItem.Family"/> is this name or starts with it and a dot.</summary>
    string Name { get; }

    TaskItem Generate(Random rng);
}
