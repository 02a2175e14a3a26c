namespace Sdar.Runtime;

/// <summary>
/// The models this repository ships (<c>models/</c>), so that generation works on a fresh clone with no download.
/// Found by walking up from the running program (the CLI runs from <c>src/Sdar.Cli/bin/...</c> inside the clone),
/// or from the folder named by the <c>SDAR_MODELS</c> environment variable.
/// </summary>
public static class BundledModels
{
    /// <summary>The block-diffusion model converted from the AR parent: the default of <c>sdar generate</c>.</summary>
    public const string DefaultName = "sdar-mini";

    /// <summary>Its autoregressive parent.</summary>
    public const string ParentName = "sdar-mini-ar";

    /// <summary>The folder of bundled model <paramref name="name"/>, or an error saying where it was looked for.</summary>
    public static string Locate(string name = DefaultName)
    {
        var searched = new List<string>();
        if (Environment.GetEnvironmentVariable("SDAR_MODELS") is { Length: > 0 } root)
        {
            string candidate = Path.Combine(root, name);
            if (File.Exists(Path.Combine(candidate, "config.json"))) return candidate;
            searched.Add(candidate);
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "models", name);
            if (File.Exists(Path.Combine(candidate, "config.json"))) return candidate;
        }
        searched.Add($"models/{name} in the folders above {AppContext.BaseDirectory}");
        throw new CheckpointException(
            $"no --model given and the bundled model '{name}' was not found (looked in {string.Join("; ", searched)}); pass --model DIR");
    }
}
