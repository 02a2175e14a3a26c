using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Sdar.Config;
using Sdar.Decoding;

namespace Sdar.Cli.Commands;

/// <summary>The decoding flags shared by <c>generate</c> and <c>eval</c>, read into <see cref="GenerationOptions"/>.</summary>
internal sealed class GenerationFlags
{
    private readonly Option<int> _maxNew;
    private readonly Option<int?> _blockLength, _steps, _topK, _penaltyLastN;
    private readonly Option<string> _strategy;
    private readonly Option<double?> _threshold, _ebThreshold, _temperature, _topP, _minP;
    private readonly Option<double?> _repetitionPenalty, _presencePenalty, _frequencyPenalty;
    private readonly Option<Dictionary<int, double>> _logitBias;
    private readonly Option<long?> _seed;
    private readonly Option<int[]> _stopIds;
    private readonly Option<string[]> _stop;
    private readonly Option<bool> _ignoreEos;
    private readonly Option<string?> _fusedCommit;

    public GenerationFlags(int defaultMaxNewTokens = 256, string temperatureDefaultText = "generation_config.json, else 1.0")
    {
        _maxNew = new Option<int>("--max-new-tokens", "-n") { Description = "Most tokens to generate.", DefaultValueFactory = _ => defaultMaxNewTokens, HelpName = "N" };
        _maxNew.Integer(1, CliParsing.MaxTokens);
        _blockLength = new Option<int?>("--block-length", "-b") { Description = "Block length B (tokens per diffusion block); default: the model's block_size.", HelpName = "B" };
        _blockLength.Integer(1, CliParsing.MaxTokens);
        _steps = new Option<int?>("--steps", "-s") { Description = "Denoising steps S per block (1..B); default: B. Each step commits B/S tokens (+1 for the first B mod S steps).", HelpName = "S" };
        _steps.Integer(1, CliParsing.MaxTokens);
        _strategy = new Option<string>("--strategy") { Description = "Unmasking strategy: sequential, low_confidence_static, low_confidence_dynamic, entropy_bounded.", DefaultValueFactory = _ => GenerationOptions.DefaultStrategy, HelpName = "NAME" };
        _strategy.AcceptOnlyFromAmong([.. UnmaskingStrategies.Names]);
        _threshold = new Option<double?>("--threshold") { Description = "low_confidence_dynamic: commit every masked position with confidence above this (default 0.9).", HelpName = "X" };
        _threshold.Real(0, 1, lowExclusive: true);
        _ebThreshold = new Option<double?>("--eb-threshold") { Description = "entropy_bounded: entropy budget per step in nats (default 0.35).", HelpName = "X" };
        _ebThreshold.Real(0, double.MaxValue, lowExclusive: true);
        _temperature = new Option<double?>("--temperature", "-t") { Description = $"Sampling temperature; 0 = greedy. Default: {temperatureDefaultText}.", HelpName = "X" };
        _temperature.Real(0, double.MaxValue);
        _topK = new Option<int?>("--top-k") { Description = "Draw only from the k most likely tokens; 0 = off. Default: generation_config.json, else 0.", HelpName = "K" };
        _topK.Integer(0, CliParsing.MaxTokens);
        _topP = new Option<double?>("--top-p") { Description = "Nucleus sampling: draw from the smallest set with this cumulative probability; 1 = off. Default: generation_config.json, else 1.0.", HelpName = "P" };
        _topP.Real(0, 1, lowExclusive: true);
        _minP = new Option<double?>("--min-p") { Description = "Draw only tokens at least this times as likely as the most likely one (after top-p); 0 = off (default).", HelpName = "P" };
        _minP.Real(0, 1);
        _repetitionPenalty = new Option<double?>("--repetition-penalty") { Description = "Divide a repeated token's logit by this when positive, multiply when negative (HF, llama.cpp); 1 = off (default).", HelpName = "X" };
        _repetitionPenalty.Real(0, double.MaxValue, lowExclusive: true);
        _presencePenalty = new Option<double?>("--presence-penalty") { Description = "Subtract this from the logit of every token already present (OpenAI, -2..2); 0 = off (default).", HelpName = "X" };
        _presencePenalty.Real(-GenerationOptions.MaxPresenceOrFrequencyPenalty, GenerationOptions.MaxPresenceOrFrequencyPenalty);
        _frequencyPenalty = new Option<double?>("--frequency-penalty") { Description = "Subtract this times its count from a token's logit (OpenAI, -2..2); 0 = off (default).", HelpName = "X" };
        _frequencyPenalty.Real(-GenerationOptions.MaxPresenceOrFrequencyPenalty, GenerationOptions.MaxPresenceOrFrequencyPenalty);
        _penaltyLastN = new Option<int?>("--penalty-last-n") { Description = $"The penalties look at the last N tokens of prompt + answer; 0 = none, -1 = all. Default: {GenerationOptions.DefaultPenaltyLastN}.", HelpName = "N" };
        _penaltyLastN.Integer(-1, CliParsing.MaxTokens);
        _logitBias = new Option<Dictionary<int, double>>("--logit-bias")
        {
            Description = "Add BIAS (-100..100) to token ID's logit before sampling: ID=BIAS, comma-separated or repeated, e.g. 42=-100,7=2.5.",
            HelpName = "ID=BIAS",
            Arity = ArgumentArity.OneOrMore,
            CustomParser = ParseLogitBias,
        };
        _seed = new Option<long?>("--seed") { Description = "Random seed (reproducible sampling); default: a fresh one, reported with --json.", HelpName = "N" };
        _seed.Integer(long.MinValue);
        _stopIds = CliParsing.IntListOption("--stop-token-ids", "Extra stop token ids, besides generation_config.json's eos_token_id.", "IDS", minimum: 0, maximum: CliParsing.MaxTokens);
        _stop = new Option<string[]>("--stop")
        {
            Description = "Stop string (repeatable): the answer ends right before its first occurrence, which is not printed.",
            HelpName = "TEXT",
            Arity = ArgumentArity.OneOrMore,
        };
        _ignoreEos = new Option<bool>("--ignore-eos") { Description = "Do not stop at stop tokens: generate exactly --max-new-tokens tokens." };
        _fusedCommit = CliParsing.BooleanOption("--fused-commit",
            "Store each final block's K/V in the next block's first denoising forward; false = a separate commit forward per block, as the official code.",
            defaultValue: true);
    }

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { _maxNew, _blockLength, _steps, _strategy, _threshold, _ebThreshold, _temperature, _topK, _topP, _minP,
                     _repetitionPenalty, _presencePenalty, _frequencyPenalty, _penaltyLastN, _logitBias, _seed, _stopIds, _stop, _ignoreEos, _fusedCommit })
            command.Add(option);
    }

    /// <summary>
    /// The options the flags ask for. Temperature, top-k and top-p fall back to <paramref name="defaults"/>
    /// (generation_config.json: do_sample false means greedy), then to <paramref name="fallbackTemperature"/>, off, off.
    /// </summary>
    public GenerationOptions Read(ParseResult parse, GenerationConfig defaults, double fallbackTemperature = 1.0) => new()
    {
        MaxNewTokens = parse.GetValue(_maxNew),
        BlockLength = parse.GetValue(_blockLength),
        DenoisingSteps = parse.GetValue(_steps),
        Strategy = parse.GetValue(_strategy)!,
        ConfidenceThreshold = parse.GetValue(_threshold) ?? 0.9,
        EbThreshold = parse.GetValue(_ebThreshold) ?? 0.35,
        Temperature = parse.GetValue(_temperature) ?? (defaults.DoSample == false ? 0 : defaults.Temperature ?? fallbackTemperature),
        TopK = parse.GetValue(_topK) ?? defaults.TopK ?? 0,
        TopP = parse.GetValue(_topP) ?? defaults.TopP ?? 1.0,
        MinP = parse.GetValue(_minP) ?? 0,
        RepetitionPenalty = parse.GetValue(_repetitionPenalty) ?? 1.0,
        PresencePenalty = parse.GetValue(_presencePenalty) ?? 0,
        FrequencyPenalty = parse.GetValue(_frequencyPenalty) ?? 0,
        PenaltyLastN = parse.GetValue(_penaltyLastN) ?? GenerationOptions.DefaultPenaltyLastN,
        LogitBias = parse.GetValue(_logitBias) ?? [],
        Seed = parse.GetValue(_seed),
        StopTokenIds = parse.GetValue(_stopIds) ?? [],
        StopStrings = parse.GetValue(_stop) ?? [],
        IgnoreEos = parse.GetValue(_ignoreEos),
        FusedCommit = parse.GetBoolean(_fusedCommit) ?? true,
    };

    /// <summary>
    /// SDAR's decoding knobs that were given on the command line, as the extra body fields of an OpenAI-compatible
    /// request (<c>sdar serve</c>'s names). Knobs left at their defaults are not sent, so a server without them (an AR
    /// model, or one that rejects unknown fields) is not asked.
    /// </summary>
    public Dictionary<string, System.Text.Json.Nodes.JsonNode?> GivenDecodingFields(ParseResult parse)
    {
        var fields = new Dictionary<string, System.Text.Json.Nodes.JsonNode?>(StringComparer.Ordinal);
        if (parse.GetValue(_blockLength) is { } block) fields["block_length"] = block;
        if (parse.GetValue(_steps) is { } steps) fields["denoising_steps"] = steps;
        if (parse.Given(_strategy)) fields["remasking_strategy"] = parse.GetValue(_strategy);
        if (parse.GetValue(_threshold) is { } threshold) fields["confidence_threshold"] = threshold;
        if (parse.GetValue(_ebThreshold) is { } eb) fields["eb_threshold"] = eb;
        return fields;
    }

    /// <summary>"42=-100,7=2.5", possibly given several times; a token given twice keeps its last bias.</summary>
    private static Dictionary<int, double> ParseLogitBias(ArgumentResult result)
    {
        const string Flag = "--logit-bias";
        var bias = new Dictionary<int, double>();
        foreach (string part in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.TrimEntries)))
        {
            if (part.Length == 0) continue;
            int equals = part.IndexOf('=');
            if (equals <= 0
                || !int.TryParse(part.AsSpan(0, equals), NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id > CliParsing.MaxTokens
                || !double.TryParse(part.AsSpan(equals + 1), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                    CultureInfo.InvariantCulture, out double value)
                || !double.IsFinite(value) || Math.Abs(value) > GenerationOptions.MaxLogitBias)
            {
                result.AddError($"{Flag}: expected ID=BIAS pairs, comma-separated, with ID a token id and BIAS a number in [-100, 100], such as 42=-100,7=2.5; got '{part}'");
                return [];
            }
            bias[id] = value;
        }
        if (bias.Count == 0) result.AddError($"{Flag}: expected at least one ID=BIAS pair, such as 42=-100; got '{string.Join(",", result.Tokens.Select(t => t.Value))}'");
        return bias;
    }

    /// <summary>The flag of each option field (<see cref="GenerationOptionException.Field"/>).</summary>
    private static readonly Dictionary<string, string> FlagOfField = new(StringComparer.Ordinal)
    {
        ["max_new_tokens"] = "--max-new-tokens", ["block_length"] = "--block-length", ["denoising_steps"] = "--steps",
        ["remasking_strategy"] = "--strategy", ["confidence_threshold"] = "--threshold", ["eb_threshold"] = "--eb-threshold",
        ["temperature"] = "--temperature", ["top_k"] = "--top-k", ["top_p"] = "--top-p", ["min_p"] = "--min-p",
        ["repetition_penalty"] = "--repetition-penalty", ["presence_penalty"] = "--presence-penalty",
        ["frequency_penalty"] = "--frequency-penalty", ["penalty_last_n"] = "--penalty-last-n", ["logit_bias"] = "--logit-bias",
        ["seed"] = "--seed", ["stop_token_ids"] = "--stop-token-ids", ["stop"] = "--stop", ["fused_commit"] = "--fused-commit",
        ["model"] = "--model",
    };

    /// <summary>The flag that sets option <paramref name="field"/>, or null when no flag does.</summary>
    public static string? FlagFor(string field) => FlagOfField.GetValueOrDefault(field);

    /// <summary>
    /// Checks <paramref name="options"/> against the model (and a prompt of <paramref name="promptLength"/> tokens
    /// against its context), with errors that name the flags.
    /// </summary>
    public static void Validate(GenerationOptions options, ModelConfig config, int promptLength = 0) =>
        InFlagTerms(() => options.Resolve(config, promptLength));

    /// <summary>
    /// Runs <paramref name="work"/>; an option error it raises (also one wrapped with context, such as "question 2 of
    /// the data: ...") names the flag instead of the library's knob. Other errors pass unchanged.
    /// </summary>
    public static T InFlagTerms<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (ArgumentException e) when (OptionErrorIn(e) is { } option && FlagFor(option.Field) is { } flag)
        {
            string message = ReferenceEquals(e, option) ? option.MessageNaming(flag) : e.Message.Replace(option.Message, option.MessageNaming(flag), StringComparison.Ordinal);
            throw new ArgumentException(message, e);
        }
    }

    private static GenerationOptionException? OptionErrorIn(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is GenerationOptionException option) return option;
        return null;
    }
}
