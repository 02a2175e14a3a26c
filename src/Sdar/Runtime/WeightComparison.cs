using Sdar.Data;
using Sdar.Decoding;
using Sdar.Evaluation;
using Sdar.Evaluation.Runs;
using Sdar.Model;

namespace Sdar.Runtime;

/// <summary>
/// One weight format of a <see cref="WeightComparison"/>: its accuracy on the test items and, for a quantized format,
/// how far its next-token distributions and answers are from the stored weights'.
/// </summary>
/// <param name="Format">The format: the stored one (the baseline) or Q8_0 / Q4_0.</param>
/// <param name="WeightBytes">Bytes of all weight tensors (packed values and scales for the quantized ones).</param>
/// <param name="MeanKl">Mean over the prompts of KL(stored || this) of the next-token distribution, in nats; null for the baseline.</param>
/// <param name="MaxKl">The largest of those divergences.</param>
/// <param name="TopTokenAgreement">Share of prompts whose most likely next token is the baseline's.</param>
/// <param name="SameAnswers">Share of items whose extracted final answer equals the baseline's.</param>
public sealed record WeightFormatResult(DType Format, long WeightBytes, EvaluationResult Eval, double? MeanKl, double? MaxKl,
    double? TopTokenAgreement, double? SameAnswers);

/// <summary>
/// What quantization costs a model: the evaluation (<see cref="SyntheticBenchmark"/>: the number after <c>####</c>) of the stored weights
/// and of their q8 / q4 quantizations (<see cref="WeightQuantizer"/>, made in memory exactly as <c>sdar quantize</c>
/// writes them), and per quantized format the KL divergence of its next-token distribution from the stored
/// weights' on every test prompt, over the whole vocabulary.
/// </summary>
public static class WeightComparison
{
    /// <summary>
    /// Evaluates <paramref name="model"/> as stored, then quantized to each of <paramref name="formats"/>, on
    /// <paramref name="examples"/> with the same decoding options; <paramref name="progress"/> gets (format, done, total).
    /// </summary>
    public static IReadOnlyList<WeightFormatResult> Run(LoadedModel model, IReadOnlyList<DType> formats, IReadOnlyList<GsmExample> examples,
        GenerationOptions options, int batchSize = 8, bool chat = true, Action<DType, int, int>? progress = null,
        EngineOptions? engineOptions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(formats);
        ArgumentNullException.ThrowIfNull(examples);
        if (model.Config.QuantizationConfig is { } existing)
            throw new ArgumentException($"--model: {model.Directory} is already quantized ({existing.Format}); compare the unquantized model");
        foreach (var format in formats)
            if (!format.IsQuantized()) throw new ArgumentException($"{format} is not a quantized format (expected Q8_0 or Q4_0)", nameof(formats));
        int blockLength = model.Config.IsDiffusion ? options.BlockLength ?? model.Config.BlockSize : 1;
        var benchmark = new SyntheticBenchmark();
        var items = examples.Select((e, i) => (BenchmarkItem)new GsmItem(i, e.Question, e.Answer, GsmAnswer.Extract(e.Answer) ?? "")).ToArray();
        var prompts = items.Select(item => EngineBackend.PromptIds(model, benchmark.Prompt(item, []), chat)).ToArray();
        var baselineLogits = prompts.Select(p => NextTokenLogits(model.Model, p, blockLength)).ToArray();
        var storedFormat = model.Weights.Layers.Count > 0 ? model.Weights.Layers[0].QProj.DType : model.Weights.LmHead.DType;

        EvaluationResult Evaluate(LoadedModel m, DType format) => BenchmarkEvaluation.Run(new EvaluationPlan(benchmark, items, []),
            new EngineBackend(m, options, batchSize, chat, engineOptions), log: null, p => progress?.Invoke(format, p.Done, p.Total), cancellationToken);

        var baseline = Evaluate(model, storedFormat);
        var results = new List<WeightFormatResult> { new(storedFormat, WeightBytes(model.Weights), baseline, null, null, null, null) };
        foreach (var format in formats)
        {
            var quantized = model.Quantized(format);
            var report = Evaluate(quantized, format);
            double sum = 0, max = 0;
            int sameTop = 0;
            for (int i = 0; i < prompts.Length; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                float[] logits = NextTokenLogits(quantized.Model, prompts[i], blockLength);
                double kl = KlDivergence(baselineLogits[i], logits);
                sum += kl;
                max = Math.Max(max, kl);
                if (ArgMax(logits) == ArgMax(baselineLogits[i])) sameTop++;
            }
            int sameAnswers = Enumerable.Range(0, examples.Count).Count(i => report.Report.Verdicts[i][0].ExtractedAnswer == baseline.Report.Verdicts[i][0].ExtractedAnswer);
            double count = Math.Max(1, prompts.Length);
            results.Add(new WeightFormatResult(format, WeightBytes(quantized.Weights), report, sum / count, max, sameTop / count, sameAnswers / count));
        }
        return results;
    }

