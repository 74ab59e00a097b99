#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CuoheCore
import CuoheProtocol

/// One settled trade, as the regulator's report and the registry reconciliation need it.
public struct TradeRecord: Sendable, Equatable {
    public var tid: Int64
    public var date: CivilDate
    public var ts: Int64
    public var instrument: Int32
    public var price: Int64
    public var qty: Int64
    public var buyer: Int32
    public var buyerBroker: Int32
    public var seller: Int32
    public var sellerBroker: Int32
    public var buyerFee: Int64
    public var sellerFee: Int64
    public var stampDuty: Int64
    /// How the trade came about (the public `TRADE`'s `kind=`).
    public var kind: TradeKind

    public init(tid: Int64, date: CivilDate, ts: Int64, instrument: Int32, price: Int64, qty: Int64, buyer: Int32,
                buyerBroker: Int32, seller: Int32, sellerBroker: Int32, buyerFee: Int64, sellerFee: Int64, stampDuty: Int64,
                kind: TradeKind) {
        self.tid = tid
        self.date = date
        self.ts = ts
        self.instrument = instrument
        self.price = price
        self.qty = qty
        self.buyer = buyer
        self.buyerBroker = buyerBroker
        self.seller = seller
        self.sellerBroker = sellerBroker
        self.buyerFee = buyerFee
        self.sellerFee = sellerFee
        self.stampDuty = stampDuty
        self.kind = kind
    }

    /// The settlement record of a `trade` event on `date`.
    public init(_ e: Event, date: CivilDate) {
        precondition(e.kind == .trade, "not a trade event")
        tid = e.tid
        self.date = date
        ts = e.ts
        instrument = e.instrument
        price = e.price
        qty = e.qty
        buyer = e.account
        buyerBroker = e.broker
        seller = e.counterAccount
        sellerBroker = e.counterBroker
        buyerFee = e.buyerFee
        sellerFee = e.sellerFee
        stampDuty = e.stampDuty
        kind = e.tradeKind
    }

    /// True if every id names one of `market`'s instruments, accounts and brokers, and the
    /// figures are those of a trade (a positive price and quantity, fees not negative).
    public func fits(_ market: Directory) -> Bool {
        func within(_ id: Int32, _ count: Int) -> Bool { id >= 0 && Int(id) < count }
        return within(instrument, market.symbols.count) && within(buyer, market.accounts.count)
            && within(seller, market.accounts.count) && within(buyerBroker, market.brokers.count)
            && within(sellerBroker, market.brokers.count) && price > 0 && qty > 0
            && buyerFee >= 0 && sellerFee >= 0 && stampDuty >= 0
    }
}

/// One trading day's reference prices, in configuration order, as `instruments.csv` gives them.
public struct DayPrices: Sendable, Equatable {
    public var date: CivilDate
    /// Each instrument's reference price on `date`.
    public var reference: [Int64]
    /// The reference price each has on the next trading day.
    public var next: [Int64]

    public init(date: CivilDate, reference: [Int64], next: [Int64]) {
        self.date = date
        self.reference = reference
        self.next = next
    }

    /// The day `matcher` has open. Its next reference prices are what a `ROLL` now would set;
    /// taken just before one, this is also the only moment the closed day's prices are known.
    public init(openDayOf matcher: borrowing Matcher) {
        let instruments = matcher.instruments
        date = matcher.tradingDate
        reference = (0..<instruments.count).map { instruments[$0].referencePrice }
        next = (0..<instruments.count).map { instruments[$0].nextReferencePrice }
    }
}

/// The end-of-day files: `trades.csv`, `register.csv` (the shareholder register),
/// `accounts.csv` and `instruments.csv`. Amounts are in CNY with two decimals (more only where a
/// value has sub-fen digits, which a tick finer than 0.01 can give).
public enum EndOfDay {
    public static let tradesHeader =
        "tid,date,ts,sym,px,qty,buyer,buyerBroker,seller,sellerBroker,buyerFee,sellerFee,stampDuty,kind"
    public static let registerHeader = "sym,acct,shares,sellable"
    public static let accountsHeader = "acct,broker,cash,frozenCash,boughtThisYear"
    public static let instrumentsHeader = "sym,date,referencePrice,nextReferencePrice,trades,volume,value,holders"

    static func money(_ v: Int64) -> String { Decimal4.format(v, minFraction: 2) }

    public static func tradesCSV(_ trades: [TradeRecord], directory: Directory) -> String {
        var out = tradesHeader + "\n"
        for t in trades {
            let fields: [String] = [
                String(t.tid), t.date.iso, String(t.ts), directory.symbols[Int(t.instrument)], money(t.price),
                String(t.qty), directory.accounts[Int(t.buyer)], directory.brokers[Int(t.buyerBroker)],
                directory.accounts[Int(t.seller)], directory.brokers[Int(t.sellerBroker)], money(t.buyerFee),
                money(t.sellerFee), money(t.stampDuty), Spelling.tradeKind(t.kind),
            ]
            out += fields.joined(separator: ",") + "\n"
        }
        return out
    }

