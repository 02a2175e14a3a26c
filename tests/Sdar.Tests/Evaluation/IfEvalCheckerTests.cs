using System.Text.Json;
using Sdar.Evaluation;
using Sdar.Evaluation.IfEval;

namespace Sdar.Tests.Evaluation;

/// <summary>Each of IFEval's 25 instructions on responses that follow it and responses that do not.</summary>
public class IfEvalCheckerTests
{
    private static bool Follows(string id, string kwargs, string response)
    {
        using var doc = JsonDocument.Parse(kwargs);
        return InstructionRegistry.Create(id, new InstructionArguments(doc.RootElement.Clone(), "test")).IsFollowed(response);
    }

    [Fact]
    public void The_registry_holds_the_25_official_instructions() => Assert.Equal(25, InstructionRegistry.InstructionIds.Count);

    [Theory]
    [InlineData("""{"keywords": ["dog", "day"]}""", "Every Dog has its DAY.", true)]
    [InlineData("""{"keywords": ["dog", "day"]}""", "Every dog barks.", false)]
    [InlineData("""{"keywords": ["dog"]}""", "hotdogs", true)] // re.search: no word boundary
    public void Keyword_existence(string kwargs, string response, bool followed) => Assert.Equal(followed, Follows("keywords:existence", kwargs, response));

    [Theory]
    [InlineData("at least", 3, "Fake, FAKE and fake.", true)]
    [InlineData("at least", 4, "Fake, FAKE and fake.", false)]
    [InlineData("less than", 3, "Fake, FAKE and fake.", false)]
    [InlineData("less than", 4, "fakes are fake", true)]
    public void Keyword_frequency(string relation, int frequency, string response, bool followed) =>
        Assert.Equal(followed, Follows("keywords:frequency", $$"""{"keyword": " fake ", "frequency": {{frequency}}, "relation": "{{relation}}"}""", response));

    [Theory]
    [InlineData("Let us meet tomorrow.", true)]
    [InlineData("It is FREE of charge.", false)]
    [InlineData("A freedom to choose.", true)] // whole words only
    public void Forbidden_words(string response, bool followed) => Assert.Equal(followed, Follows("keywords:forbidden_words", """{"forbidden_words": ["free", "reschedule"]}""", response));

    [Theory]
    [InlineData("o", "at least", 3, "Oh no, October!", true)] // case folded: O, o, O, o
    [InlineData("o", "less than", 4, "Oh no, October!", false)]
    [InlineData("!", "at least", 2, "Wow! Yes!", true)]
    public void Letter_frequency(string letter, string relation, int frequency, string response, bool followed) =>
        Assert.Equal(followed, Follows("keywords:letter_frequency", $$"""{"letter": "{{letter}}", "let_frequency": {{frequency}}, "let_relation": "{{relation}}"}""", response));

    [Theory]
    [InlineData("fi", "Lumi satoi hiljaa ja kaupunki oli valkoinen. Se oli kaunis ilta, ja me kävelimme kotiin.", true)]
    [InlineData("fi", "The snow fell quietly and the city was white.", false)]
    [InlineData("de", "Der Schnee fiel leise und die Stadt war weiß. Es ist ein schöner Abend.", true)]
    [InlineData("ru", "Снег тихо падал, и город был белым.", true)]
    [InlineData("uk", "Сніг тихо падав, і місто було білим. Це її дім.", true)]
    [InlineData("ja", "雪が静かに降っていました。", true)]
    [InlineData("ko", "눈이 조용히 내리고 있었다.", true)]
    [InlineData("hi", "बर्फ चुपचाप गिर रही थी और शहर सफेद है।", true)]
    [InlineData("en", "12345 !!!", true)] // no letters: undetectable, which counts as followed
    public void Response_language(string language, string response, bool followed) =>
        Assert.Equal(followed, Follows("language:response_language", $$"""{"language": "{{language}}"}""", response));

    [Theory]
    [InlineData("at least", 3, "One. Two! Three?", true)]
    [InlineData("less than", 3, "One. Two! Three?", false)]
    [InlineData("less than", 2, "Dr. Smith met Mr. Jones at 5 p.m. today.", true)] // abbreviations do not end sentences
    [InlineData("at least", 2, "It costs 3.50 dollars. Cheap", true)]
    [InlineData("less than", 2, "1. first item\n2. second item", true)] // a number before a lower-case word
    [InlineData("less than", 2, "A list\n- without\n- periods", true)]
    public void Number_of_sentences(string relation, int count, string response, bool followed) =>
        Assert.Equal(followed, Follows("length_constraints:number_sentences", $$"""{"num_sentences": {{count}}, "relation": "{{relation}}"}""", response));

