/// Every numeric bound the engine's arithmetic relies on, in one place, each with its reason.
///
/// The rule: no accepted command may make a total overflow, and no configuration may ask for more
/// memory than the engine may take. Money is `Int64` counts of 10^-4 CNY (`Int64.max` is about
/// 9.2 × 10^18). The bounds below are chosen so that every total the engine keeps is provably
/// below `Int64.max` (`docs/DESIGN.md`, "Numeric bounds", gives the argument), the checks that
/// keep them are made before a command changes anything, and Swift's overflow traps remain only
/// as assertions of that invariant. `BoundsTests` checks the inequalities below.
public enum Bounds {
    // MARK: - Quantities and prices (the protocol's own bounds)

    /// The largest quantity a message may carry (PROTOCOL.md: "at most 10^12").
    public static let quantityMax: Int64 = 1_000_000_000_000
    /// The largest price, tick or reference price: 10^9 CNY. A band's top is cut to it (rounded
    /// down to the tick), so every price in a band can be sent as a limit.
    public static let priceMax: Int64 = 1_000_000_000 * Fixed.scale

    // MARK: - Money

    /// The largest cash an account may be configured with or deposited up to (and the largest
    /// `annualBuyCap` and `boughtThisYear` a configuration may give): 10^13 CNY. An account can
    /// hold more only by selling, within `marketCashMax`.
    public static let accountCashMax: Int64 = 100_000_000_000_000_000
    /// The most money the whole market may hold: every account's cash plus the exchange's fee
    /// account, 10^14 CNY. Trades and fees only move money between them, so this total changes
    /// only by `DEPOSIT` and `WITHDRAW`, and is checked on both, and on the configuration. Every
    /// account's cash, every frozen amount, every order's value and every trade's value is at most
    /// this total; so are the fee account and net deposits (which are at least minus it).
    public static let marketCashMax: Int64 = 1_000_000_000_000_000_000
    /// The most an account may buy in one calendar year: its `annualBuyCap` if it has one, and
    /// this engine bound (2 × 10^14 CNY) if it has none, so that the year's purchases counter plus
    /// the open buys' value plus a new order's value stays below `Int64.max`.
    public static let annualBuyMax: Int64 = 2 * marketCashMax

    // MARK: - Shares

    /// The most holders an instrument may have (the regional-equity rule), and so the most
    /// positions holding shares of it: its total shares are at most `holderCapMax × quantityMax`
    /// (2 × 10^14), conserved by every trade.
    public static let holderCapMax: Int64 = 200

    // MARK: - Memory

    /// The most price levels an instrument's book may ever span (counting both edges). A book
    /// holds one level per tick of the day's band on each side, allocated when the band is set.
    public static let bookTicksMax: Int64 = 1_000_000
    /// A book may grow, as the reference price moves, to this many times the ticks of its
    /// starting band, and to at least `bookTicksMin` ticks; never past `bookTicksMax`. A day's
    /// band that would need more is narrowed around the reference price to fit (a narrower band
    /// is the stricter rule), so the memory a market needs is fixed by its configuration.
    public static let bookGrowthFactor: Int64 = 8
    public static let bookTicksMin: Int64 = 2_048
    /// The most memory a market's engine storage may need at its largest (the matcher's books,
    /// orders, cids and ledger, and the settlement stage's books of record): 8 GiB, a third of the
    /// 24 GiB machines the engine is sized for; the rest is the page cache the journal and
    /// snapshots live in, a snapshot's copy of the state while it is written, and the OS.
    public static let engineBytesMax: Int = 8 << 30

    /// The most price levels a book that starts with `startTicks` levels may ever span.
    public static func bookTicks(startTicks: Int64) -> Int64 {
        // startTicks is at most priceMax (a band of one-unit ticks), so the product fits.
        min(bookTicksMax, max(min(startTicks, priceMax) * bookGrowthFactor, bookTicksMin))
    }
}
