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

    public init(tid: Int64, date: CivilDate, ts: Int64, instrument: Int32, price: Int64, qty: Int64, buyer: Int32,
                buyerBroker: Int32, seller: Int32, sellerBroker: Int32, buyerFee: Int64, sellerFee: Int64, stampDuty: Int64) {
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

/// The end-of-day files: `trades.csv`, `register.csv` (the shareholder register) and
/// `accounts.csv`. Amounts are in CNY with two decimals (more only where a value has sub-fen
/// digits, which a tick finer than 0.01 can give).
public enum EndOfDay {
    public static let tradesHeader = "tid,date,ts,sym,px,qty,buyer,buyerBroker,seller,sellerBroker,buyerFee,sellerFee,stampDuty"
    public static let registerHeader = "sym,acct,shares,sellable"
    public static let accountsHeader = "acct,broker,cash,frozenCash,boughtThisYear"

    static func money(_ v: Int64) -> String { Decimal4.format(v, minFraction: 2) }

    public static func tradesCSV(_ trades: [TradeRecord], directory: Directory) -> String {
        var out = tradesHeader + "\n"
        for t in trades {
            let fields: [String] = [
                String(t.tid), t.date.iso, String(t.ts), directory.symbols[Int(t.instrument)], money(t.price),
                String(t.qty), directory.accounts[Int(t.buyer)], directory.brokers[Int(t.buyerBroker)],
                directory.accounts[Int(t.seller)], directory.brokers[Int(t.sellerBroker)], money(t.buyerFee),
                money(t.sellerFee), money(t.stampDuty),
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

    /// Writes the three files into `path` (created if missing), each atomically.
    public static func write(to path: String, trades: [TradeRecord], ledger: borrowing Ledger, frozenCash: [Int64]? = nil,
                             directory: Directory) throws(IOError) {
        try FileSystem.makeDirectory(path)
        let register = registerCSV(ledger, directory: directory)
        let accounts = accountsCSV(ledger, frozenCash: frozenCash, directory: directory)
        let files = [("trades.csv", tradesCSV(trades, directory: directory)), ("register.csv", register),
                     ("accounts.csv", accounts)]
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
