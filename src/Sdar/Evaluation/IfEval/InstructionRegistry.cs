namespace Sdar.Evaluation.IfEval;

/// <summary>
/// The 25 instructions of IFEval's instructions_registry.INSTRUCTION_DICT, each built from its kwargs as the
/// official <c>build_description</c> does (kwargs trimmed or lower-cased where it does so).
/// </summary>
public static class InstructionRegistry
{
    private static readonly Dictionary<string, Func<InstructionArguments, IInstructionChecker>> Factories = new()
    {
        ["keywords:existence"] = a => new KeywordExistence(a.Strings("keywords"), a.Where),
        ["keywords:frequency"] = a => new KeywordFrequency(a.RequiredString("keyword"), a.Count("frequency"), a.Relation("relation"), a.Where),
        ["keywords:forbidden_words"] = a => new ForbiddenWords(a.Strings("forbidden_words"), a.Where),
        ["keywords:letter_frequency"] = LetterFrequency.Create,
        ["language:response_language"] = a => new ResponseLanguage(a.RequiredString("language")),
        ["length_constraints:number_sentences"] = a => new NumberOfSentences(a.Count("num_sentences"), a.Relation("relation")),
        ["length_constraints:number_paragraphs"] = a => new ParagraphCount(a.Count("num_paragraphs")),
        ["length_constraints:number_words"] = a => new NumberOfWords(a.Count("num_words"), a.Relation("relation")),
        ["length_constraints:nth_paragraph_first_word"] = NthParagraphFirstWord.Create,
        ["detectable_content:number_placeholders"] = a => new Placeholders(a.Count("num_placeholders")),
        ["detectable_content:postscript"] = a => new Postscript(a.RequiredString("postscript_marker").Trim(), a.Where),
        ["detectable_format:number_bullet_lists"] = a => new BulletLists(a.Count("num_bullets")),
        ["detectable_format:constrained_response"] = _ => new ConstrainedResponse(),
        ["detectable_format:number_highlighted_sections"] = a => new HighlightedSections(a.Count("num_highlights")),
        ["detectable_format:multiple_sections"] = a => new Sections(a.RequiredString("section_spliter").Trim(), a.Count("num_sections"), a.Where),
        ["detectable_format:json_format"] = _ => new JsonFormat(),
        ["detectable_format:title"] = _ => new Title(),
        ["combination:two_responses"] = _ => new TwoResponses(),
        ["combination:repeat_prompt"] = a => new RepeatPrompt(a.RequiredString("prompt_to_repeat")),
        ["startend:end_checker"] = a => new EndsWith(a.RequiredString("end_phrase").Trim()),
        // A missing capital_frequency is drawn at random, but a negative one is used as it is (no range check there).
        ["change_case:capital_word_frequency"] = a => new CapitalWordFrequency(
            a.OptionalInteger("capital_frequency") ?? throw a.Missing("capital_frequency", "a whole number"), a.Relation("capital_relation")),
        ["change_case:english_capital"] = _ => new EnglishCapital(),
        ["change_case:english_lowercase"] = _ => new EnglishLowercase(),
        ["punctuation:no_comma"] = _ => new NoComma(),
        ["startend:quotation"] = _ => new Quotation(),
    };

    public static IReadOnlyCollection<string> InstructionIds => Factories.Keys;

    /// <summary>The checker for <paramref name="id"/> with its arguments; an unknown id is an error naming it.</summary>
    public static IInstructionChecker Create(string id, InstructionArguments arguments) =>
        Factories.TryGetValue(id, out var create)
            ? create(arguments)
            : throw new BenchmarkDataException($"{arguments.Where}: unknown instruction \"{id}\" (expected one of the {Factories.Count} of IFEval's registry)");
}
