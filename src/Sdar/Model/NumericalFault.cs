using System.Numerics;

namespace Sdar.Model;

/// <summary>Where non-finite values first appeared in a forward: the module (HF key prefix), the stage and the position.</summary>
public sealed record NumericalFault(string Module, string Stage, int Position, float Value)
{
    public string Kind => float.IsNaN(Value) ? "NaN" : Value > 0 ? "+Inf" : "-Inf";

    public override string ToString() =>
        $"{Module} ({Stage}): non-finite activations ({Kind}) at position {Position}; the weights or the input are broken";
}

/// <summary>
/// Generation hit NaN or Inf: the message names the layer where they first appear (found by re-running the failing
/// forward with a check after every stage), so a broken checkpoint is told from a decoding problem.
/// </summary>
public sealed class NumericalFaultException : SdarException
{
    public NumericalFaultException(string message) : base(message) { }
    public NumericalFaultException(string message, Exception inner) : base(message, inner) { }
    public NumericalFaultException() { }

    public NumericalFaultException(NumericalFault fault) : base(fault.ToString()) => Fault = fault;

    /// <summary>The located fault; null when the engine could not locate it.</summary>
    public NumericalFault? Fault { get; }
}

/// <summary>A model that can re-run one forward checking each stage for non-finite values (the diagnostic path).</summary>
public interface INumericalDiagnostics
{
    /// <summary>
    /// Runs <paramref name="input"/> (which must not store K/V) and returns the first stage whose output holds NaN
    /// or Inf, or null when every stage is finite.
    /// </summary>
    NumericalFault? LocateNonFinite(SequenceInput input);
}

/// <summary>The cheap check every forward pays: one vectorised pass over the values.</summary>
public static class NonFinite
{
    /// <summary>The index of the first NaN or infinity in <paramref name="values"/>, or -1.</summary>
    public static int IndexOf(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            // x - x is 0 for every finite x and NaN for NaN and both infinities.
            var zero = Vector<float>.Zero;
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(values.Slice(i, Vector<float>.Count));
                if (!Vector.EqualsAll(v - v, zero)) break;
            }
        }
        for (; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }
}
