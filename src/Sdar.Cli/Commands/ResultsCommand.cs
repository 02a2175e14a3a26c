using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Sdar.Checkpoints;
using Sdar.Decoding;
using Sdar.Evaluation.Runs;
using Sdar.Runtime;

namespace Sdar.Cli.Commands;

/// <summary>
/// <c>sdar results</c>: regenerates <c>docs/RESULTS.md</c> and its plots from the bundled models: the AR parent
/// against the SDAR model (static, dynamic 0.9 and 0.95) on the synthetic suite, accuracy against tokens per forward
/// for every block size, the wall-clock speed-up over AR decoding at two concurrencies, majority-vote gains, and
/// (with <c>--from-scratch</c>) the paper's claim (c): AR-then-convert against block diffusion from scratch at equal
/// training FLOPs, the budgets read from each model's training.json.
/// Every run keeps its answers under the work folder, so an interrupted regeneration continues where it stopped.
/// </summary>
internal static class ResultsCommand
{
    public static Command Create()
    {
        var data = new Option<FileInfo>("--data", "-d") { Description = "The synthetic suite's test split (`sdar data generate`'s test.jsonl).", Required = true, HelpName = "FILE" };
        var models = new Option<string[]>("--models") { Description = "The SDAR models, one per block size (comma-separated). Default: the bundled ones found in models/ (sdar-mini, sdar-mini-b8, sdar-mini-b16).", HelpName = "DIR,...", CustomParser = CliParsing.CommaSeparated };
        var ar = new Option<string?>("--ar") { Description = "The AR parent. Default: models/sdar-mini-ar.", HelpName = "DIR" };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Where RESULTS.md and its plots (results/*.png) go.", DefaultValueFactory = _ => new DirectoryInfo("docs"), HelpName = "DIR" };
        var work = new Option<DirectoryInfo>("--work") { Description = "Where each run's answers are kept (resumable).", DefaultValueFactory = _ => new DirectoryInfo("out/results"), HelpName = "DIR" };
        var concurrency = new Option<int>("--concurrency") { Description = "Answers decoded at once in the main runs.", DefaultValueFactory = _ => 8, HelpName = "N" };
        concurrency.Integer(1, 4096);
        var limit = new Option<int?>("--limit") { Description = "Only the first N items (a quicker, rougher page).", HelpName = "N" };
        limit.Integer(1);
        var singleLimit = new Option<int>("--single-limit") { Description = "Items of the one-at-a-time (concurrency 1) speed-up runs.", DefaultValueFactory = _ => 100, HelpName = "N" };
        singleLimit.Integer(1);
        var samples = new Option<int>("--samples") { Description = "Answers per item of the majority-vote runs.", DefaultValueFactory = _ => 5, HelpName = "K" };
        samples.Integer(2, 64);
        var temperature = new Option<double>("--temperature") { Description = "Temperature of the majority-vote runs.", DefaultValueFactory = _ => 0.7, HelpName = "X" };
        temperature.Real(0, 10, lowExclusive: true);
        var scratch = new Option<string?>("--from-scratch") { Description = "An SDAR model trained from random initialisation on the same data (recipes/claim-c.sh), for claim (c): compared with the first --models at equal training FLOPs, read from each folder's training.json.", HelpName = "DIR" };
        var command = new Command("results", "Regenerate docs/RESULTS.md and its plots from the bundled models on the synthetic suite.")
        {
            data, models, ar, outDir, work, concurrency, limit, singleLimit, samples, temperature, scratch,
        };
        command.SetAction((parse, cancellation) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var file = parse.GetValue(data)!;
            if (!file.Exists) throw new FileNotFoundException($"--data: {file.FullName}: file not found");
            // The bundled models' folder is looked for only when a model is not named.
            string Bundled() => Path.GetDirectoryName(BundledModels.Locate())!;
            var sdarDirs = parse.GetValue(models) is { Length: > 0 } given ? given
                : new[] { "sdar-mini", "sdar-mini-b8", "sdar-mini-b16" }.Select(n => Path.Combine(Bundled(), n)).Where(Directory.Exists).ToArray();
            string arDir = parse.GetValue(ar) ?? Path.Combine(Bundled(), BundledModels.ParentName);
            string docs = parse.GetValue(outDir)!.FullName, workDir = parse.GetValue(work)!.FullName;
            string? scratchDir = parse.GetValue(scratch);
            using var docsLock = Sdar.IO.OutputPaths.ClaimFolder(docs, "--out");
            using var workLock = Sdar.IO.OutputPaths.ClaimFolder(workDir, "--work");
            var page = new ResultsPage(file.FullName, sdarDirs, arDir, docs, workDir, parse.GetValue(concurrency), parse.GetValue(limit), parse.GetValue(singleLimit),
                parse.GetValue(samples), parse.GetValue(temperature), scratchDir, error, cancellation);
            page.Build();
            parse.InvocationConfiguration.Output.WriteLine($"wrote {Path.Combine(docs, "RESULTS.md")}");
            return Task.FromResult(0);
        });
        return command;
    }

    private sealed class ResultsPage(string data, IReadOnlyList<string> sdarDirs, string arDir, string docs, string work, int concurrency, int? limit,
        int singleLimit, int samples, double temperature, string? scratchDir, TextWriter error, CancellationToken cancellation)
    {
        private static readonly GenerationOptions Greedy = new() { MaxNewTokens = 256, Temperature = 0 };

        public void Build()
        {
            var clock = Stopwatch.StartNew();
            // Before any output is written: the page's own plots would otherwise count as uncommitted changes.
            string commit = Commit();
            var models = new List<LoadedModel>();
            try
            {
                foreach (string dir in sdarDirs) models.Add(LoadedModel.Open(dir));
                CliParsing.Require(models.Count > 0, "--models: no SDAR models given or found in models/");
                // Read first: a missing or partial training history fails before an hour of decoding.
                (Sdar.Training.Recipes.TrainingProvenance, Sdar.Training.Recipes.TrainingProvenance)? budgets = scratchDir is null ? null : ClaimC.Budgets(models[0].Directory, scratchDir);
                using var arModel = LoadedModel.Open(arDir);
                var main = models[0];
                var request = Request(limit, concurrency, Greedy, samplesPerItem: 1);
                var plan = EvalSweep.Plan(request);

                // 1-3: every block size, static and dynamic thresholds, against the AR parent at the same concurrency.
                var sweep = EvalSweep.Sweep(request, plan, models, arModel,
                    new EvalSweep.Grid([.. models.Select(m => m.Directory)], [], ["low_confidence_static", "low_confidence_dynamic"], [0.7, 0.8, 0.9, 0.95], []),
                    Path.Combine(work, "sweep"), error, cancellation);
                // One at a time: the latency view, where each forward carries one sequence.
                var singleRequest = Request(Math.Min(singleLimit, plan.Items.Count), 1, Greedy, samplesPerItem: 1);
                var singlePlan = EvalSweep.Plan(singleRequest);
                var single = EvalSweep.Sweep(singleRequest, singlePlan, [main], arModel,
                    new EvalSweep.Grid([main.Directory], [], ["low_confidence_dynamic"], [0.9], []), Path.Combine(work, "single"), error, cancellation);
                // 4: majority voting over sampled answers, SDAR dynamic 0.9 and AR.
                var sampled = Greedy with { Temperature = temperature, Seed = 1 };
                var voteRequest = Request(limit, concurrency, sampled, samples);
                var votePlan = EvalSweep.Plan(voteRequest);
                var votes = EvalSweep.Sweep(voteRequest, votePlan, [main], arModel,
                    new EvalSweep.Grid([main.Directory], [], ["low_confidence_dynamic"], [0.9], []), Path.Combine(work, "votes"), error, cancellation);

                // 5: claim (c), the from-scratch model decoded as the converted one is.
                EvalSweep.Outcome? fromScratch = null;
                if (scratchDir is not null)
                {
                    using var scratchModel = LoadedModel.Open(scratchDir);
                    CliParsing.Require(scratchModel.Config.IsDiffusion, $"--from-scratch {scratchDir}: expected an SDAR model (model_type '{scratchModel.Config.ModelType}')");
                    fromScratch = EvalSweep.Sweep(request, plan, [scratchModel], null,
                        new EvalSweep.Grid([scratchModel.Directory], [], ["low_confidence_static", "low_confidence_dynamic"], [0.9], []),
                        Path.Combine(work, "from-scratch"), error, cancellation);
                }

                Directory.CreateDirectory(Path.Combine(docs, "results"));
                foreach (string png in (string[])["accuracy-vs-tpf.png", "speedup.png"])
                    File.Copy(Path.Combine(work, "sweep", png), Path.Combine(docs, "results", png), overwrite: true);
                AtomicFile.WriteText(Path.Combine(docs, "RESULTS.md"), Markdown(plan.Items.Count, main, arModel, sweep, single, singlePlan.Items.Count, votes, budgets, fromScratch, clock.Elapsed, commit));
            }
            finally
            {
                foreach (var model in models) model.Dispose();
            }
        }

        private EvalRun.Request Request(int? items, int inFlight, GenerationOptions options, int samplesPerItem) =>
            new("synthetic", data, items, 0, null, samplesPerItem, samplesPerItem > 1 ? [1, samplesPerItem] : [], 0, null, null, null, null, null,
                inFlight, true, options, [], new EngineOptions(), null, false, false);

        private string Markdown(int items, LoadedModel main, LoadedModel ar, EvalSweep.Outcome sweep, EvalSweep.Outcome single, int singleItems, EvalSweep.Outcome votes,
            (Sdar.Training.Recipes.TrainingProvenance Converted, Sdar.Training.Recipes.TrainingProvenance Scratch)? budgets, EvalSweep.Outcome? fromScratch, TimeSpan took, string commit)
        {
            string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
            string Pct(double v) => F(100 * v, "0.0") + " %";
            var md = new StringBuilder();
            md.Append("# Results\n\n");
            md.Append("Regenerated by one command, `./sdar results --data out/sdar-mini/data/test.jsonl` (the 500-item held-out test split of the\n");
            md.Append("bundled synthetic suite, `sdar data generate --seed 1234`); every number below comes from that run.\n\n");
            md.Append(string.Create(CultureInfo.InvariantCulture,
                $"* **Measured on**: {Machine()}, {Environment.ProcessorCount} threads (all cores), .NET {Environment.Version}; commit {commit}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; the whole page took {took.TotalMinutes:F0} min.\n"));
            md.Append(string.Create(CultureInfo.InvariantCulture,
                $"* **Items**: {items} test items, greedy decoding, chat prompt with thinking off, at most 256 new tokens; accuracy is exact match of the number after `####`.\n"));
            md.Append(string.Create(CultureInfo.InvariantCulture,
                $"* **Concurrency**: {concurrency} answers decoding at once through the engine (continuous batching) unless a table says otherwise; tokens/s is generated tokens over the run's wall clock, and the speed-up is the AR run's wall clock over the SDAR run's for the same items at the same concurrency, each after one untimed warm-up answer.\n"));
            md.Append("* **Machine noise**: this is a shared CPU machine; wall-clock numbers move by 10-20 % between runs, accuracy and tokens per forward do not (greedy decoding is deterministic).\n\n");

            md.Append($"## AR parent against SDAR (block size {main.Config.BlockSize})\n\n");
            md.Append("| model | decoding | accuracy | tokens per forward | NFE (denoising) | tokens/s | speed-up over AR |\n| --- | --- | --- | --- | --- | --- | --- |\n");
            var arRun = sweep.Ar!;
            md.Append($"| {Name(ar)} | autoregressive | {Pct(arRun.Report.Accuracy)} | 1.00 | {arRun.Metrics.DenoisingForwards} | {F(arRun.Metrics.TokensPerSecond, "0")} | 1.00x |\n");
            foreach (var row in sweep.Rows.Where(r => r.Point.Model == main.Directory && (r.Point.Threshold is null or 0.9 or 0.95)))
            {
                string how = row.Point.Strategy == "low_confidence_static" ? "static (1 token per step)" : $"dynamic, threshold {row.Point.Threshold:0.##}";
                var m = row.Result.Metrics;
                md.Append($"| {Name(main)} | {how} | {Pct(row.Result.Report.Accuracy)} | {F(m.TokensPerForward ?? 0, "0.00")} | {m.DenoisingForwards} | {F(m.TokensPerSecond, "0")} | {F(row.Speedup ?? 0, "0.00")}x |\n");
            }
            var s1 = single.Rows[0];
            md.Append(string.Create(CultureInfo.InvariantCulture,
                $"\nOne answer at a time (concurrency 1, the first {singleItems} items): AR {F(single.Ar!.Metrics.TokensPerSecond, "0")} tokens/s, SDAR dynamic 0.9 {F(s1.Result.Metrics.TokensPerSecond, "0")} tokens/s at {F(s1.Result.Metrics.TokensPerForward ?? 0, "0.00")} tokens per forward: **{F(s1.Speedup ?? 0, "0.00")}x** wall clock.\n\n"));

            md.Append("## Accuracy against tokens per forward, by block size\n\n");
            md.Append("![accuracy against tokens per forward](results/accuracy-vs-tpf.png)\n\n");
            md.Append("Static decoding commits one token per step (tokens per forward about 1); the dynamic strategy commits every masked position above the threshold (0.7, 0.8, 0.9, 0.95), so lower thresholds give more tokens per forward.\n\n");
            md.Append(sweep.Table).Append('\n');

            md.Append("## Wall-clock speed-up over AR decoding\n\n![speed-up over AR](results/speedup.png)\n\n");
            md.Append(string.Create(CultureInfo.InvariantCulture, $"At concurrency {concurrency}, all settings of the table above; the dashed line is AR.\n\n"));

            md.Append(string.Create(CultureInfo.InvariantCulture, $"## Majority voting ({samples} sampled answers per item, temperature {temperature:0.##})\n\n"));
            md.Append($"| model | decoding | greedy accuracy | pass@1 (sampled) | majority vote | pass@{samples} |\n| --- | --- | --- | --- | --- | --- |\n");
            var greedyDynamic = sweep.Rows.First(r => r.Point.Model == main.Directory && r.Point.Threshold == 0.9).Result.Report.Accuracy;
            AppendVote(md, Name(ar), "autoregressive", arRun.Report.Accuracy, votes.Ar!, Pct);
            AppendVote(md, Name(main), "dynamic, threshold 0.9", greedyDynamic, votes.Rows[0].Result, Pct);
            if (budgets is { } b && fromScratch is not null)
                md.Append(ClaimC.Section(main, sweep, b.Converted, fromScratch, b.Scratch, Pct));
            else
                md.Append("\n## Claim (c)\n\nNot measured in this run: give `--from-scratch DIR` with the model `recipes/claim-c.sh` trains.\n");
            return md.ToString();
        }

        private void AppendVote(StringBuilder md, string model, string decoding, double greedy, EvaluationResult run, Func<double, string> pct)
        {
            var report = run.Report;
            double passK = report.PassAtK.FirstOrDefault(p => p.K == samples).PassAtK;
            md.Append($"| {model} | {decoding} | {pct(greedy)} | {pct(report.Accuracy)} | {pct(report.MajorityAccuracy ?? 0)} | {pct(passK)} |\n");
        }

        private static string Name(LoadedModel model) => Path.GetFileName(model.Directory.TrimEnd('/'));

        private static string Machine()
        {
            try
            {
                string? name = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                return name is null ? "unknown CPU" : name[(name.IndexOf(':') + 1)..].Trim();
            }
            catch (IOException)
            {
                return "unknown CPU";
            }
        }

        private static string Commit()
        {
            try
            {
                string head = Git("rev-parse --short HEAD");
                return head.Length == 0 ? "unknown" : head + (Git("status --porcelain --untracked-files=no").Length > 0 ? " (with uncommitted changes)" : "");
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return "unknown (no git)";
            }
        }

        private static string Git(string arguments)
        {
            using var git = Process.Start(new ProcessStartInfo("git", arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            string text = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? text : "";
        }
    }
}
