using System.Diagnostics;
using System.Globalization;

namespace Sdar.Templates;

/// <summary>
/// The running account of one render against its <see cref="TemplateLimits"/>. Size checks happen before an
/// operation allocates its result; time and memory are sampled every <see cref="SampleEvery"/> operations so the
/// check costs nothing measurable.
/// </summary>
internal sealed class RenderBudget
{
    private const int SampleEvery = 256;

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly long _allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
    private int _untilSample = SampleEvery;

    public RenderBudget(TemplateLimits limits) => Limits = limits;

    public TemplateLimits Limits { get; }

    public long LoopIterations { get; private set; }
    public long MacroCalls { get; private set; }
    public int CallDepth { get; private set; }
    public int PeakCallDepth { get; private set; }
    public long AllocatedBytes => GC.GetAllocatedBytesForCurrentThread() - _allocatedAtStart;
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Counts one operation; every few hundred, checks the clock and the allocation total.</summary>
    public void Tick(int line)
    {
        if (--_untilSample > 0) return;
        Sample(line);
    }

    /// <summary>Results this large check time and memory at once rather than at the next sample.</summary>
    private const long LargeResult = 1 << 16;

    private void Sample(int line)
    {
        _untilSample = SampleEvery;
        if (_clock.Elapsed > Limits.MaxRenderTime)
            throw Exceeded(line, $"its time budget of {Limits.MaxRenderTime.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        if (AllocatedBytes > Limits.MaxAllocatedBytes)
            throw Exceeded(line, $"its memory budget of {Limits.MaxAllocatedBytes:N0} bytes allocated");
    }

    public void CountIteration(int line)
    {
        if (++LoopIterations > Limits.MaxLoopIterations)
            throw Exceeded(line, $"its loop budget of {Limits.MaxLoopIterations:N0} iterations");
        Tick(line);
    }

    public void EnterCall(string name, int line)
    {
        if (++MacroCalls > Limits.MaxMacroCalls)
            throw Exceeded(line, $"its budget of {Limits.MaxMacroCalls:N0} macro calls (in '{name}')");
        if (++CallDepth > Limits.MaxCallDepth)
        {
            CallDepth--;
            throw Exceeded(line, $"its call depth limit of {Limits.MaxCallDepth:N0} nested macro calls (in '{name}'; runaway recursion?)");
        }
        PeakCallDepth = Math.Max(PeakCallDepth, CallDepth);
        Tick(line);
    }

    public void ExitCall() => CallDepth--;

    /// <summary>Refuses a string of <paramref name="length"/> characters before it is built.</summary>
    public void CheckString(long length, int line, string operation)
    {
        if (length > Limits.MaxStringChars)
            throw Exceeded(line, $"its string size limit of {Limits.MaxStringChars:N0} characters ({operation} would make {length:N0})");
        if (length >= LargeResult) Sample(line);
    }

    /// <summary>Refuses a list of <paramref name="count"/> items before it is built.</summary>
    public void CheckList(long count, int line, string operation)
    {
        if (count > Limits.MaxListItems)
            throw Exceeded(line, $"its list size limit of {Limits.MaxListItems:N0} items ({operation} would make {count:N0})");
        if (count >= LargeResult) Sample(line);
    }

    /// <summary>Refuses to grow rendered text to <paramref name="length"/> characters.</summary>
    public void CheckOutput(long length, int line)
    {
        if (length > Limits.MaxOutputChars)
            throw Exceeded(line, $"its output limit of {Limits.MaxOutputChars:N0} characters");
    }

    /// <summary>Checks what a filter, method or function returned (the ones that cannot know their size up front).</summary>
    public void CheckResult(object? result, int line, string operation)
    {
        if (result is string s) CheckString(s.Length, line, operation);
        else if (result is IReadOnlyCollection<object?> l) CheckList(l.Count, line, operation);
        Tick(line);
    }

    private static TemplateException Exceeded(int line, string what) => new($"the template exceeded {what}", line);
}

/// <summary>
/// A limit hit deep inside formatting code that does not know the template line; the statement or expression
/// being evaluated turns it into a <see cref="TemplateException"/> on its line.
/// </summary>
internal sealed class TemplateLimitException(string message) : Exception(message);