    [Theory]
    [InlineData("One\n***\nTwo\n***\nThree", 3, true)]
    [InlineData("***\nOne\n***\nTwo\n***", 2, true)] // empty first and last paragraphs do not count
    [InlineData("One\n***\n\n***\nTwo", 2, false)] // an empty paragraph inside fails
    [InlineData("One\n\nTwo", 2, false)]
    public void Number_of_paragraphs(string response, int count, bool followed) =>
        Assert.Equal(followed, Follows("length_constraints:number_paragraphs", $$"""{"num_paragraphs": {{count}}}""", response));

    [Theory]
    [InlineData("at least", 5, "It's a well-known fact, isn't it?", true)] // It s a well known fact isn t it = 9
    [InlineData("less than", 9, "It's a well-known fact, isn't it?", false)]
    [InlineData("less than", 10, "It's a well-known fact, isn't it?", true)]
    public void Number_of_words(string relation, int count, string response, bool followed) =>
        Assert.Equal(followed, Follows("length_constraints:number_words", $$"""{"num_words": {{count}}, "relation": "{{relation}}"}""", response));

    [Theory]
    [InlineData("Intro here.\n\n\"Summer, they said.\n\nEnd.", true)]
    [InlineData("Intro here.\n\nWinter came.\n\nEnd.", false)]
    [InlineData("Intro here.\n\nSummer came.", false)] // two paragraphs, not three
    public void Nth_paragraph_first_word(string response, bool followed) =>
        Assert.Equal(followed, Follows("length_constraints:nth_paragraph_first_word", """{"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "Summer"}""", response));

    [Theory]
    [InlineData("Dear [name], at [address] on [date].", 3, true)]
    [InlineData("Dear [name], at [address].", 3, false)]
    public void Placeholders(string response, int count, bool followed) =>
        Assert.Equal(followed, Follows("detectable_content:number_placeholders", $$"""{"num_placeholders": {{count}}}""", response));

    [Theory]
    [InlineData("P.S.", "Body.\n\nP.S. Call me.", true)]
    [InlineData("P.S.", "Body.\n\np. s. call me.", true)]
    [InlineData("P.S.", "Body. PS call me.", false)]
    [InlineData("P.P.S", "Body.\nP.P.S. More.", true)]
    [InlineData("Note:", "Body.\nNOTE: more.", true)]
    public void Postscript(string marker, string response, bool followed) =>
        Assert.Equal(followed, Follows("detectable_content:postscript", $$"""{"postscript_marker": "{{marker}}"}""", response));

    [Theory]
    [InlineData("* one\n* two\n- three", 3, true)]
    [InlineData("* one\n* two\n**bold line**", 2, true)] // "**" does not start a bullet
    [InlineData("* one\n* two", 3, false)]
    public void Bullet_lists(string response, int count, bool followed) =>
        Assert.Equal(followed, Follows("detectable_format:number_bullet_lists", $$"""{"num_bullets": {{count}}}""", response));

    [Theory]
    [InlineData("  My answer is yes.  ", true)]
    [InlineData("My answer is Yes.", false)]
    public void Constrained_response(string response, bool followed) => Assert.Equal(followed, Follows("detectable_format:constrained_response", "{}", response));

    [Theory]
    [InlineData("*one* and *two*", 2, true)]
    [InlineData("*one* and * * and **", 2, false)] // blank highlights do not count
    [InlineData("**bold**", 1, true)] // as **...**; its "**" halves are blank *...* spans
    [InlineData("**bold**", 2, false)]
    public void Highlighted_sections(string response, int count, bool followed) =>
        Assert.Equal(followed, Follows("detectable_format:number_highlighted_sections", $$"""{"num_highlights": {{count}}}""", response));

    [Theory]
    [InlineData("SECTION 1\nA\nSECTION 2\nB", 2, true)]
    [InlineData("Section 1\nA\nSection 2\nB", 2, false)] // case-sensitive
    public void Multiple_sections(string response, int count, bool followed) =>
        Assert.Equal(followed, Follows("detectable_format:multiple_sections", $$"""{"section_spliter": "SECTION", "num_sections": {{count}}}""", response));

