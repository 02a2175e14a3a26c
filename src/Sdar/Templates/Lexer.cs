using System.Globalization;
using System.Text;

namespace Sdar.Templates;

internal enum TokenKind { Text, BlockBegin, BlockEnd, VariableBegin, VariableEnd, Name, String, Integer, Float, Operator, Eof }

/// <summary>One lexed token; <see cref="Value"/> holds text, a name, an operator or a literal's decoded value.</summary>
internal readonly record struct Token(TokenKind Kind, object Value, int Line)
{
    public string Text => Value as string ?? Convert.ToString(Value, CultureInfo.InvariantCulture) ?? "";
    public bool IsName(string name) => Kind == TokenKind.Name && (string)Value == name;
    public bool IsOperator(string op) => Kind == TokenKind.Operator && (string)Value == op;

    public string Describe() => Kind switch
    {
        TokenKind.Eof => "end of template",
        TokenKind.BlockEnd => "end of statement '%}'",
        TokenKind.VariableEnd => "end of print statement '}}'",
        TokenKind.String => $"string '{Text}'",
        TokenKind.Text => "template text",
        _ => $"'{Text}'",
    };
}

/// <summary>
/// Splits a template into text and tag tokens the way Jinja2 does with <c>trim_blocks</c> and
/// <c>lstrip_blocks</c> on (as transformers renders chat templates): newlines are normalised to \n, one trailing
/// newline of the source is dropped, <c>{%- -%}</c> strip all adjacent whitespace, a block or comment tag alone
/// on its line loses its indentation (unless <c>{%+</c>) and the newline after it (unless <c>+%}</c>).
/// </summary>
internal sealed class Lexer
{
    private readonly string _src;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _line = 1;
    private bool _lineStarting = true;   // the previous tag ended a line (Jinja2 lstrips text without a newline then)

    private Lexer(string source)
    {
        string s = source.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        _src = s.EndsWith('\n') ? s[..^1] : s;
    }

    public static List<Token> Tokenize(string source)
    {
        var lexer = new Lexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        bool stripNextText = false;
        while (_pos < _src.Length)
        {
            int tag = FindTagStart(_pos);
            int textEnd = tag < 0 ? _src.Length : tag;
            string text = _src[_pos..textEnd];
            int textLine = _line;
            if (stripNextText) text = text.TrimStart();
            if (tag < 0) { Emit(TokenKind.Text, text, textLine); _pos = textEnd; break; }

            char kind = _src[tag + 1];               // '{', '%' or '#'
            char modifier = tag + 2 < _src.Length ? _src[tag + 2] : '\0';
            text = StripBeforeTag(text, kind, modifier);
            Emit(TokenKind.Text, text, textLine);
            CountLines(_src[_pos..tag]);
            _pos = tag + 2 + (modifier is '-' or '+' ? 1 : 0);

            if (kind == '#') stripNextText = SkipComment();
            else if (kind == '%' && TryRaw(out bool rawStrip)) stripNextText = rawStrip;
            else stripNextText = LexTag(kind == '%');
        }
        _tokens.Add(new Token(TokenKind.Eof, "", _line));
    }

