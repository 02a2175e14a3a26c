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
        var model = CliParsing.ModelOption();
        var prompt = new Option<string?>("--prompt", "-p") { Description = "Prompt text (tokenized with the model's tokenizer).", HelpName = "TEXT" };
        var promptIds = CliParsing.IntListOption("--prompt-ids", "Prompt as token ids, comma-separated (instead of --prompt).", "IDS", minimum: 0);
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt as a user turn with the model's chat template and add the assistant prompt." };
        var system = new Option<string?>("--system") { Description = "System message for --chat.", HelpName = "TEXT" };
        var thinking = new Option<bool?>("--enable-thinking") { Description = "Chat template's enable_thinking (true|false); left undefined when not given.", HelpName = "BOOL" };
        var maxNew = new Option<int>("--max-new-tokens", "-n") { Description = "Most tokens to generate.", DefaultValueFactory = _ => 256, HelpName = "N" };
        maxNew.AtLeast(1);
        var blockLength = new Option<int?>("--block-length", "-b") { Description = "Block length B (tokens per diffusion block); default: the model's block_size.", HelpName = "B" };
        blockLength.AtLeast(1);
        var steps = new Option<int?>("--steps", "-s") { Description = "Denoising steps S per block (1..B); default: B. Each step commits B/S tokens (+1 for the first B mod S steps).", HelpName = "S" };
        steps.AtLeast(1);
        var strategy = new Option<string>("--strategy") { Description = "Unmasking strategy: sequential, low_confidence_static, low_confidence_dynamic, entropy_bounded.", DefaultValueFactory = _ => GenerationOptions.DefaultStrategy, HelpName = "NAME" };
        strategy.AcceptOnlyFromAmong([.. UnmaskingStrategies.Names]);
        var threshold = new Option<double?>("--threshold") { Description = "low_confidence_dynamic: commit every masked position with confidence above this (default 0.9).", HelpName = "X" };
        threshold.InRange(0, 1, lowExclusive: true);
        var ebThreshold = new Option<double?>("--eb-threshold") { Description = "entropy_bounded: entropy budget per step in nats (default 0.35).", HelpName = "X" };
        ebThreshold.InRange(0, double.MaxValue, lowExclusive: true);
        var temperature = new Option<double?>("--temperature", "-t") { Description = "Sampling temperature; 0 = greedy. Default: generation_config.json, else 1.0.", HelpName = "X" };
        temperature.InRange(0, double.MaxValue, lowExclusive: false);
        var topK = new Option<int?>("--top-k") { Description = "Draw only from the k most likely tokens; 0 = off. Default: generation_config.json, else 0.", HelpName = "K" };
        topK.AtLeast(0);
        var topP = new Option<double?>("--top-p") { Description = "Nucleus sampling: draw from the smallest set with this cumulative probability; 1 = off. Default: generation_config.json, else 1.0.", HelpName = "P" };
        topP.InRange(0, 1, lowExclusive: true);
        var seed = new Option<long?>("--seed") { Description = "Random seed (reproducible sampling); default: a fresh one, reported with --json.", HelpName = "N" };
        var stopIds = CliParsing.IntListOption("--stop-token-ids", "Extra stop token ids, besides generation_config.json's eos_token_id.", "IDS", minimum: 0);
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Do not stop at stop tokens: generate exactly --max-new-tokens tokens." };
        var trace = new Option<bool>("--trace") { Description = "Record, for every denoising step, the committed positions, tokens and confidences (printed with --json, else to stderr)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: token_ids, text, nfe, tokens_per_forward, tokens_per_second (and trace)." };
        var engine = new Option<EngineKind>("--engine") { Description = "Forward implementation: Fast (default) or Reference (plain, slow, for checking).", DefaultValueFactory = _ => EngineKind.Fast };

        var command = new Command("generate", "Generate text: block diffusion for sdar models (DESIGN section 4), autoregressive for qwen3 models.")
        {
            model, prompt, promptIds, chat, system, thinking, maxNew, blockLength, steps, strategy, threshold, ebThreshold,
            temperature, topK, topP, seed, stopIds, ignoreEos, trace, json, engine,
        };
        command.Validators.Add(r =>
        {
            bool hasText = r.GetResult(prompt) is not null, hasIds = r.GetResult(promptIds) is not null;
            if (hasText == hasIds) r.AddError("give exactly one of --prompt TEXT or --prompt-ids 1,2,3");
            if (hasIds && r.GetResult(chat) is not null) r.AddError("--chat needs --prompt TEXT, not --prompt-ids");
            if (r.GetResult(system) is not null && r.GetResult(chat) is null) r.AddError("--system needs --chat");
        });

        command.SetAction((parse, cancellation) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            using var loaded = LoadedModel.Open(parse.GetValue(model)!, parse.GetValue(engine));
            var generation = loaded.GenerationConfig;
            bool greedyByDefault = generation.DoSample == false;
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxNew),
                BlockLength = parse.GetValue(blockLength),
                DenoisingSteps = parse.GetValue(steps),
                Strategy = parse.GetValue(strategy)!,
                ConfidenceThreshold = parse.GetValue(threshold) ?? 0.9,
                EbThreshold = parse.GetValue(ebThreshold) ?? 0.35,
                Temperature = parse.GetValue(temperature) ?? (greedyByDefault ? 0 : generation.Temperature ?? 1.0),
                TopK = parse.GetValue(topK) ?? generation.TopK ?? 0,
                TopP = parse.GetValue(topP) ?? generation.TopP ?? 1.0,
                Seed = parse.GetValue(seed),
                StopTokenIds = parse.GetValue(stopIds) ?? [],
                IgnoreEos = parse.GetValue(ignoreEos),
                RecordTrace = parse.GetValue(trace),
            };
            int[] ids = parse.GetResult(promptIds) is not null
                ? parse.GetValue(promptIds)!
                : loaded.EncodePrompt(parse.GetValue(prompt)!, parse.GetValue(chat), parse.GetValue(system), parse.GetValue(thinking));
            foreach (int id in ids)
                if (id >= loaded.Config.VocabSize) throw new ArgumentException($"--prompt-ids: {id} is outside the vocabulary (0..{loaded.Config.VocabSize - 1})");
            if (ids.Length == 0) throw new ArgumentException("the prompt is empty: give at least one token");
            if (!loaded.Config.IsDiffusion)
                error.WriteLine($"note: {loaded.Config.ModelType} is an autoregressive model: decoding token by token (NFE = one forward per token); diffusion flags are ignored");

            bool asJson = parse.GetValue(json);
            var decoder = loaded.Tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);
            GenerationResult? result = null;
            foreach (var chunk in StreamWithFlagNames(loaded.Generator, ids, options, cancellation))
            {
                if (!asJson)
                {
                    foreach (int id in chunk.TokenIds) output.Write(decoder.Push(id));
                    output.Flush();
                }
                result = chunk.Result ?? result;
            }
            if (result is null) throw new InvalidOperationException("generation ended without a result");
            string text = loaded.Tokenizer.Decode(result.TokenIds, skipSpecialTokens: true);
            string decoding = loaded.Config.IsDiffusion ? "block_diffusion" : "autoregressive";
            if (asJson)
            {
                output.WriteLine(GenerationJson.Write(result, text, decoding, ids.Length, options.RecordTrace));
            }
            else
            {
                output.Write(decoder.Flush());
                output.WriteLine();
                if (options.RecordTrace) WriteTrace(result, error);
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{decoding}] {result.GeneratedTokenCount} tokens, NFE {result.Nfe.Denoise} denoise / {result.Nfe.Total} total, {result.TokensPerForward:F2} tokens/forward, {result.TokensPerSecond:F1} tokens/s, stop: {result.StopReason}"));
            }
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>The library names options by their official knob names; on the command line they are flags.</summary>
    private static readonly (string Knob, string Flag)[] FlagNames =
    [
        ("MaxNewTokens (max_new_tokens)", "--max-new-tokens"), ("BlockLength (block_length)", "--block-length"),
        ("DenoisingSteps (denoising_steps)", "--steps"), ("Strategy (remasking_strategy)", "--strategy"),
        ("ConfidenceThreshold (confidence_threshold)", "--threshold"), ("EbThreshold (eb_threshold)", "--eb-threshold"),
        ("Temperature (temperature)", "--temperature"), ("TopK (top_k)", "--top-k"), ("TopP (top_p)", "--top-p"),
        ("StopTokenIds (stop_token_ids)", "--stop-token-ids"),
    ];

    private static IEnumerable<GeneratedChunk> StreamWithFlagNames(Generator generator, int[] ids, GenerationOptions options, CancellationToken cancellation)
    {
        IEnumerable<GeneratedChunk> chunks;
        try
        {
            // Options are validated when the stream is created, before any forward.
            chunks = generator.Stream(ids, options, cancellation);
        }
        catch (ArgumentException e)
        {
            string message = e.Message;
            foreach (var (knob, flag) in FlagNames) message = message.Replace(knob, flag, StringComparison.Ordinal);
            throw new ArgumentException(message, e);
        }
        return chunks;
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
            writer.WriteString("stop_reason", result.StopReason == StopReason.StopToken ? "stop" : "length");
            if (result.StopTokenId is { } stop) writer.WriteNumber("stop_token_id", stop);
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
