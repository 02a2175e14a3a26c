using Sdar.Config;

namespace Sdar.Model;

/// <summary>Rotary position embeddings, rotate-half form (HF Qwen3), with float32 frequencies as HF computes them.</summary>
public static class Rope
{
    /// <summary>inv_freq[i] = 1 / theta^(2i / head_dim), i &lt; head_dim / 2.</summary>
    public static float[] InverseFrequencies(ModelConfig config)
    {
        int half = config.HeadDim / 2;
        var inv = new float[half];
        for (int i = 0; i < half; i++)
            inv[i] = (float)(1.0 / Math.Pow(config.RopeTheta, (float)(2 * i) / config.HeadDim));
        return inv;
    }

    /// <summary>Rotates one head vector in place: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin).</summary>
    public static void Apply(Span<float> x, int position, float[] invFrequency)
    {
        int half = invFrequency.Length;
        for (int i = 0; i < half; i++)
        {
            float angle = position * invFrequency[i];
            float cos = MathF.Cos(angle), sin = MathF.Sin(angle);
            float x1 = x[i], x2 = x[i + half];
            x[i] = x1 * cos - x2 * sin;
            x[i + half] = x2 * cos + x1 * sin;
        }
    }

    /// <summary>cos and sin tables for one position: (half) each; the fast path computes them once per token.</summary>
    public static void Table(int position, float[] invFrequency, Span<float> cos, Span<float> sin)
    {
        for (int i = 0; i < invFrequency.Length; i++)
        {
            float angle = position * invFrequency[i];
            cos[i] = MathF.Cos(angle);
            sin[i] = MathF.Sin(angle);
        }
    }
}