    private int FindTagStart(int from)
    {
        for (int i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
            if (_src[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    private string StripBeforeTag(string text, char kind, char modifier)
    {
        if (modifier == '-') return text.TrimEnd();
        if (modifier == '+' || kind == '{') return text;
        int lineStart = text.LastIndexOf('\n') + 1;   // lstrip_blocks: only whitespace between line start and tag
        if (lineStart == 0 && !_lineStarting) return text;
        for (int i = lineStart; i < text.Length; i++)
            if (!char.IsWhiteSpace(text[i])) return text;
        return text[..lineStart];
    }

    private void Emit(TokenKind kind, object value, int line)
    {
        if (kind == TokenKind.Text && ((string)value).Length == 0) return;
        _tokens.Add(new Token(kind, value, line));
    }

    private void CountLines(string s)
    {
        foreach (char c in s) if (c == '\n') _line++;
    }

    /// <summary>Consumes the end of a block or comment tag: '-' strips what follows, else trim_blocks eats one newline.</summary>
    private bool FinishBlockEnd(bool dash, bool plus)
    {
        _lineStarting = false;
        if (dash) { _lineStarting = true; return true; }
        if (!plus && _pos < _src.Length && _src[_pos] == '\n') { _pos++; _line++; _lineStarting = true; }
        return false;
    }

    private bool SkipComment()
    {
        int startLine = _line;
        int end = _src.IndexOf("#}", _pos, StringComparison.Ordinal);
        if (end < 0) throw new TemplateException("comment '{#' is never closed with '#}'", startLine);
        bool dash = end > _pos && _src[end - 1] == '-';
        bool plus = end > _pos && _src[end - 1] == '+';
        CountLines(_src[_pos..end]);
        _pos = end + 2;
        return FinishBlockEnd(dash, plus);
    }

    /// <summary>{% raw %}...{% endraw %}: the body is text. As in Jinja2, no trim_blocks after the opening tag.</summary>
    private bool TryRaw(out bool stripAfter)
    {
        stripAfter = false;
        int p = SkipSpaces(_pos);
        if (string.CompareOrdinal(_src, p, "raw", 0, 3) != 0) return false;
        p = SkipSpaces(p + 3);
        bool dash = p < _src.Length && _src[p] == '-';
        if (dash || (p < _src.Length && _src[p] == '+')) p++;
        if (string.CompareOrdinal(_src, p, "%}", 0, 2) != 0) return false;
        int line = _line;
        _pos = p + 2;
        if (dash) _pos = SkipWhitespaceCounting(_pos);
        for (int i = _src.IndexOf("{%", _pos, StringComparison.Ordinal); i >= 0; i = _src.IndexOf("{%", i + 2, StringComparison.Ordinal))
        {
            char modifier = i + 2 < _src.Length ? _src[i + 2] : '\0';
            int q = SkipSpaces(i + 2 + (modifier is '-' or '+' ? 1 : 0));
            if (string.CompareOrdinal(_src, q, "endraw", 0, 6) != 0) continue;
            q = SkipSpaces(q + 6);
            bool endDash = q < _src.Length && _src[q] == '-';
            bool endPlus = q < _src.Length && _src[q] == '+';
            if (endDash || endPlus) q++;
            if (string.CompareOrdinal(_src, q, "%}", 0, 2) != 0) continue;
            string body = _src[_pos..i];
            _lineStarting = false;
            Emit(TokenKind.Text, StripBeforeTag(body, '%', modifier), _line);
            CountLines(_src[_pos..(q + 2)]);
            _pos = q + 2;
            stripAfter = FinishBlockEnd(endDash, endPlus);
            return true;
        }
        throw new TemplateException("'{% raw %}' is never closed with '{% endraw %}'", line);
    }

    private int SkipSpaces(int p)
    {
        while (p < _src.Length && _src[p] is ' ' or '\t' or '\n') p++;
        return p;
    }

    private int SkipWhitespaceCounting(int p)
    {
        while (p < _src.Length && char.IsWhiteSpace(_src[p])) { if (_src[p] == '\n') _line++; p++; }
        return p;
    }

    /// <summary>Lexes the expression tokens of a {% %} or {{ }} tag up to its end; returns whether '-' ends it.</summary>
    private bool LexTag(bool block)
    {
        int startLine = _line;
        _tokens.Add(new Token(block ? TokenKind.BlockBegin : TokenKind.VariableBegin, block ? "{%" : "{{", _line));
        var open = new Stack<char>();   // brackets open inside the tag: a '}}' then closes a dict, not the tag (as in Jinja2)
        while (true)
        {
            _pos = SkipWhitespaceCounting(_pos);
            if (_pos >= _src.Length)
                throw new TemplateException($"'{(block ? "{%" : "{{")}' opened here is never closed with '{(block ? "%}" : "}}")}'", startLine);
            if (open.Count == 0 && TryTagEnd(block, out bool dash)) return dash;
            char c = _src[_pos];
            if (char.IsLetter(c) || c == '_') LexName();
            else if (char.IsAsciiDigit(c)) LexNumber();
            else if (c is '\'' or '"') LexString(c);
            else LexOperator(open);
        }
    }

    private bool TryTagEnd(bool block, out bool dash)
    {
        string close = block ? "%}" : "}}";
        dash = false;
        int p = _pos;
        bool plus = false;
        if (_src[p] == '-' && string.CompareOrdinal(_src, p + 1, close, 0, 2) == 0) { dash = true; p++; }
        else if (block && _src[p] == '+' && string.CompareOrdinal(_src, p + 1, close, 0, 2) == 0) { plus = true; p++; }
        if (string.CompareOrdinal(_src, p, close, 0, 2) != 0) return false;
        _tokens.Add(new Token(block ? TokenKind.BlockEnd : TokenKind.VariableEnd, close, _line));
        _pos = p + 2;
        if (block) dash = FinishBlockEnd(dash, plus);
        else _lineStarting = dash;
        return true;
    }

    private void LexName()
    {
        int start = _pos;
        while (_pos < _src.Length && (char.IsLetterOrDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
        _tokens.Add(new Token(TokenKind.Name, _src[start.._pos], _line));
    }

    private void LexNumber()
    {
        int start = _pos;
        if (_src[_pos] == '0' && _pos + 1 < _src.Length && _src[_pos + 1] is 'x' or 'X' or 'o' or 'O' or 'b' or 'B')
        {
            int radix = char.ToLowerInvariant(_src[_pos + 1]) switch { 'x' => 16, 'o' => 8, _ => 2 };
            _pos += 2;
            while (_pos < _src.Length && (char.IsAsciiHexDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
            string digits = _src[(start + 2).._pos].Replace("_", "", StringComparison.Ordinal);
            try { _tokens.Add(new Token(TokenKind.Integer, Convert.ToInt64(digits, radix), _line)); }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            { throw new TemplateException($"invalid integer literal '{_src[start.._pos]}'", _line); }
            return;
        }
        SkipDigits();
        // After '.', digits are an attribute index (x.0.1), never a float, as in Jinja2.
        bool afterDot = start > 0 && _src[start - 1] == '.';
        bool isFloat = false;
        if (!afterDot && _pos + 1 < _src.Length && _src[_pos] == '.' && char.IsAsciiDigit(_src[_pos + 1])) { _pos++; SkipDigits(); isFloat = true; }
        if (!afterDot && _pos < _src.Length && _src[_pos] is 'e' or 'E')
        {
            int save = _pos++;
            if (_pos < _src.Length && _src[_pos] is '+' or '-') _pos++;
            if (_pos < _src.Length && char.IsAsciiDigit(_src[_pos])) { SkipDigits(); isFloat = true; }
            else _pos = save;
        }
        string text = _src[start.._pos].Replace("_", "", StringComparison.Ordinal);
        if (isFloat) _tokens.Add(new Token(TokenKind.Float, double.Parse(text, CultureInfo.InvariantCulture), _line));
        else if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v)) _tokens.Add(new Token(TokenKind.Integer, v, _line));
        else throw new TemplateException($"integer literal '{text}' does not fit in 64 bits", _line);
    }

    private void SkipDigits()
    {
        while (_pos < _src.Length && (char.IsAsciiDigit(_src[_pos]) || (_src[_pos] == '_' && _pos + 1 < _src.Length && char.IsAsciiDigit(_src[_pos + 1])))) _pos++;
    }

    private void LexString(char quote)
    {
        int line = _line;
        var sb = new StringBuilder();
        _pos++;
        while (true)
        {
            if (_pos >= _src.Length) throw new TemplateException($"string literal starting with {quote} is never closed", line);
            char c = _src[_pos++];
            if (c == quote) break;
            if (c == '\n') _line++;
            if (c != '\\') { sb.Append(c); continue; }
            if (_pos >= _src.Length) throw new TemplateException($"string literal starting with {quote} is never closed", line);
            char e = _src[_pos++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case 'a': sb.Append('\a'); break;
                case '\\': case '\'': case '"': sb.Append(e); break;
                case '\n': _line++; break;   // line continuation
                case 'x': sb.Append(HexEscape(2, line)); break;
                case 'u': sb.Append(HexEscape(4, line)); break;
                case 'U': sb.Append(HexEscape(8, line)); break;
                case >= '0' and <= '7':
                    int value = e - '0';
                    for (int k = 0; k < 2 && _pos < _src.Length && _src[_pos] is >= '0' and <= '7'; k++) value = value * 8 + (_src[_pos++] - '0');
                    sb.Append((char)value);
                    break;
                default: sb.Append('\\').Append(e); break;   // Python keeps unknown escapes verbatim
            }
        }
        _tokens.Add(new Token(TokenKind.String, sb.ToString(), line));
    }

    private string HexEscape(int digits, int line)
    {
        if (_pos + digits > _src.Length || !int.TryParse(_src.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int cp)
            || cp > 0x10FFFF)
            throw new TemplateException($"invalid \\{(digits == 2 ? 'x' : digits == 4 ? 'u' : 'U')} escape in string literal", line);
        _pos += digits;
        return char.ConvertFromUtf32(cp is >= 0xD800 and <= 0xDFFF ? 0xFFFD : cp);
    }

    private static readonly string[] TwoCharOperators = ["**", "//", "==", "!=", "<=", ">="];

    /// <summary>Lexes one operator, keeping <paramref name="open"/> (the unclosed brackets) balanced.</summary>
    private void LexOperator(Stack<char> open)
    {
        foreach (string op in TwoCharOperators)
            if (string.CompareOrdinal(_src, _pos, op, 0, 2) == 0) { _tokens.Add(new Token(TokenKind.Operator, op, _line)); _pos += 2; return; }
        char c = _src[_pos];
        if ("+-*/%~<>=.,:|()[]{};".IndexOf(c, StringComparison.Ordinal) < 0)
            throw new TemplateException($"unexpected character '{c}' inside a tag", _line);
        if (c is '(' or '[' or '{') open.Push(c switch { '(' => ')', '[' => ']', _ => '}' });
        else if (c is ')' or ']' or '}')
        {
            if (open.Count == 0) throw new TemplateException($"unexpected '{c}' with no opening bracket", _line);
            char expected = open.Pop();
            if (c != expected) throw new TemplateException($"unexpected '{c}', expected '{expected}'", _line);
        }
        _tokens.Add(new Token(TokenKind.Operator, c.ToString(), _line));
        _pos++;
    }
}
