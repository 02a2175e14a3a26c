using System.CommandLine;
using Sdar.Config;
using Sdar.Decoding;

namespace Sdar.Cli.Commands;

/// <summary>The decoding flags shared by <c>generate</c> and <c>eval</c>, read into <see cref="GenerationOptions"/>.</summary>
internal sealed class GenerationFlags
{
    private readonly Option<int> _maxNew;
    private readonly Option<int?> _blockLength, _steps, _topK;
    private readonly Option<string> _strategy;
    private readonly Option<double?> _threshold, _ebThreshold, _temperature, _topP;
    private readonly Option<long?> _seed;
    private readonly Option<int[]> _stopIds;
    private readonly Option<bool> _ignoreEos;

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
        _seed = new Option<long?>("--seed") { Description = "Random seed (reproducible sampling); default: a fresh one, reported with --json.", HelpName = "N" };
        _seed.Integer(long.MinValue);
        _stopIds = CliParsing.IntListOption("--stop-token-ids", "Extra stop token ids, besides generation_config.json's eos_token_id.", "IDS", minimum: 0, maximum: CliParsing.MaxTokens);
        _ignoreEos = new Option<bool>("--ignore-eos") { Description = "Do not stop at stop tokens: generate exactly --max-new-tokens tokens." };
    }

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { _maxNew, _blockLength, _steps, _strategy, _threshold, _ebThreshold, _temperature, _topK, _topP, _seed, _stopIds, _ignoreEos })
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
        Seed = parse.GetValue(_seed),
        StopTokenIds = parse.GetValue(_stopIds) ?? [],
        IgnoreEos = parse.GetValue(_ignoreEos),
    };

    /// <summary>The library names options by their official knob names; on the command line they are flags.</summary>
    private static readonly (string Knob, string Flag)[] FlagNames =
    [
        ("MaxNewTokens (max_new_tokens)", "--max-new-tokens"), ("BlockLength (block_length)", "--block-length"),
        ("DenoisingSteps (denoising_steps)", "--steps"), ("Strategy (remasking_strategy)", "--strategy"),
        ("ConfidenceThreshold (confidence_threshold)", "--threshold"), ("EbThreshold (eb_threshold)", "--eb-threshold"),
        ("Temperature (temperature)", "--temperature"), ("TopK (top_k)", "--top-k"), ("TopP (top_p)", "--top-p"),
        ("StopTokenIds (stop_token_ids)", "--stop-token-ids"),
    ];

    /// <summary>
    /// Checks <paramref name="options"/> against the model (and a prompt of <paramref name="promptLength"/> tokens
    /// against its context), with errors that name the flags.
    /// </summary>
    public static void Validate(GenerationOptions options, ModelConfig config, int promptLength = 0) =>
        InFlagTerms(() => options.Resolve(config, promptLength));

    /// <summary>Runs <paramref name="work"/>; an option error it raises names the flags instead of the library's knobs.</summary>
    public static T InFlagTerms<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (ArgumentException e)
        {
            string message = e.Message;
            foreach (var (knob, flag) in FlagNames) message = message.Replace(knob, flag, StringComparison.Ordinal);
            throw new ArgumentException(message, e);
        }
    }
}
