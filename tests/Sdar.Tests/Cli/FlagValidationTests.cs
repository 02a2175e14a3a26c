using System.CommandLine;
using Sdar.Cli;

namespace Sdar.Tests.Cli;

/// <summary>
/// Every typed flag of every verb, found by walking the command tree (so a flag added later is covered too), given
/// values a hostile or careless user types: each must be refused with one line that names the flag and says what
/// was expected, exit code 2, and never a stack trace.
/// </summary>
public class FlagValidationTests
{
    public static TheoryData<string, string> TypedFlags()
    {
        var data = new TheoryData<string, string>();
        foreach (var (path, option) in AllOptions(SdarCli.Build(), []))
        {
            Type type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
            if (type == typeof(int) || type == typeof(long) || type == typeof(double) || type == typeof(int[]) || type.IsEnum)
                data.Add(path, option.Name);
        }
        return data;
    }

    private static IEnumerable<(string Path, Option Option)> AllOptions(Command command, List<string> parents)
    {
        var path = new List<string>(parents) { command.Name };
        foreach (var option in command.Options) yield return (string.Join(' ', path.Skip(1)), option);
        foreach (var sub in command.Subcommands)
            foreach (var found in AllOptions(sub, path)) yield return found;
    }

    private static Option Find(string path, string flag)
    {
        Command command = SdarCli.Build();
        foreach (string name in path.Split(' ', StringSplitOptions.RemoveEmptyEntries)) command = command.Subcommands.Single(c => c.Name == name);
        return command.Options.Single(o => o.Name == flag);
    }

    /// <summary>Values no typed flag accepts: words, empty, NaN, overflow.</summary>
    private static readonly string[] NeverValid = ["abc", "", "NaN", "Infinity", "-Infinity", "1e999", "0x10", "1,5e2"];

    /// <summary>Values an integer flag must refuse though a real-number flag may take them.</summary>
    private static readonly string[] NotIntegers = ["1.5", "1e3", "2147483648", "-2147483649", "99999999999999999999999"];

    [Theory]
    [MemberData(nameof(TypedFlags))]
    public void Every_typed_flag_refuses_bad_values_with_one_line_naming_the_flag(string verb, string flag)
    {
        Type type = Nullable.GetUnderlyingType(Find(verb, flag).ValueType) ?? Find(verb, flag).ValueType;
        var values = new List<string>(NeverValid);
        if (type == typeof(int) || type == typeof(int[])) values.AddRange(NotIntegers);
        if (type == typeof(long)) values.AddRange(["1.5", "1e3", "9223372036854775808"]);
        foreach (string value in values)
        {
            string[] args = [.. verb.Split(' ', StringSplitOptions.RemoveEmptyEntries), flag, value];
            var (code, output, error) = CliRunner.Run(args);
            string context = $"sdar {string.Join(' ', args)} -> exit {code}: {error}";
            Assert.True(code == SdarCli.ExitBadInput, context);
            Assert.Contains($"{flag}: expected", error, StringComparison.Ordinal);
            // A list names the element it could not read ("1,5e2" -> '5e2').
            Assert.Contains(type == typeof(int[]) ? "got '" : $"got '{value}'", error, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
            Assert.Equal("", output);
        }
    }

    [Theory]
    [InlineData("generate", "--max-new-tokens", "0", "an integer from 1 to 16777216")]
    [InlineData("generate", "--max-new-tokens", "1000000000", "an integer from 1 to 16777216")]
    [InlineData("generate", "--top-p", "1.5", "a number in (0, 1]")]
    [InlineData("generate", "--top-p", "0", "a number in (0, 1]")]
    [InlineData("generate", "--temperature", "-1", "a number of at least 0")]
    [InlineData("generate", "--threshold", "0", "a number in (0, 1]")]
    [InlineData("generate", "--top-k", "-1", "an integer from 0 to")]
    [InlineData("generate", "--stop-token-ids", "1,-2", "a comma-separated list of integers from 0 to")]
    [InlineData("generate", "--engine", "Turbo", "one of Fast, Reference")]
    [InlineData("bench", "--tokens", "0", "a comma-separated list of integers from 1 to")]
    [InlineData("eval", "--concurrency", "0", "an integer from 1 to 4096")]
    [InlineData("data generate", "--train", "-5", "an integer from 0 to 100000000")]
    [InlineData("train", "--lr", "0", "a number above 0")]
    [InlineData("train", "--clip", "-1", "a number of at least 0")]
    [InlineData("train", "--layers", "2147483647", "an integer from 1 to 1048576")]
    [InlineData("train", "--save-dtype", "Q4", "one of")]
    public void Out_of_range_values_say_the_range(string verb, string flag, string value, string expected)
    {
        string[] args = [.. verb.Split(' '), flag, value];
        var (code, _, error) = CliRunner.Run(args);
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains($"{flag}: expected {expected}", error, StringComparison.Ordinal);
        // A list names the element it could not read: the last one in these cases.
        Assert.Contains($"got '{value.Split(',')[^1]}'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("generate", "--enable-thinking")]
    [InlineData("tokenize", "--enable-thinking")]
    [InlineData("tokenize", "--add-generation-prompt")]
    public void Boolean_flags_name_themselves_when_the_value_is_not_a_boolean(string verb, string flag)
    {
        var (code, _, error) = CliRunner.Run(verb, flag, "maybe");
        Assert.Equal(SdarCli.ExitBadInput, code);
        Assert.Contains($"{flag}: expected true or false; got 'maybe'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Usage_hint_names_the_whole_verb()
    {
        var (_, _, error) = CliRunner.Run("data", "generate", "--out", "x", "--train", "abc");
        Assert.Contains("Run 'sdar data generate --help' for usage.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Valid_edge_values_parse()
    {
        // The largest accepted values, negative seeds and exponents in real-number flags are fine at parse time.
        var parse = SdarCli.Build().Parse(["generate", "--prompt", "x", "--max-new-tokens", "16777216", "--seed", "-5",
            "--temperature", "1e-3", "--top-p", "1", "--enable-thinking", "False"]);
        Assert.Empty(parse.Errors);
    }
}
