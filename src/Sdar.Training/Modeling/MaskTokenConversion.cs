using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sdar.Config;
using Sdar.Tokenization;
using static TorchSharp.torch;

namespace Sdar.Training.Modeling;

/// <summary>
/// Turns an AR (Qwen3) checkpoint into the starting point of an SDAR model (DESIGN sections 3 and 5): model_type
/// "sdar" with <c>block_size</c> and <c>mask_token_id</c>. When the tokenizer has no mask token, <c>&lt;|MASK|&gt;</c>
/// is added as a special token after the last id, with a new embedding (and head) row when the vocabulary has no
/// spare row for it; the new rows start as the mean of the existing ones.
/// </summary>
public static class MaskTokenConversion
{
    public const string MaskToken = "<|MASK|>";
    /// <summary>Spellings of a mask token already in a tokenizer (SDAR's own files use both).</summary>
    private static readonly string[] KnownMaskTokens = [MaskToken, "<MASK>"];

    /// <summary>The SDAR config of <paramref name="arConfig"/> with a mask token id and a vocabulary size.</summary>
    public static ModelConfig SdarConfig(ModelConfig arConfig, int blockLength, int maskTokenId, int vocabSize) => arConfig with
    {
        ModelType = arConfig.ModelType.EndsWith("_moe", StringComparison.Ordinal) ? "sdar_moe" : "sdar",
        BlockSize = blockLength,
        MaskTokenId = maskTokenId,
        VocabSize = vocabSize,
    };

    /// <summary>The id of the tokenizer's mask token, if it has one.</summary>
    public static int? FindMaskToken(HfTokenizer tokenizer) =>
        KnownMaskTokens.Select(t => tokenizer.AddedTokens.FirstOrDefault(a => a.Content == t)?.Id).FirstOrDefault(id => id is not null);

    /// <summary>
    /// Converts <paramref name="arModel"/> (loaded from <paramref name="arDirectory"/>) and writes the tokenizer files
    /// the SDAR model uses to <paramref name="tokenizerOut"/>. Returns the SDAR module (a new one when rows were added).
    /// </summary>
    public static Qwen3ForCausalLM Convert(Qwen3ForCausalLM arModel, string arDirectory, int blockLength, string tokenizerOut)
    {
        var tokenizer = HfTokenizer.FromDirectory(arDirectory);
        Directory.CreateDirectory(tokenizerOut);
        ModelFolder.CopyTokenizer(arDirectory, tokenizerOut);
        int maskId = FindMaskToken(tokenizer) ?? AddMaskToken(tokenizerOut, tokenizer.VocabSize);
        int vocab = Math.Max(arModel.Config.VocabSize, maskId + 1);
        var config = SdarConfig(arModel.Config, blockLength, maskId, vocab);
        var sdar = new Qwen3ForCausalLM(config);
        using var _ = no_grad();
        var source = arModel.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        foreach (var (name, parameter) in sdar.named_parameters())
        {
            var old = source[name];
            if (old.shape.SequenceEqual(parameter.shape))
            {
                parameter.copy_(old);
                continue;
            }
            // The embedding or head gained rows: keep the old ones, start the new ones at the mean row.
            long oldRows = old.shape[0];
            parameter[..(int)oldRows].copy_(old);
            parameter[(int)oldRows..].copy_(old.mean([0], keepdim: true).expand(parameter.shape[0] - oldRows, -1));
        }
        return sdar;
    }

    /// <summary>Adds <c>&lt;|MASK|&gt;</c> with id <paramref name="id"/> to the tokenizer files in <paramref name="dir"/>.</summary>
    public static int AddMaskToken(string dir, int id)
    {
        var entry = new JsonObject
        {
            ["id"] = id, ["content"] = MaskToken, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
            ["normalized"] = false, ["special"] = true,
        };
        string tokenizerPath = Path.Combine(dir, "tokenizer.json");
        var tokenizer = JsonNode.Parse(File.ReadAllText(tokenizerPath))!.AsObject();
        if (tokenizer["added_tokens"] is not JsonArray added)
            tokenizer["added_tokens"] = added = [];
        added.Add(entry);
        Write(tokenizerPath, tokenizer);

        string configPath = Path.Combine(dir, "tokenizer_config.json");
        if (File.Exists(configPath))
        {
            var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
            if (config["added_tokens_decoder"] is not JsonObject decoder)
                config["added_tokens_decoder"] = decoder = [];
            var decoderEntry = entry.DeepClone().AsObject();
            decoderEntry.Remove("id");
            decoder[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = decoderEntry;
            config["mask_token"] = MaskToken;
            Write(configPath, config);
        }
        return id;
    }

    private static void Write(string path, JsonObject json)
    {
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(path, json.ToJsonString(options) + "\n");
    }
}
