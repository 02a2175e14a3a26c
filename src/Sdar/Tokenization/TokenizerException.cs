namespace Sdar.Tokenization;

/// <summary>
/// Tokenizing failed because of the tokenizer's own definition (for example a pre-tokenizer pattern that
/// backtracks without end on some text); the message names the tokenizer file and the field.
/// </summary>
public sealed class TokenizerException : SdarException
{
    public TokenizerException(string message) : base(message) { }
    public TokenizerException(string message, Exception inner) : base(message, inner) { }
    public TokenizerException() { }
}
