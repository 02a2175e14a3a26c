using System.Text.Json;
using Sdar.Tokenization;

namespace Sdar.Tests.Tokenization;

/// <summary>The real Qwen3 tokenizer (151k tokens, 151k merges), loaded once per test class.</summary>
public sealed class Qwen3TokenizerFixture
{
    public static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "fixtures", "qwen3-tokenizer");

    public Qwen3TokenizerFixture() => Tokenizer = HfTokenizer.Load(Path.Combine(Folder, "tokenizer.json"));

    public HfTokenizer Tokenizer { get; }

    /// <summary>Reference encodings from an independent implementation, cross-checked with HuggingFace tokenizers.</summary>
    public static IReadOnlyList<ReferenceCase> Cases { get; } = LoadCases();

    public static TheoryData<int> CaseIndices => new(Enumerable.Range(0, Cases.Count));

    private static List<ReferenceCase> LoadCases()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "cases.json")));
        return doc.RootElement.EnumerateArray()
            .Select(c => new ReferenceCase(
                c.GetProperty("text").GetString()!,
                c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("decoded").GetString()!))
            .ToList();
    }
}

public sealed record ReferenceCase(string Text, int[] Ids, string Decoded);