    /// <summary>
    /// The logits of the first token after <paramref name="prompt"/>: for an AR model the last prompt row of a causal
    /// forward; for an SDAR model (<paramref name="blockLength"/> &gt; 1) the first masked row of the first denoising
    /// forward, as block diffusion decoding runs it (the prompt's whole blocks prefilled, then the block holding the
    /// prompt's tail followed by mask tokens, every masked position unseen).
    /// </summary>
    public static float[] NextTokenLogits(ILanguageModel model, int[] prompt, int blockLength = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Length == 0) throw new ArgumentException("the prompt has no tokens", nameof(prompt));
        var config = model.Config;
        var cache = new ContiguousKvCache(config, prompt.Length + blockLength);
        if (!config.IsDiffusion)
            return model.Forward([new SequenceInput(prompt, cache, StoreKv: false, LogitsKind.Last)])[0];

        int mask = config.MaskTokenId ?? throw new ArgumentException("the SDAR model's config.json has no mask_token_id");
        int prefilled = prompt.Length / blockLength * blockLength;
        SequenceInput Input(int[] tokens, bool store, LogitsKind logits) =>
            new(tokens, cache, store, logits) { Attention = AttentionKind.BlockCausal, BlockLength = blockLength };
        if (prefilled > 0) model.Forward([Input(prompt[..prefilled], store: true, LogitsKind.None)]);
        int[] block = new int[blockLength];
        Array.Fill(block, mask);
        prompt.AsSpan(prefilled).CopyTo(block);
        float[] rows = model.Forward([Input(block, store: false, LogitsKind.All)])[0];
        int vocab = config.VocabSize, row = prompt.Length - prefilled;
        return rows.AsSpan(row * vocab, vocab).ToArray();
    }

    /// <summary>KL(P || Q) in nats of the softmax distributions of two logits rows, in double precision.</summary>
    public static double KlDivergence(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        if (p.Length != q.Length || p.Length == 0) throw new ArgumentException($"logits rows of {p.Length} and {q.Length} values; expected two of one length");
        double[] logP = LogSoftmax(p), logQ = LogSoftmax(q);
        double kl = 0;
        for (int i = 0; i < logP.Length; i++)
            if (logP[i] > double.NegativeInfinity) kl += Math.Exp(logP[i]) * (logP[i] - logQ[i]);
        // Rounding can leave a tiny negative sum for equal distributions; the divergence itself is never negative.
        return Math.Max(0, kl);
    }

    private static double[] LogSoftmax(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in logits) sum += Math.Exp(v - max);
        double logSum = max + Math.Log(sum);
        var result = new double[logits.Length];
        for (int i = 0; i < logits.Length; i++) result[i] = logits[i] - logSum;
        return result;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    private static long WeightBytes(ModelWeights weights) =>
        Checkpoints.ModelLayout.NamedTensors(weights).Values.Distinct().Sum(t => t.ByteLength);
}
