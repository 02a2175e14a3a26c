using System.Globalization;
using System.Text;
using Sdar.Evaluation.Runs;
using Sdar.Runtime;
using Sdar.Training.Recipes;

namespace Sdar.Cli.Commands;

/// <summary>
/// The results page's section on the paper's claim (c): at equal training FLOPs, converting a trained AR model into
/// a block-diffusion one beats training the block-diffusion model from scratch on the same data. The budgets are
/// each model's training.json (every stage since random initialisation), so the page states what it compares.
/// </summary>
internal static class ClaimC
{
    /// <summary>The two training histories; refuses a folder whose history is missing or does not start at initialisation.</summary>
    public static (TrainingProvenance Converted, TrainingProvenance Scratch) Budgets(string convertedDir, string scratchDir) =>
        (History(convertedDir, "--models"), History(scratchDir, "--from-scratch"));

    private static TrainingProvenance History(string dir, string flag)
    {
        var history = TrainingProvenance.Load(dir);
        CliParsing.Require(history is not null,
            $"{flag} {dir}: no {TrainingProvenance.FileName}; claim (c) compares training budgets, so both models must come from Sdar's recipes (they write it)");
        CliParsing.Require(history!.FromInitialisation,
            $"{flag} {dir}: {TrainingProvenance.FileName} does not go back to random initialisation (a stage started from a folder without one), so its training FLOPs are unknown");
        return history;
    }

    public static string Section(LoadedModel converted, EvalSweep.Outcome sweep, TrainingProvenance convertedHistory,
        EvalSweep.Outcome scratch, TrainingProvenance scratchHistory, Func<double, string> pct)
    {
        string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        EvaluationResult Find(IEnumerable<SweepRow> rows, bool dynamic) =>
            rows.First(r => (r.Point.Strategy == "low_confidence_dynamic") == dynamic && (!dynamic || r.Point.Threshold == 0.9)).Result;
        var convertedRows = sweep.Rows.Where(r => r.Point.Model == converted.Directory).ToList();
        var (cStatic, cDynamic) = (Find(convertedRows, false), Find(convertedRows, true));
        var (sStatic, sDynamic) = (Find(scratch.Rows, false), Find(scratch.Rows, true));

        var md = new StringBuilder();
        md.Append("\n## Claim (c): AR-then-convert against block diffusion from scratch, at equal training FLOPs\n\n");
        md.Append("Both models have the same architecture, tokenizer and parameter count, and saw the same data files (`pretrain.jsonl`, then the `sft.jsonl` chats).\n");
        md.Append("The converted model spent its budget on AR pretraining and AR SFT (the parent), then conversion and block-diffusion SFT. The other spent all of it\n");
        md.Append("on the block-diffusion objective from a random initialisation (`recipes/claim-c.sh`). Training FLOPs are 6 x parameters x tokens through the model, where\n");
        md.Append("the block-diffusion objective's `[noised, clean]` layout counts each token twice. The stages are read from each folder's `training.json`. Both models\n");
        md.Append("are decoded the same way on the same items.\n\n");
        md.Append("| path | stages (steps) | tokens through the model | training FLOPs | static accuracy | dynamic 0.9 accuracy | tokens per forward (dynamic 0.9) |\n");
        md.Append("| --- | --- | --- | --- | --- | --- | --- |\n");
        void Row(string path, TrainingProvenance h, EvaluationResult st, EvaluationResult dyn) => md.Append(string.Create(CultureInfo.InvariantCulture,
            $"| {path} | {Stages(h)} | {h.Stages.Sum(s => s.ModelTokens):N0} | {h.Flops:0.00e0} | {pct(st.Report.Accuracy)} | {pct(dyn.Report.Accuracy)} | {F(dyn.Metrics.TokensPerForward ?? 0, "0.00")} |\n"));
        Row($"AR then convert ({Path.GetFileName(converted.Directory.TrimEnd('/'))})", convertedHistory, cStatic, cDynamic);
        Row("block diffusion from scratch", scratchHistory, sStatic, sDynamic);
        double ratio = scratchHistory.Flops / convertedHistory.Flops;
        double gap = 100 * (cStatic.Report.Accuracy - sStatic.Report.Accuracy), gapDynamic = 100 * (cDynamic.Report.Accuracy - sDynamic.Report.Accuracy);
        md.Append(string.Create(CultureInfo.InvariantCulture,
            $"\nWith {F(ratio, "0.00")}x the converted model's training FLOPs, the model trained from scratch is {Points(gap)} {(gap >= 0 ? "below" : "above")} it with static decoding and {Points(gapDynamic)} {(gapDynamic >= 0 ? "below" : "above")} with dynamic decoding at threshold 0.9.\n"));
        return md.ToString();
    }

    private static string Points(double gap) => Math.Abs(gap).ToString("0.0", CultureInfo.InvariantCulture) + " points";

    private static string Stages(TrainingProvenance history) => string.Join("; ", history.Stages.Select(s =>
        string.Create(CultureInfo.InvariantCulture, $"{s.Recipe} {(s.BlockLength is { } b ? $"B={b}" : "AR")} ({s.Steps:N0})")));
}
