using System.Diagnostics;
using Sdar.Data;
using Sdar.Decoding;
using Sdar.Runtime;
using Sdar.Templates;

namespace Sdar.Evaluation;

/// <summary>One evaluated question.</summary>
public sealed record EvalItem(
    string Question,
    string ReferenceAnswer,
    string Prediction,
    string? PredictedAnswer,
    bool Correct,
    int GeneratedTokens,
    NfeCount Nfe);

/// <summary>
/// Accuracy and cost over a test set (DESIGN section 4 metrics): exact match of the number after <c>####</c>,
/// tokens per forward (all generated tokens / all denoising forwards), tokens per second for the whole run.
/// </summary>
public sealed record EvalReport(
    int Count,
    int Correct,
    double Accuracy,
    double TokensPerForward,
    double TokensPerSecond,
    long DenoisingForwards,
    long TotalForwards,
    long GeneratedTokens,
    TimeSpan Elapsed,
    int BatchSize,
    IReadOnlyList<EvalItem> Items);

/// <summary>
/// GSM8K-style evaluation: each question is put to the model as a one-turn chat (as in SFT data), decoded with the
/// given options, and its final answer compared by number with the reference's.
/// </summary>
public static class GsmEvaluator
{
    public static EvalReport Run(LoadedModel model, IReadOnlyList<GsmExample> examples, GenerationOptions options,
        int batchSize = 8, bool chat = true, Action<int, int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), "batch size must be at least 1");
        var prompts = examples.Select(e => Prompt(model, e.Question, chat)).ToArray();
        // Every question is checked against the model's context before the first forward, so a question too long
        // for the model is named at once instead of failing a batch half-way through the evaluation.
        for (int i = 0; i < prompts.Length; i++)
        {
            try
            {
                options.Resolve(model.Config, prompts[i].Length);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"question {i + 1} of the data: {e.Message}", e);
            }
        }
        var items = new EvalItem[examples.Count];
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            int count = Math.Min(batchSize, examples.Count - start);
            // Each request keeps its own seed, so a batch decodes exactly as the prompts would alone.
            var requests = Enumerable.Range(start, count)
                .Select(i => new GenerationRequest(prompts[i], options.Seed is { } seed ? options with { Seed = seed + i } : options))
                .ToArray();
            var results = model.Generator.GenerateBatch(requests, cancellationToken);
            for (int j = 0; j < count; j++)
            {
                var example = examples[start + j];
                var result = results[j];
                string prediction = model.Tokenizer.Decode(result.TokenIds, skipSpecialTokens: true);
                items[start + j] = new EvalItem(example.Question, example.Answer, prediction, GsmAnswer.Extract(prediction),
                    GsmAnswer.IsCorrect(prediction, example.Answer), result.GeneratedTokenCount, result.Nfe);
            }
            progress?.Invoke(start + count, examples.Count);
        }
        clock.Stop();
        long denoise = items.Sum(i => (long)i.Nfe.Denoise), total = items.Sum(i => (long)i.Nfe.Total), generated = items.Sum(i => (long)i.GeneratedTokens);
        int correct = items.Count(i => i.Correct);
        return new EvalReport(items.Length, correct, items.Length == 0 ? 0 : (double)correct / items.Length,
            denoise == 0 ? 0 : (double)generated / denoise, clock.Elapsed.TotalSeconds > 0 ? generated / clock.Elapsed.TotalSeconds : 0,
            denoise, total, generated, clock.Elapsed, batchSize, items);
    }

    /// <summary>
    /// Writes every item of <paramref name="report"/> as one JSONL line (question, reference, prediction,
    /// predicted_answer, correct, nfe_denoise, nfe_total), replacing <paramref name="path"/> atomically.
    /// </summary>
    public static void WritePredictions(string path, EvalReport report) =>
        Jsonl.Write(path, report.Items, (w, item) =>
        {
            w.WriteStartObject();
            w.WriteString("question", item.Question);
            w.WriteString("reference", item.ReferenceAnswer);
            w.WriteString("prediction", item.Prediction);
            w.WriteString("predicted_answer", item.PredictedAnswer);
            w.WriteBoolean("correct", item.Correct);
            w.WriteNumber("nfe_denoise", item.Nfe.Denoise);
            w.WriteNumber("nfe_total", item.Nfe.Total);
            w.WriteEndObject();
        });

    /// <summary>The prompt ids for a question: a user turn with the generation prompt (thinking off), or the raw question.</summary>
    public static int[] Prompt(LoadedModel model, string question, bool chat)
    {
        if (!chat) return model.Tokenizer.Encode(question + "\n").ToArray();
        string text = model.RenderChat([ChatMessages.Message("user", question)], addGenerationPrompt: true, enableThinking: false);
        return model.Tokenizer.Encode(text).ToArray();
    }
}
