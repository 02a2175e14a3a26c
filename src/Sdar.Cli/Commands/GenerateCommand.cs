using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Sdar.Decoding;
using Sdar.Runtime;

namespace Sdar.Cli.Commands;

/// <summary><c>sdar generate</c>: block diffusion (sdar) or AR (qwen3) generation, streamed or as one JSON object.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = CliParsing.ModelOption(required: false);
        model.Description = $"Model folder in HuggingFace layout; default: the bundled models/{BundledModels.DefaultName}.";
        var prompt = new Option<string?>("--prompt", "-p") { Description = "Prompt text (tokenized with the model's tokenizer).", HelpName = "TEXT" };
        var promptIds = CliParsing.IntListOption("--prompt-ids", "Prompt as token ids, comma-separated (instead of --prompt).", "IDS", minimum: 0, maximum: int.MaxValue);
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt as a user turn with the model's chat template and add the assistant prompt." };
        var system = new Option<string?>("--system") { Description = "System message for --chat.", HelpName = "TEXT" };
        var thinking = CliParsing.BooleanOption("--enable-thinking", "Chat template's enable_thinking (true|false); left undefined when not given.");
        var flags = new GenerationFlags();
        var trace = new Option<bool>("--trace") { Description = "Record, for every denoising step, the committed positions, tokens and confidences (printed with --json, else to stderr)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: token_ids, text, nfe, tokens_per_forward, tokens_per_second (and trace)." };
        var engine = new Option<EngineKind>("--engine") { Description = "Forward implementation: Fast (default) or Reference (plain, slow, for checking).", DefaultValueFactory = _ => EngineKind.Fast }.OneOf();

        var command = new Command("generate", "Generate text: block diffusion for sdar models (DESIGN section 4), autoregressive for qwen3 models.")
        {
            model, prompt, promptIds, chat, system, thinking, trace, json, engine,
        };
        flags.AddTo(command);
        var kernelFlags = new KernelFlags();
        kernelFlags.AddTo(command);
        command.SetAction((parse, cancellation) =>
        {
            bool hasText = parse.Given(prompt), hasIds = parse.Given(promptIds);
            CliParsing.Require(hasText != hasIds, "give exactly one of --prompt TEXT or --prompt-ids 1,2,3");
            CliParsing.Require(!(hasIds && parse.Given(chat)), "--chat needs --prompt TEXT, not --prompt-ids");
            CliParsing.Require(!(parse.Given(system) && !parse.Given(chat)), "--system needs --chat");
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            using var loaded = LoadedModel.Open(parse.GetValue(model) ?? BundledModels.Locate(), parse.GetValue(engine), kernelFlags.Read(parse));
            var options = flags.Read(parse, loaded.GenerationConfig) with { RecordTrace = parse.GetValue(trace) };
            int[] ids = parse.Given(promptIds)
                ? parse.GetValue(promptIds)!
                : loaded.EncodePrompt(parse.GetValue(prompt)!, parse.GetValue(chat), parse.GetValue(system), parse.GetBoolean(thinking));
            foreach (int id in ids)
                if (id >= loaded.Config.VocabSize) throw new ArgumentException($"--prompt-ids: {id} is outside the vocabulary (0..{loaded.Config.VocabSize - 1})");
            if (ids.Length == 0) throw new ArgumentException("the prompt is empty: give at least one token");
            if (!loaded.Config.IsDiffusion)
                error.WriteLine($"note: {loaded.Config.ModelType} is an autoregressive model: decoding token by token (NFE = one forward per token); diffusion flags are ignored");

            bool asJson = parse.GetValue(json);
            var decoder = loaded.Tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);
            GenerationResult? result = null;
            GenerationFlags.Validate(options, loaded.Config, ids.Length);
            foreach (var chunk in loaded.Generator.Stream(ids, options, cancellation))
            {
                if (!asJson)
                {
                    foreach (int id in chunk.TokenIds) output.Write(decoder.Push(id));
                    output.Flush();
                }
                result = chunk.Result ?? result;
            }
            if (result is null) throw new InvalidOperationException("generation ended without a result");
            string tokensText = loaded.Tokenizer.Decode(result.TokenIds, skipSpecialTokens: true);
            // A stop string cuts the text exactly; the token that straddles it is not in TokenIds, so its part
            // before the stop is printed from the result's text.
            string text = result.Text ?? tokensText;
            string decoding = loaded.Config.IsDiffusion ? "block_diffusion" : "autoregressive";
            if (asJson)
            {
                output.WriteLine(GenerationJson.Write(result, text, decoding, ids.Length, options.RecordTrace));
            }
            else
            {
                output.Write(decoder.Flush());
                output.Write(result.TextBeyond(tokensText));
                output.WriteLine();
                if (options.RecordTrace) WriteTrace(result, error);
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{decoding}] {result.GeneratedTokenCount} tokens, NFE {result.Nfe.Denoise} denoise / {result.Nfe.Total} total, {result.TokensPerForward:F2} tokens/forward, {result.TokensPerSecond:F1} tokens/s, stop: {result.StopReason}"));
            }
            return Task.FromResult(0);
        });
        return command;
    }

    private static void WriteTrace(GenerationResult result, TextWriter error)
    {
        foreach (var step in result.Trace ?? [])
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"block {step.Block} step {step.Step}: {string.Join(", ", step.Commits.Select(c => $"pos {c.Position} -> {c.TokenId} ({c.Confidence:F3})"))}"));
    }
}

/// <summary>The JSON wire format of one generation (also used by tests as a snapshot).</summary>
internal static class GenerationJson
{
    public static string Write(GenerationResult result, string text, string decoding, int promptTokens, bool withTrace)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("decoding", decoding);
            writer.WritePropertyName("token_ids");
            writer.WriteStartArray();
            foreach (int id in result.TokenIds) writer.WriteNumberValue(id);
            writer.WriteEndArray();
            writer.WriteString("text", text);
            writer.WriteStartObject("nfe");
            writer.WriteNumber("denoise", result.Nfe.Denoise);
            writer.WriteNumber("total", result.Nfe.Total);
            writer.WriteEndObject();
            writer.WriteNumber("tokens_per_forward", Math.Round(result.TokensPerForward, 4));
            writer.WriteNumber("tokens_per_second", Math.Round(result.TokensPerSecond, 2));
            writer.WriteNumber("prompt_tokens", promptTokens);
            writer.WriteNumber("generated_tokens", result.GeneratedTokenCount);
            writer.WriteString("stop_reason", result.StopReason == StopReason.Length ? "length" : "stop");
            if (result.StopTokenId is { } stop) writer.WriteNumber("stop_token_id", stop);
            if (result.StopString is { } stopString) writer.WriteString("stop_string", stopString);
            writer.WriteNumber("seed", result.Seed);
            if (withTrace)
            {
                writer.WriteStartArray("trace");
                foreach (var step in result.Trace ?? [])
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("block", step.Block);
                    writer.WriteNumber("step", step.Step);
                    writer.WriteStartArray("commits");
                    foreach (var c in step.Commits)
                    {
                        writer.WriteStartObject();
                        writer.WriteNumber("position", c.Position);
                        writer.WriteNumber("token", c.TokenId);
                        writer.WriteNumber("confidence", Math.Round(c.Confidence, 6));
                        writer.WriteEndObject();
                    }
                    writer.WriteEndArray();
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
