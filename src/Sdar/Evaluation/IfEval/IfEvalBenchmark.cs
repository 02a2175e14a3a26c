using System.Text.Json;

namespace Sdar.Evaluation.IfEval;

/// <summary>An IFEval prompt with its instructions, each already built into a checker.</summary>
public sealed record IfEvalItem(int Index, int Key, string PromptText, IReadOnlyList<string> InstructionIds, IReadOnlyList<IInstructionChecker> Checkers)
    : BenchmarkItem(Index)
{
    /// <summary>Official response files name their prompt by its text (evaluation_lib.read_prompt_to_response_dict).</summary>
    public override string? TaskId => PromptText;
}

/// <summary>
/// IFEval (google-research instruction_following_eval): input_data.jsonl's "key", "prompt", "instruction_id_list"
/// and "kwargs"; every instruction checked strictly (the response as it is) and loosely (also with its first line,
/// last line or both removed, and with every '*' removed: evaluation_lib's eight variants, followed if any follows).
/// A blank response follows nothing. <see cref="BenchmarkVerdict.Correct"/> is the strict prompt-level verdict.
/// </summary>
public sealed class IfEvalBenchmark : IBenchmark
{
    public string Name => "ifeval";

    public IReadOnlyList<BenchmarkItem> Read(string path) => JsonFields.ReadJsonl<BenchmarkItem>(path, (root, index, where) =>
    {
        var key = JsonFields.Required(root, "key", where);
        string prompt = JsonFields.RequiredString(root, "prompt", where);
        var ids = JsonFields.StringArray(JsonFields.Required(root, "instruction_id_list", where), "instruction_id_list", where);
        var kwargs = JsonFields.Required(root, "kwargs", where);
        if (kwargs.ValueKind != JsonValueKind.Array || kwargs.GetArrayLength() != ids.Count)
            throw new BenchmarkDataException($"{where}: field \"kwargs\" must be a list with one object per instruction ({ids.Count}), found {JsonFields.Kind(kwargs)}{(kwargs.ValueKind == JsonValueKind.Array ? $" of {kwargs.GetArrayLength()}" : "")}");
        var checkers = ids.Select((id, i) => InstructionRegistry.Create(id, new InstructionArguments(kwargs[i], $"{where} (key {key.GetRawText()}), instruction {i + 1} \"{id}\""))).ToArray();
        return new IfEvalItem(index, JsonFields.Integer(key, "key", where), prompt, ids, checkers);
    });

    /// <summary>The prompt as it is: IFEval has no worked examples.</summary>
    public string Prompt(BenchmarkItem item, IReadOnlyList<BenchmarkItem> shots) =>
        shots.Count == 0 ? ((IfEvalItem)item).PromptText : throw new ArgumentException("IFEval prompts take no worked examples", nameof(shots));

    public BenchmarkVerdict Score(BenchmarkItem item, string completion)
    {
        var ifeval = (IfEvalItem)item;
        string[] loose = LooseVariants(completion);
        var strict = ifeval.Checkers.Select(c => Follows(c, completion)).ToArray();
        var looseFollowed = ifeval.Checkers.Select(c => loose.Any(r => Follows(c, r))).ToArray();
        var verdict = new InstructionVerdict(ifeval.InstructionIds, strict, looseFollowed);
        return new BenchmarkVerdict(item.Index, completion, null, null, null, verdict.FollowAllStrict, verdict);
    }

    private static bool Follows(IInstructionChecker checker, string response) => response.Trim().Length > 0 && checker.IsFollowed(response);

    /// <summary>evaluation_lib.test_instruction_following_loose's responses, in its order.</summary>
    public static string[] LooseVariants(string response)
    {
        string[] lines = response.Split('\n');
        string removeFirst = string.Join('\n', lines.Skip(1)).Trim();
        string removeLast = string.Join('\n', lines.Take(lines.Length - 1)).Trim();
        string removeBoth = string.Join('\n', lines.Skip(1).Take(Math.Max(0, lines.Length - 2))).Trim();
        static string NoStars(string s) => s.Replace("*", "", StringComparison.Ordinal);
        return [response, NoStars(response), removeFirst, removeLast, removeBoth, NoStars(removeFirst), NoStars(removeLast), NoStars(removeBoth)];
    }
}
