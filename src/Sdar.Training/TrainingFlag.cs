namespace Sdar.Training;

/// <summary>
/// A command-line flag of the training verbs that the library's checks can name (<see cref="OptionException"/>).
/// Every check names one of these, never a free string, so a message cannot send a user to a flag that does not
/// exist; a test holds this list against the flags <c>sdar train</c>, <c>convert</c> and <c>sft</c> declare.
/// </summary>
/// <param name="Name">The flag without its dashes.</param>
/// <param name="Verbs">The verbs that declare it.</param>
public sealed record TrainingFlag(string Name, params string[] Verbs)
{
    private static readonly string[] AllVerbs = ["train", "convert", "sft"];

    public static readonly TrainingFlag Data = new("data", AllVerbs);
    public static readonly TrainingFlag EvalData = new("eval-data", AllVerbs);
    public static readonly TrainingFlag Out = new("out", AllVerbs);
    public static readonly TrainingFlag RunDir = new("run-dir", AllVerbs);
    public static readonly TrainingFlag Steps = new("steps", AllVerbs);
    public static readonly TrainingFlag BatchRows = new("batch-rows", AllVerbs);
    public static readonly TrainingFlag GradAccum = new("grad-accum", AllVerbs);
    public static readonly TrainingFlag SeqLength = new("seq-length", AllVerbs);
    public static readonly TrainingFlag LearningRate = new("lr", AllVerbs);
    public static readonly TrainingFlag Warmup = new("warmup", AllVerbs);
    public static readonly TrainingFlag WeightDecay = new("weight-decay", AllVerbs);
    public static readonly TrainingFlag Clip = new("clip", AllVerbs);
    public static readonly TrainingFlag EvalEvery = new("eval-every", AllVerbs);
    public static readonly TrainingFlag CheckpointEvery = new("checkpoint-every", AllVerbs);
    public static readonly TrainingFlag Seed = new("seed", AllVerbs);
    public static readonly TrainingFlag SaveDtype = new("save-dtype", AllVerbs);
    public static readonly TrainingFlag Tokenizer = new("tokenizer", "train");
    public static readonly TrainingFlag VocabSize = new("vocab-size", "train");
    public static readonly TrainingFlag Model = new("model", "convert", "sft");
    public static readonly TrainingFlag BlockLength = new("block-length", "convert", "sft");

    /// <summary>Every flag above, for the test that checks them against the CLI.</summary>
    public static IReadOnlyList<TrainingFlag> All { get; } =
        typeof(TrainingFlag).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.FieldType == typeof(TrainingFlag)).Select(f => (TrainingFlag)f.GetValue(null)!).ToList();

    public override string ToString() => "--" + Name;
}
