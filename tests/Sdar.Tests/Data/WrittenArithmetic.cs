using System.Globalization;
using System.Text.RegularExpressions;

namespace Sdar.Tests.Data;

/// <summary>
/// Checks the computations written in worked answers: every chain like <c>3 * 4 = 12</c> or
/// <c>47 * 30 = 141 * 10 = 1410</c> must hold, with * and / before + and -, and every division exact.
/// </summary>
internal static partial class WrittenArithmetic
{
    [GeneratedRegex(@"-?\d+(?: [-+*/] -?\d+)*(?: = -?\d+(?: [-+*/] -?\d+)*)+")]
    private static partial Regex Chain();

    /// <summary>The equation chains in <paramref name="text"/> (those containing at least one '=').</summary>
    public static IEnumerable<string> Chains(string text) => Chain().Matches(text).Select(m => m.Value);

    /// <summary>Null when every side of the chain has the same value, else a description of what is wrong.</summary>
    public static string? Check(string chain)
    {
        var sides = chain.Split(" = ");
        var values = sides.Select(Evaluate).ToList();
        if (values.Any(v => v is null))
            return $"inexact division in '{chain}'";
        return values.Distinct().Count() == 1 ? null : $"'{chain}' evaluates to {string.Join(" / ", values)}";
    }

    /// <summary>Evaluates "a op b op c" with the usual precedence; null on an inexact division.</summary>
    public static long? Evaluate(string expression)
    {
        var tokens = expression.Split(' ');
        long total = 0, term = long.Parse(tokens[0], CultureInfo.InvariantCulture);
        int sign = 1;
        for (int i = 1; i < tokens.Length; i += 2)
        {
            long operand = long.Parse(tokens[i + 1], CultureInfo.InvariantCulture);
            switch (tokens[i])
            {
                case "*":
                    term *= operand;
                    break;
                case "/":
                    if (operand == 0 || term % operand != 0)
                        return null;
                    term /= operand;
                    break;
                default:
                    total += sign * term;
                    sign = tokens[i] == "+" ? 1 : -1;
                    term = operand;
                    break;
            }
        }

        return total + sign * term;
    }
}
