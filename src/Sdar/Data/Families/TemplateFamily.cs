namespace Sdar.Data.Families;

/// <summary>A task family backed by one template function.</summary>
internal sealed class TemplateFamily(string name, Func<Random, TaskItem> generate) : ITaskFamily
{
    public string Name { get; } = name;

    public TaskItem Generate(Random rng) => generate(rng);

    public override string ToString() => Name;
}