    /// One line per instrument in configuration order: the day's reference price and the next
    /// day's, the day's trades in it (`trades` of `prices.date` only: count, shares, and value,
    /// the sum of px × qty), and its holders as `ledger` counts them.
    public static func instrumentsCSV(_ trades: [TradeRecord], prices: DayPrices, ledger: borrowing Ledger,
                                      directory: Directory) -> String {
        let count = directory.symbols.count
        var tradeCount = [Int](repeating: 0, count: count)
        var volume = [WideSum](repeating: WideSum(), count: count)
        var value = [WideSum](repeating: WideSum(), count: count)
        for t in trades where t.date == prices.date {
            let i = Int(t.instrument)
            tradeCount[i] += 1
            volume[i].add(t.qty)
            value[i].add(t.price, times: t.qty)
        }
        var out = instrumentsHeader + "\n"
        for i in 0..<count {
            let fields: [String] = [
                directory.symbols[i], prices.date.iso, money(prices.reference[i]), money(prices.next[i]),
                String(tradeCount[i]), volume[i].decimal, value[i].money, String(ledger.register.holders[i].holders),
            ]
            out += fields.joined(separator: ",") + "\n"
        }
        return out
    }

    /// Holders only (shares > 0), sorted by symbol then account. `sellable` is what the holder may
    /// sell once its holding periods have passed: shares minus those still locked (shares frozen by
    /// open sell orders still count as sellable: they are on offer).
    public static func registerCSV(_ ledger: borrowing Ledger, directory: Directory) -> String {
        var lines: [(String, String, String)] = []
        for p in 0..<Int(ledger.register.positionCount) {
            let position = ledger.register.positions[p]
            guard position.shares > 0 else { continue }
            let sym = directory.symbols[Int(position.instrument)]
            let acct = directory.accounts[Int(position.account)]
            lines.append((sym, acct, "\(sym),\(acct),\(position.shares),\(position.shares - position.lockedShares)"))
        }
        lines.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        return registerHeader + "\n" + lines.map { $0.2 + "\n" }.joined()
    }

    /// Every configured account in configuration order, then the exchange's fee account. Frozen
    /// cash is `frozenCash` when given (the books of record keep no orders: the matcher says what
    /// its open buys hold), else the ledger's own.
    public static func accountsCSV(_ ledger: borrowing Ledger, frozenCash: [Int64]? = nil, directory: Directory) -> String {
        var out = accountsHeader + "\n"
        for a in 0..<ledger.accounts.count {
            let account = ledger.accounts[a]
            let frozen = frozenCash?[a] ?? account.frozenCash
            out += "\(directory.accounts[a]),\(directory.brokers[Int(account.broker)]),\(money(account.cash)),"
                + "\(money(frozen)),\(money(account.boughtThisYear))\n"
        }
        out += "\(ConfigLoader.feeAccountID),,\(money(ledger.feesCollected)),0.00,0.00\n"
        return out
    }

    /// Writes the four files into `path` (created if missing), each atomically. `prices` names
    /// the day `instruments.csv` is of.
    public static func write(to path: String, trades: [TradeRecord], ledger: borrowing Ledger, frozenCash: [Int64]? = nil,
                             prices: DayPrices, directory: Directory) throws(IOError) {
        try FileSystem.makeDirectory(path)
        let register = registerCSV(ledger, directory: directory)
        let accounts = accountsCSV(ledger, frozenCash: frozenCash, directory: directory)
        let instruments = instrumentsCSV(trades, prices: prices, ledger: ledger, directory: directory)
        let files = [("trades.csv", tradesCSV(trades, directory: directory)), ("register.csv", register),
                     ("accounts.csv", accounts), ("instruments.csv", instruments)]
        for (name, text) in files { try FileSystem.writeAtomically(path + "/" + name, bytes: Array(text.utf8)) }
    }

    /// What comparing a data directory's `eod/` with one rebuilt from the journal found.
    public struct Comparison: Sendable {
        /// Closed days (with `trades.csv`) whose files all matched.
        public var daysMatched = 0
        /// Files the next start writes or completes (a crash came before the engine did).
        public var pending: [String] = []
        /// The first file that is wrong and that no start would put right, described.
        public var problem: String? = nil
    }

