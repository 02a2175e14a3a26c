namespace Sdar.Data;

/// <summary>A person in a word problem, with the pronouns the templates need.</summary>
internal sealed record Person(string Name, bool IsFemale)
{
    public string He => IsFemale ? "she" : "he";
    public string HeCap => IsFemale ? "She" : "He";
    public string His => IsFemale ? "her" : "his";
    public string Him => IsFemale ? "her" : "him";
}

/// <summary>A countable thing: singular and plural spellings.</summary>
internal sealed record Thing(string One, string Many);

/// <summary>
/// The word lists the templates draw from. They are deliberately short and plain: a tiny model should learn the
/// arithmetic, not a large vocabulary.
/// </summary>
internal static class Lexicon
{
    public static readonly IReadOnlyList<Person> People =
    [
        .. new[]
        {
            "Tom", "Sam", "Ben", "Jack", "Leo", "Max", "Noah", "Omar", "Paul", "Ravi",
            "Liam", "Owen", "Carlos", "David", "Ethan", "Hugo", "Ivan", "Kenji", "Mark", "Peter",
        }.Select(n => new Person(n, false)),
        .. new[]
        {
            "Anna", "Emma", "Lily", "Mia", "Sara", "Zoe", "Nina", "Rosa", "Amy", "Julia",
            "Grace", "Hana", "Lucy", "Maria", "Olivia", "Priya", "Ruth", "Sofia", "Tina", "Wendy",
        }.Select(n => new Person(n, true)),
    ];

    /// <summary>Things bought in a shop, with a plausible price range in dollars.</summary>
    public static readonly IReadOnlyList<(Thing Thing, int MinPrice, int MaxPrice)> ShopItems =
    [
        (new("apple", "apples"), 1, 3),
        (new("pen", "pens"), 1, 5),
        (new("notebook", "notebooks"), 2, 8),
        (new("book", "books"), 5, 20),
        (new("toy car", "toy cars"), 3, 12),
        (new("shirt", "shirts"), 8, 25),
        (new("cup", "cups"), 2, 9),
        (new("ball", "balls"), 3, 15),
        (new("cake", "cakes"), 6, 20),
        (new("hat", "hats"), 5, 18),
        (new("sandwich", "sandwiches"), 3, 9),
        (new("bottle of juice", "bottles of juice"), 2, 6),
        (new("pencil", "pencils"), 1, 3),
        (new("plant", "plants"), 4, 16),
        (new("ticket", "tickets"), 5, 30),
    ];

    /// <summary>Small things people have, collect, share and give away.</summary>
    public static readonly IReadOnlyList<Thing> Collectibles =
    [
        new("marble", "marbles"), new("sticker", "stickers"), new("card", "cards"), new("shell", "shells"),
        new("stamp", "stamps"), new("coin", "coins"), new("candy", "candies"), new("apple", "apples"),
        new("orange", "oranges"), new("pencil", "pencils"), new("cookie", "cookies"), new("flower", "flowers"),
        new("book", "books"), new("toy", "toys"), new("egg", "eggs"), new("balloon", "balloons"),
    ];

    // Declared before BatchGoods: static initialisers run in text order.
    private static readonly Thing Tray = new("tray", "trays");
    private static readonly Thing Batch = new("batch", "batches");
    private static readonly Thing Box = new("box", "boxes");
    private static readonly Thing Pack = new("pack", "packs");

    /// <summary>Things baked or made in batches (trays, boxes) and packed into bags.</summary>
    public static readonly IReadOnlyList<(Thing Thing, Thing Batch)> BatchGoods =
    [
        (new("cookie", "cookies"), Tray), (new("muffin", "muffins"), Tray), (new("cupcake", "cupcakes"), Tray),
        (new("roll", "rolls"), Tray), (new("pie", "pies"), Batch), (new("candle", "candles"), Box),
        (new("soap", "soaps"), Box), (new("bracelet", "bracelets"), Batch), (new("card", "cards"), Pack),
    ];

    public static readonly IReadOnlyList<string> Vehicles = ["car", "bus", "train", "truck", "van", "boat"];

    /// <summary>Animals with their number of legs, for counting problems.</summary>
    public static readonly IReadOnlyList<(Thing Thing, int Legs)> Animals =
    [
        (new("cow", "cows"), 4), (new("horse", "horses"), 4), (new("sheep", "sheep"), 4), (new("goat", "goats"), 4),
        (new("pig", "pigs"), 4), (new("dog", "dogs"), 4), (new("chicken", "chickens"), 2), (new("duck", "ducks"), 2),
        (new("goose", "geese"), 2),
    ];

    /// <summary>Things a person saves up for.</summary>
    public static readonly IReadOnlyList<string> BigPurchases =
        ["bike", "game", "watch", "jacket", "phone", "guitar", "lamp", "backpack", "pair of shoes", "camera"];

    public static readonly IReadOnlyList<string> Places = ["school", "library", "club", "camp", "team"];

    public static string Ordinal(int n) => n switch
    {
        1 => "first",
        2 => "second",
        3 => "third",
        4 => "fourth",
        5 => "fifth",
        6 => "sixth",
        _ => throw new ArgumentOutOfRangeException(nameof(n)),
    };
}
