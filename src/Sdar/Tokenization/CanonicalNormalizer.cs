using System.Text;

namespace Sdar.Tokenization;

/// <summary>
/// Unicode canonical normalisation (NFC and NFD, UAX #15) in managed code. The project builds with
/// InvariantGlobalization, under which .NET's <see cref="string.Normalize()"/> returns its input unchanged,
/// yet Qwen's tokenizer NFC-normalises ("Cafe\u0301" must encode as "Café"). Tables: UnicodeNormalizationData.
/// </summary>
internal static class CanonicalNormalizer
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Dictionary<int, int[]> FullDecomposition = new();
    private static readonly Dictionary<long, int> Composition = new();
    private static readonly byte[] CombiningClasses;
    /// <summary>Code points that may change under NFC: not NFC-stable, non-starters, or second in a composition.</summary>
    private static readonly ulong[] NfcUnsafe = new ulong[0x110000 / 64];

    static CanonicalNormalizer()
    {
        ReadOnlySpan<int> ranges = UnicodeNormalizationData.CombiningClassRanges;
        CombiningClasses = new byte[ranges[^2] + 1];
        for (int i = 0; i < ranges.Length; i += 3)
            for (int cp = ranges[i]; cp <= ranges[i + 1]; cp++)
            {
                CombiningClasses[cp] = (byte)ranges[i + 2];
                MarkUnsafe(cp);
            }

        var oneLevel = new Dictionary<int, (int First, int Second)>();
        ReadOnlySpan<int> d = UnicodeNormalizationData.Decompositions;
        for (int i = 0; i < d.Length; i += 3)
        {
            int cp = d[i] & 0xFFFFFF;
            oneLevel[cp] = (d[i + 1], d[i + 2]);
            if ((d[i] >> 24) != 0)
            {
                Composition[Key(d[i + 1], d[i + 2])] = cp;
                MarkUnsafe(d[i + 2]);
            }
            else
            {
                MarkUnsafe(cp);
            }
        }
        foreach (int cp in oneLevel.Keys)
            FullDecomposition[cp] = [.. Expand(cp, oneLevel)];
        for (int cp = VBase; cp < VBase + VCount; cp++)
            MarkUnsafe(cp);
        for (int cp = TBase + 1; cp < TBase + TCount; cp++)
            MarkUnsafe(cp);
    }

    private static List<int> Expand(int cp, Dictionary<int, (int First, int Second)> oneLevel)
    {
        if (!oneLevel.TryGetValue(cp, out var parts))
            return [cp];
        List<int> result = Expand(parts.First, oneLevel);
        if (parts.Second != 0)
            result.AddRange(Expand(parts.Second, oneLevel));
        return result;
    }

    private static long Key(int first, int second) => ((long)first << 21) | (uint)second;

    private static void MarkUnsafe(int cp) => NfcUnsafe[cp >> 6] |= 1UL << (cp & 63);

    private static bool IsNfcUnsafe(int cp) => (NfcUnsafe[cp >> 6] & (1UL << (cp & 63))) != 0;

    private static int CombiningClass(int cp) => cp < CombiningClasses.Length ? CombiningClasses[cp] : 0;

    public static string Normalize(string text, NormalizationForm form)
    {
        if (form == NormalizationForm.FormC && IsQuickNfc(text))
            return text;
        List<int> cps = Decompose(text);
        ReorderCanonically(cps);
        if (form == NormalizationForm.FormC)
            Compose(cps);
        var sb = new StringBuilder(text.Length);
        foreach (int cp in cps)
        {
            if (cp >= 0x10000)
                sb.Append(char.ConvertFromUtf32(cp));
            else
                sb.Append((char)cp); // also a lone surrogate, kept as it was
        }
        return sb.ToString();
    }

    /// <summary>True when no character can change under NFC (the common case; all text below U+0300 is).</summary>
    private static bool IsQuickNfc(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < 0x300)
                continue;
            int cp = c;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                cp = char.ConvertToUtf32(c, text[++i]);
            if (IsNfcUnsafe(cp))
                return false;
        }
        return true;
    }

    private static List<int> Decompose(string text)
    {
        var cps = new List<int>(text.Length + 8);
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                cp = char.ConvertToUtf32(text[i], text[++i]);

            int s = cp - SBase;
            if ((uint)s < SCount)
            {
                cps.Add(LBase + s / NCount);
                cps.Add(VBase + s % NCount / TCount);
                if (s % TCount != 0)
                    cps.Add(TBase + s % TCount);
            }
            else if (FullDecomposition.TryGetValue(cp, out int[]? parts))
            {
                cps.AddRange(parts);
            }
            else
            {
                cps.Add(cp);
            }
        }
        return cps;
    }

    /// <summary>Stable-sorts each run of non-starters by combining class.</summary>
    private static void ReorderCanonically(List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int cp = cps[i], ccc = CombiningClass(cp);
            if (ccc == 0)
                continue;
            int j = i;
            while (j > 0 && CombiningClass(cps[j - 1]) > ccc)
            {
                cps[j] = cps[j - 1];
                j--;
            }
            cps[j] = cp;
        }
    }

    /// <summary>Canonical composition: each character joins the last starter unless something between blocks it.</summary>
    private static void Compose(List<int> cps)
    {
        int starter = -1, lastClass = 0, written = 0;
        for (int read = 0; read < cps.Count; read++)
        {
            int cp = cps[read], ccc = CombiningClass(cp);
            bool reachable = starter >= 0 && (written - 1 == starter || (lastClass != 0 && lastClass < ccc));
            if (reachable && TryCompose(cps[starter], cp, out int composite))
            {
                cps[starter] = composite;
                continue;
            }
            if (ccc == 0)
                starter = written;
            lastClass = ccc;
            cps[written++] = cp;
        }
        cps.RemoveRange(written, cps.Count - written);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        int l = first - LBase, v = second - VBase;
        if ((uint)l < LCount && (uint)v < VCount)
        {
            composite = SBase + (l * VCount + v) * TCount;
            return true;
        }
        int s = first - SBase, t = second - TBase;
        if ((uint)s < SCount && s % TCount == 0 && t > 0 && t < TCount)
        {
            composite = first + t;
            return true;
        }
        return Composition.TryGetValue(Key(first, second), out composite);
    }
}