    /// Compares every file under `rebuilt/eod` with the same file under `data/eod`. The next start
    /// replays the journal from its newest snapshot, taken on `replayedFrom` (nil: none, the whole
    /// journal), so it rewrites every file of that day and later: such a file may be missing, and
    /// a `trades.log` may be a prefix (what followed the snapshot is written again). Anything else
    /// must be equal.
    public static func compare(data: String, rebuilt: String, replayedFrom: CivilDate?) -> Comparison {
        var result = Comparison()
        let fm = FileManager.default
        let days = ((try? fm.contentsOfDirectory(atPath: rebuilt + "/eod")) ?? []).sorted()
        for day in days {
            var rewritten = true
            if let from = replayedFrom { rewritten = CivilDate(iso: day).map { $0 >= from } ?? false }
            let names = ((try? fm.contentsOfDirectory(atPath: rebuilt + "/eod/" + day)) ?? []).sorted()
            var dayMatched = names.contains("trades.csv")
            for name in names {
                let relative = "eod/" + day + "/" + name
                guard let expected = try? FileSystem.readFile(rebuilt + "/" + relative, bytesMax: .max) else { continue }
                // Read at most what the rebuilt file holds: a larger one differs, whatever it is.
                let present = access(data + "/" + relative, F_OK) == 0
                let actual = try? FileSystem.readFile(data + "/" + relative, bytesMax: expected.count)
                if present && actual == nil {
                    dayMatched = false
                    result.problem = result.problem ?? "\(relative) differs from what the journal gives"
                    continue
                }
                guard let actual else {
                    dayMatched = false
                    if rewritten {
                        result.pending.append(relative)
                    } else {
                        result.problem = result.problem ?? "\(relative) is missing"
                    }
                    continue
                }
                let prefix = actual.count <= expected.count && expected[..<actual.count].elementsEqual(actual)
                if actual == expected { continue }
                dayMatched = false
                if rewritten && name == "trades.log" && prefix {
                    result.pending.append(relative)
                } else {
                    result.problem = result.problem ?? "\(relative) differs from what the journal gives"
                }
            }
            if dayMatched { result.daysMatched += 1 }
        }
        return result
    }

    /// Copies every file under `rebuilt/eod` over the same file under `data/eod`, each atomically;
    /// returns the number of days.
    public static func install(rebuilt: String, into data: String) throws(IOError) -> Int {
        let fm = FileManager.default
        let days = ((try? fm.contentsOfDirectory(atPath: rebuilt + "/eod")) ?? []).sorted()
        for dir in [data + "/eod"] + days.map({ data + "/eod/" + $0 }) { try FileSystem.makeDirectory(dir) }
        for day in days {
            for name in ((try? fm.contentsOfDirectory(atPath: rebuilt + "/eod/" + day)) ?? []).sorted() {
                let bytes = try FileSystem.readFile(rebuilt + "/eod/" + day + "/" + name, bytesMax: .max)
                try FileSystem.writeAtomically(data + "/eod/" + day + "/" + name, bytes: bytes)
            }
            try FileSystem.syncDirectory(data + "/eod/" + day)
        }
        return days.count
    }
}

/// A sum of amounts that are never negative, in 128 bits: a day's volume or traded value in one
/// instrument is bounded by no single total of the market (the same shares and money may trade
/// many times a day), so it may pass `Int64` where no single trade can, and a trap at the close
/// would come back on every replay of the journaled `ROLL`.
struct WideSum: Sendable {
    var high: UInt64 = 0
    var low: UInt64 = 0

    mutating func add(_ v: Int64) { add(UInt64(v), carry: 0) }

    /// Adds `a × b` exactly.
    mutating func add(_ a: Int64, times b: Int64) {
        let product = UInt64(a).multipliedFullWidth(by: UInt64(b))
        add(product.low, carry: product.high)
    }

    private mutating func add(_ v: UInt64, carry: UInt64) {
        let (sum, overflow) = low.addingReportingOverflow(v)
        low = sum
        high += carry + (overflow ? 1 : 0)
    }

    /// The sum divided by `divisor`, and the remainder (long division, one word at a time).
    func divided(by divisor: UInt64) -> (quotient: WideSum, remainder: UInt64) {
        let (qHigh, rHigh) = high.quotientAndRemainder(dividingBy: divisor)
        let (qLow, r) = divisor.dividingFullWidth((rHigh, low))
        return (WideSum(high: qHigh, low: qLow), r)
    }

    /// In decimal digits.
    var decimal: String {
        guard high > 0 else { return String(low) }
        let (upper, lower) = divided(by: 1_000_000_000_000_000_000)
        let digits = String(lower)
        return upper.decimal + String(repeating: "0", count: 18 - digits.count) + digits
    }

    /// As money (the sum counts 10^-4 CNY), formatted as every amount of the files is.
    var money: String {
        let (whole, fraction) = divided(by: UInt64(Fixed.scale))
        // "0.xx" of the fraction alone, its "0" replaced by the whole part's digits.
        return whole.decimal + Decimal4.format(Int64(fraction), minFraction: 2).dropFirst()
    }
}
