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
        int batchSize = 8, bool chat = true, Action<int, int>? progress = null, EngineOptions? engineOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), "batch size must be at least 1");
        var prompts = examples.Select(e => Prompt(model, e.Question, chat)).ToArray();
        var items = new EvalItem[examples.Count];
        var clock = Stopwatch.StartNew();
        // Continuous batching: up to batchSize questions decode at once, and a finished answer's slot goes to the
        // next question at once instead of waiting for the longest answer of a fixed batch.
        var engine = model.CreateEngine((engineOptions ?? new EngineOptions()) with { MaxRunningSequences = batchSize });
        var exampleOfId = new Dictionary<int, int>();
        // Every question is queued (and so checked against the model's context and the KV budget) before the first
        // forward, so a question too long for the model is named at once instead of failing half-way through.
        for (int i = 0; i < prompts.Length; i++)
        {
            // Each request keeps its own seed, so it decodes exactly as the prompt would alone.
            var request = new GenerationRequest(prompts[i], options.Seed is { } seed ? options with { Seed = seed + i } : options);
            try
            {
                exampleOfId[engine.Add(request)] = i;
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"question {i + 1} of the data: {e.Message}", e);
            }
        }
        int done = 0;
        while (engine.HasPendingWork)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var sequence in engine.Step().Ended)
            {
                if (sequence.Status == SequenceStatus.Failed) throw sequence.Error!;
                int i = exampleOfId[sequence.Id];
                var example = examples[i];
                var result = sequence.Result!;
                string prediction = model.Tokenizer.Decode(result.TokenIds, skipSpecialTokens: true);
                items[i] = new EvalItem(example.Question, example.Answer, prediction, GsmAnswer.Extract(prediction),
                    GsmAnswer.IsCorrect(prediction, example.Answer), result.GeneratedTokenCount, result.Nfe);
                progress?.Invoke(++done, examples.Count);
            }
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