    [Theory]
    [InlineData("```json\n{\"a\": [1, 2]}\n```", true)]
    [InlineData("{\"a\": NaN}", true)] // Python's json reads NaN
    [InlineData("{\"a\": 1,}", false)]
    [InlineData("Here it is: {\"a\": 1}", false)]
    public void Json_format(string response, bool followed) => Assert.Equal(followed, Follows("detectable_format:json_format", "{}", response));

    [Theory]
    [InlineData("<<Poem of Joy>>\nlines", true)]
    [InlineData("<< >>\nlines", false)]
    [InlineData("<<two\nlines>>", false)]
    public void Title(string response, bool followed) => Assert.Equal(followed, Follows("detectable_format:title", "{}", response));

    [Theory]
    [InlineData("First answer.\n******\nSecond answer.", true)]
    [InlineData("Same.\n******\nSame.", false)]
    [InlineData("A\n******\n\n******\nB", false)]
    public void Two_responses(string response, bool followed) => Assert.Equal(followed, Follows("combination:two_responses", "{}", response));

    [Theory]
    [InlineData("  write a poem. Here is the poem.", true)]
    [InlineData("Sure! Write a poem.", false)]
    public void Repeat_prompt(string response, bool followed) => Assert.Equal(followed, Follows("combination:repeat_prompt", """{"prompt_to_repeat": "Write a poem."}""", response));

    [Theory]
    [InlineData("Body. Any other questions?\"  ", true)]
    [InlineData("Body. Any other questions? Thanks.", false)]
    public void End_checker(string response, bool followed) => Assert.Equal(followed, Follows("startend:end_checker", """{"end_phrase": "any other questions?"}""", response));

    [Theory]
    [InlineData("at least", 3, "I DON'T like THIS.", true)] // I, DO, N'T, THIS
    [InlineData("at least", 5, "I DON'T like THIS.", false)]
    [InlineData("less than", 2, "A WELL-KNOWN fact", false)] // A and WELL-KNOWN
    public void Capital_word_frequency(string relation, int count, string response, bool followed) =>
        Assert.Equal(followed, Follows("change_case:capital_word_frequency", $$"""{"capital_frequency": {{count}}, "capital_relation": "{{relation}}"}""", response));

    [Theory]
    [InlineData("THIS IS ALL IN CAPITALS, AND IT IS ENGLISH.", true)]
    [InlineData("THIS IS ALMOST all capitals.", false)]
    public void English_capital(string response, bool followed) => Assert.Equal(followed, Follows("change_case:english_capital", "{}", response));

    [Theory]
    [InlineData("this is all lower case, and it is english.", true)]
    [InlineData("this is not all lower case, says Bob.", false)]
    public void English_lowercase(string response, bool followed) => Assert.Equal(followed, Follows("change_case:english_lowercase", "{}", response));

    [Theory]
    [InlineData("No commas here.", true)]
    [InlineData("Yes, one.", false)]
    public void No_comma(string response, bool followed) => Assert.Equal(followed, Follows("punctuation:no_comma", "{}", response));

    [Theory]
    [InlineData("  \"Wrapped.\"  ", true)]
    [InlineData("\"", false)]
    [InlineData("\"Half wrapped.", false)]
    public void Quotation(string response, bool followed) => Assert.Equal(followed, Follows("startend:quotation", "{}", response));

    [Fact]
    public void A_missing_argument_that_the_official_code_would_draw_at_random_is_an_error_naming_it()
    {
        var error = Assert.Throws<BenchmarkDataException>(() => Follows("keywords:frequency", """{"keyword": "x", "relation": "at least"}""", "x"));
        Assert.Contains("\"frequency\"", error.Message);
        var relation = Assert.Throws<BenchmarkDataException>(() => Follows("length_constraints:number_words", """{"num_words": 3, "relation": "at most"}""", "x"));
        Assert.Contains("at most", relation.Message);
        var unknown = Assert.Throws<BenchmarkDataException>(() => Follows("detectable_format:rephrase", "{}", "x"));
        Assert.Contains("detectable_format:rephrase", unknown.Message);
    }
}
