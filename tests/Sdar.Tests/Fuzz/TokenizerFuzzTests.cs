using System.Text;
using System.Text.Json.Nodes;
using Sdar.Templates;
using Sdar.Tokenization;
using Xunit.Abstractions;

namespace Sdar.Tests.Fuzz;

/// <summary>
/// Seeded mutants of real tokenizer.json and tokenizer_config.json files: every one loads (and then encodes,
/// decodes and renders its chat template) or fails with an <see cref="SdarException"/>; never another
/// exception, a hang or unbounded memory.
/// </summary>
public sealed class TokenizerFuzzTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures");
    private static readonly string Qwen3Folder = Path.Combine(Fixtures, "qwen3-tokenizer");
    private static readonly string TinySdarFolder = Path.Combine(Fixtures, "sdar-golden", "tiny-sdar");

    private static readonly string[] SampleTexts =
        ["Hello world! 123 4567", "<|im_start|>user\n你好 🍕 Zürich<|im_end|>\n", "  \n\n\t x's 'll  ", "aaaaaaaaaaaaaaaaaaaaaaaaab"];

    /// <summary>Qwen3's real tokenizer.json with its model cut to the first 2,000 ids (mutating 11 MB thousands of times is too slow).</summary>
    private static readonly Lazy<string> ReducedQwen3 = new(() => Reduce(File.ReadAllText(Path.Combine(Qwen3Folder, "tokenizer.json")), 2000));

    private readonly string _folder = Directory.CreateTempSubdirectory("sdar-tokenizer-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Reduce(string json, int keepIds)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        var root = new JsonObject();
        foreach (var property in document.RootElement.EnumerateObject())
            if (property.Name != "model") root[property.Name] = JsonNode.Parse(property.Value.GetRawText());
        var model = new JsonObject();
        var vocab = new JsonObject();
        foreach (var property in document.RootElement.GetProperty("model").EnumerateObject())
        {
            if (property.Name == "vocab")
            {
                foreach (var entry in property.Value.EnumerateObject())
                    if (entry.Value.GetInt32() < keepIds) vocab[entry.Name] = entry.Value.GetInt32();
                model["vocab"] = vocab;
            }
            else if (property.Name == "merges")
            {
                var merges = new JsonArray();
                foreach (var merge in property.Value.EnumerateArray())
                {
                    string[] parts = merge.ValueKind == System.Text.Json.JsonValueKind.Array
                        ? [merge[0].GetString()!, merge[1].GetString()!]
                        : merge.GetString()!.Split(' ');
                    if (vocab.ContainsKey(parts[0]) && vocab.ContainsKey(parts[1]) && vocab.ContainsKey(parts[0] + parts[1]))
                        merges.Add(JsonNode.Parse(merge.GetRawText()));
                }
                model["merges"] = merges;
            }
            else
            {
                model[property.Name] = JsonNode.Parse(property.Value.GetRawText());
            }
        }
        root["model"] = model;
        return root.ToJsonString();
    }

    /// <summary>Loads the tokenizer.json at <paramref name="path"/> and exercises it the way generation does.</summary>
    private static void LoadAndUse(string path)
    {
        HfTokenizer tokenizer = HfTokenizer.Load(path);
        foreach (string text in SampleTexts)
        {
            IReadOnlyList<int> ids = tokenizer.Encode(text);
            tokenizer.Decode(ids);
            tokenizer.Decode(ids, skipSpecialTokens: true);
        }
        foreach (AddedToken token in tokenizer.AddedTokens.Take(20))
            tokenizer.Encode("a" + token.Content + "b");
        tokenizer.Decode([0, tokenizer.VocabSize - 1, tokenizer.VocabSize, -1]);
    }

    private void FuzzTokenizerBytes(string kind, byte[] original, int seed, int count)
    {
        var harness = new FuzzHarness(kind, seed) { MessageMustName = Path.Combine(_folder, "tokenizer.json") };
        var mutator = new Mutator(seed, Mutator.JsonSnippets);
        string path = Path.Combine(_folder, "tokenizer.json");
        for (int i = 0; i < count; i++)
        {
            byte[] mutant = mutator.Mutate(original, out string mutation);
            File.WriteAllBytes(path, mutant);
            harness.Run(i, mutation, () => LoadAndUse(path));
        }
        output.WriteLine(harness.ToString());
        harness.AssertNoFailures();
    }

    private void FuzzTokenizerStructure(string kind, string original, int seed, int count)
    {
        var harness = new FuzzHarness(kind, seed) { MessageMustName = Path.Combine(_folder, "tokenizer.json") };
        var mutator = new Mutator(seed, Mutator.JsonSnippets);
        string path = Path.Combine(_folder, "tokenizer.json");
        for (int i = 0; i < count; i++)
        {
            string mutant = JsonMutations.Mutate(original, mutator, out string mutation);
            File.WriteAllText(path, mutant);
            harness.Run(i, mutation, () => LoadAndUse(path));
        }
        output.WriteLine(harness.ToString());
        harness.AssertNoFailures();
    }

    [Fact]
    public void Byte_mutants_of_the_tiny_sdar_tokenizer_load_or_fail_with_an_sdar_exception() =>
        FuzzTokenizerBytes("tiny-sdar tokenizer.json (bytes)", File.ReadAllBytes(Path.Combine(TinySdarFolder, "tokenizer.json")), seed: 1, count: 700);

    [Fact]
    public void Structural_mutants_of_the_tiny_sdar_tokenizer_load_or_fail_with_an_sdar_exception() =>
        FuzzTokenizerStructure("tiny-sdar tokenizer.json (structure)", File.ReadAllText(Path.Combine(TinySdarFolder, "tokenizer.json")), seed: 2, count: 400);

    [Fact]
    public void Byte_mutants_of_the_reduced_qwen3_tokenizer_load_or_fail_with_an_sdar_exception() =>
        FuzzTokenizerBytes("reduced Qwen3 tokenizer.json (bytes)", Encoding.UTF8.GetBytes(ReducedQwen3.Value), seed: 3, count: 300);

    [Fact]
    public void Structural_mutants_of_the_reduced_qwen3_tokenizer_load_or_fail_with_an_sdar_exception() =>
        FuzzTokenizerStructure("reduced Qwen3 tokenizer.json (structure)", ReducedQwen3.Value, seed: 4, count: 200);

    [Fact]
    public void Mutants_of_the_full_qwen3_tokenizer_header_load_or_fail_with_an_sdar_exception()
    {
        // The 11 MB file takes about a second to load, so only a few mutants, each in the first 40 KB where the
        // added tokens, normalizer and pre-tokenizer are (the model's vocabulary and merges follow).
        byte[] original = File.ReadAllBytes(Path.Combine(Qwen3Folder, "tokenizer.json"));
        const int seed = 5;
        var harness = new FuzzHarness("full Qwen3 tokenizer.json header (bytes)", seed)
        {
            MaxTimePerMutant = TimeSpan.FromSeconds(15),
            MessageMustName = Path.Combine(_folder, "tokenizer.json"),
        };
        var mutator = new Mutator(seed, Mutator.JsonSnippets);
        string path = Path.Combine(_folder, "tokenizer.json");
        byte[] head = original[..40_000];
        for (int i = 0; i < 4; i++)
        {
            byte[] mutant = [.. mutator.Mutate(head, out string mutation), .. original[40_000..]];
            File.WriteAllBytes(path, mutant);
            harness.Run(i, mutation, () => LoadAndUse(path));
        }
        output.WriteLine(harness.ToString());
        harness.AssertNoFailures();
    }

    /// <summary>Reads a tokenizer_config.json as a model folder does, then parses and renders its chat template.</summary>
    private static void ReadConfigAndRenderTemplate(string path)
    {
        TokenizerConfig config = TokenizerConfig.Read(path);
        if (config.ChatTemplate is not { } source) return;
        var template = ChatTemplate.Parse(source, config.ChatTemplateOrigin, FuzzLimits.Template);
        template.RenderChat(
            [ChatMessages.Message("system", "Be brief."), ChatMessages.Message("user", "Hi"), ChatMessages.Message("assistant", "Hello")],
            addGenerationPrompt: true, bosToken: config.BosToken ?? "", eosToken: config.EosToken ?? "");
    }

    [Theory]
    [InlineData("qwen3-tokenizer", 6, 700)]
    [InlineData("sdar-golden/tiny-sdar", 7, 500)]
    public void Byte_mutants_of_tokenizer_config_load_or_fail_with_an_sdar_exception(string folder, int seed, int count)
    {
        byte[] original = File.ReadAllBytes(Path.Combine(Fixtures, folder, "tokenizer_config.json"));
        var harness = new FuzzHarness($"{folder} tokenizer_config.json (bytes)", seed) { MessageMustName = Path.Combine(_folder, "tokenizer_config.json") };
        var mutator = new Mutator(seed, [.. Mutator.JsonSnippets, .. Mutator.TemplateSnippets.Select(s => s.Replace("\"", "\\\"", StringComparison.Ordinal))]);
        string path = Path.Combine(_folder, "tokenizer_config.json");
        for (int i = 0; i < count; i++)
        {
            File.WriteAllBytes(path, mutator.Mutate(original, out string mutation));
            harness.Run(i, mutation, () => ReadConfigAndRenderTemplate(path));
        }
        output.WriteLine(harness.ToString());
        harness.AssertNoFailures();
    }

    [Fact]
    public void Structural_mutants_of_tokenizer_config_load_or_fail_with_an_sdar_exception()
    {
        string original = File.ReadAllText(Path.Combine(Qwen3Folder, "tokenizer_config.json"));
        const int seed = 8;
        var harness = new FuzzHarness("qwen3 tokenizer_config.json (structure)", seed) { MessageMustName = Path.Combine(_folder, "tokenizer_config.json") };
        var mutator = new Mutator(seed, Mutator.JsonSnippets);
        string path = Path.Combine(_folder, "tokenizer_config.json");
        for (int i = 0; i < 500; i++)
        {
            File.WriteAllText(path, JsonMutations.Mutate(original, mutator, out string mutation));
            harness.Run(i, mutation, () => ReadConfigAndRenderTemplate(path));
        }
        output.WriteLine(harness.ToString());
        harness.AssertNoFailures();
    }
}

/// <summary>Limits for fuzzed templates: the defaults, with a shorter clock so a slow mutant cannot stall the run.</summary>
internal static class FuzzLimits
{
    public static readonly TemplateLimits Template = new() { MaxRenderTime = TimeSpan.FromSeconds(1), MaxAllocatedBytes = 256_000_000 };
}
