using Sdar.Data;

namespace Sdar.Evaluation;

/// <summary>IFEval's four numbers: prompt-level and instruction-level accuracy, strict and loose.</summary>
public sealed record IfEvalAccuracy(double PromptStrict, double InstructionStrict, double PromptLoose, double InstructionLoose);

/// <summary>
/// The scores of a completions file. <see cref="Accuracy"/> is pass@1: per item the share of its samples that are
/// correct, averaged over items (with one sample each, plain accuracy). <see cref="MajorityAccuracy"/> is the share
/// of items whose majority-voted answer is correct (null for IFEval, which has no answer to vote on).
/// </summary>
public sealed record BenchmarkReport(
    string Benchmark,
    int Count,
    int Samples,
    int Correct,
    double Accuracy,
    IReadOnlyList<(int K, double PassAtK)> PassAtK,
    double? MajorityAccuracy,
    IfEvalAccuracy? IfEval,
    IReadOnlyList<IReadOnlyList<BenchmarkVerdict>> Verdicts);

/// <summary>Scores every completion of every item and sums the verdicts up.</summary>
public static class BenchmarkScorer
{
    public static BenchmarkReport Score(IBenchmark benchmark, IReadOnlyList<BenchmarkItem> items, IReadOnlyList<IReadOnlyList<string>> completions,
        IReadOnlyList<int>? passAtK = null)
    {
        ArgumentNullException.ThrowIfNull(benchmark);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(completions);
        if (completions.Count != items.Count) throw new ArgumentException($"{completions.Count} completion lists for {items.Count} items", nameof(completions));
        var verdicts = items.Select((item, i) => (IReadOnlyList<BenchmarkVerdict>)completions[i].Select(c => benchmark.Score(item, c)).ToArray()).ToArray();
        return Summarise(benchmark.Name, verdicts, passAtK);
    }

    /// <summary>The report over verdicts already given: every item's list holds the verdicts of its samples.</summary>
    public static BenchmarkReport Summarise(string benchmark, IReadOnlyList<IReadOnlyList<BenchmarkVerdict>> verdicts, IReadOnlyList<int>? passAtK = null)
    {
        ArgumentNullException.ThrowIfNull(verdicts);
        var all = verdicts.SelectMany(v => v).ToArray();
        var problems = verdicts.Select(v => (v.Count, v.Count(x => x.Correct))).ToArray();
        var pass = new List<(int, double)>();
        foreach (int k in passAtK ?? [])
        {
            int few = Array.FindIndex(problems, p => p.Item1 < k);
            if (few >= 0) throw new BenchmarkDataException($"pass@{k} needs at least {k} samples of every item; item {few} has {problems[few].Item1}");
            pass.Add((k, PassAtK.Mean(problems, k)));
        }
        double accuracy = verdicts.Count == 0 ? 0 : problems.Average(p => (double)p.Item2 / p.Item1);
        IfEvalAccuracy? ifeval = all.Length > 0 && all.All(v => v.Instructions is not null) ? IfEvalOf(all) : null;
        double? majority = ifeval is null && verdicts.Count > 0
            ? verdicts.Average(v => MajorityVote.Winner([.. v.Select(x => x.VoteKey)]) is { } w && v[w].Correct ? 1.0 : 0.0)
            : null;
        return new BenchmarkReport(benchmark, verdicts.Count, all.Length, all.Count(v => v.Correct), accuracy, pass, majority, ifeval, verdicts);
    }

    private static IfEvalAccuracy IfEvalOf(BenchmarkVerdict[] verdicts)
    {
        var instructions = verdicts.Select(v => v.Instructions!).ToArray();
        int total = instructions.Sum(i => i.InstructionIds.Count);
        double Share(Func<InstructionVerdict, int> followed) => total == 0 ? 0 : (double)instructions.Sum(followed) / total;
        return new IfEvalAccuracy(
            instructions.Average(i => i.FollowAllStrict ? 1.0 : 0.0), Share(i => i.FollowedStrict.Count(f => f)),
            instructions.Average(i => i.FollowAllLoose ? 1.0 : 0.0), Share(i => i.FollowedLoose.Count(f => f)));
    }

    /// <summary>
    /// One JSONL line per verdict, replacing <paramref name="path"/> atomically: index, sample (when an item has
    /// several), prediction, extracted_answer, reference, correct; IFEval lines carry instruction_id_list and, under
    /// "strict" and "loose", follow_all_instructions and follow_instruction_list as evaluation_lib writes them.
    /// </summary>
    public static void WriteVerdicts(string path, BenchmarkReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        bool several = report.Verdicts.Any(v => v.Count > 1);
        var lines = report.Verdicts.SelectMany(v => v.Select((verdict, sample) => (verdict, sample)));
        Jsonl.Write(path, lines, (w, line) => WriteVerdict(w, line.verdict, several ? line.sample : null));
    }

    /// <summary>
    /// One verdict as the JSON object of a verdicts line; <paramref name="sample"/> is written when given, and
    /// <paramref name="more"/> adds fields (a run's cost) before the object closes.
    /// </summary>
    public static void WriteVerdict(System.Text.Json.Utf8JsonWriter w, BenchmarkVerdict v, int? sample, Action<System.Text.Json.Utf8JsonWriter>? more = null)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(v);
        w.WriteStartObject();
        w.WriteNumber("index", v.Index);
        if (sample is { } s) w.WriteNumber("sample", s);
        w.WriteString("prediction", v.Prediction);
        if (v.Instructions is { } instructions)
        {
            w.WriteStartArray("instruction_id_list");
            foreach (string id in instructions.InstructionIds) w.WriteStringValue(id);
            w.WriteEndArray();
            WriteFollowed(w, "strict", instructions.FollowAllStrict, instructions.FollowedStrict);
            WriteFollowed(w, "loose", instructions.FollowAllLoose, instructions.FollowedLoose);
        }
        else if (v.Code is { } code)
        {
            if (v.ExtractedAnswer is { } program) w.WriteString("program", program);
            w.WriteBoolean("passed", v.Correct);
            w.WriteString("outcome", code.Outcome);
            w.WriteString("failure_reason", code.Reason);
        }
        else
        {
            w.WriteString("extracted_answer", v.ExtractedAnswer);
            w.WriteString("reference", v.Reference);
        }
        w.WriteBoolean("correct", v.Correct);
        more?.Invoke(w);
        w.WriteEndObject();
    }

    private static void WriteFollowed(System.Text.Json.Utf8JsonWriter w, string name, bool all, IReadOnlyList<bool> list)
    {
        w.WriteStartObject(name);
        w.WriteBoolean("follow_all_instructions", all);
        w.WriteStartArray("follow_instruction_list");
        foreach (bool f in list) w.WriteBooleanValue(f);
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
