import CuoheCore

/// Protocol spellings of the core's enums.
public enum Spelling {
    public static func reason(_ r: RejectReason) -> String {
        switch r {
        case .malformed: "MALFORMED"
        case .lineTooLong: "LINE_TOO_LONG"
        case .unknownVerb: "UNKNOWN_VERB"
        case .notLoggedIn: "NOT_LOGGED_IN"
        case .auth: "AUTH"
        case .seqAhead: "SEQ_AHEAD"
        case .notPermitted: "NOT_PERMITTED"
        case .throttled: "THROTTLED"
        case .unknownSymbol: "UNKNOWN_SYMBOL"
        case .unknownAccount: "UNKNOWN_ACCOUNT"
        case .notYourAccount: "NOT_YOUR_ACCOUNT"
        case .notQualified: "NOT_QUALIFIED"
        case .duplicateCid: "DUPLICATE_CID"
        case .unknownOrder: "UNKNOWN_ORDER"
        case .badQty: "BAD_QTY"
        case .lotSize: "LOT_SIZE"
        case .badPrice: "BAD_PRICE"
        case .tickSize: "TICK_SIZE"
        case .priceBand: "PRICE_BAND"
        case .insufficientCash: "INSUFFICIENT_CASH"
        case .insufficientShares: "INSUFFICIENT_SHARES"
        case .holdingPeriod: "HOLDING_PERIOD"
        case .holderLimit: "HOLDER_LIMIT"
        case .annualLimit: "ANNUAL_LIMIT"
        case .halted: "HALTED"
        case .marketClosed: "MARKET_CLOSED"
        case .orderDone: "ORDER_DONE"
        case .crossMismatch: "CROSS_MISMATCH"
        }
    }

    public static func cancelReason(_ r: CancelReason) -> String {
        switch r {
        case .user: "USER"
        case .ioc: "IOC"
        case .fok: "FOK"
        case .selfTrade: "SELF_TRADE"
        case .expired: "EXPIRED"
        case .halt: "HALT"
        case .admin: "ADMIN"
        }
    }

    public static func detail(_ d: RejectDetail) -> String? {
        switch d {
        case .none: nil
        case .auction: "AUCTION"
        case .missingPrice: "PX_REQUIRED"
        case .marketWithPrice: "MARKET_TAKES_NO_PX"
        case .replaced: "REPLACED"
        case .dateNotLater: "DATE_NOT_AFTER_CURRENT"
        case .capacity: "CAPACITY"
        case .rejectedOrder: "ORDER_WAS_REJECTED"
        case .zero: "ZERO"
        case .badAmount: "BAD_AMOUNT"
        case .cashLimit: "CASH_LIMIT"
        case .rebuy: "REBUY"
        case .openOpposite: "OPEN_OPPOSITE"
        case .negotiatedOnly: "NEGOTIATED_ONLY"
        case .aboveQuote: "ABOVE_QUOTE"
        case .refInUse: "REF_IN_USE"
        case .selfTrade: "SELF_TRADE"
        case .unknownBroker: "UNKNOWN_BROKER"
        }
    }

    public static func side(_ s: Side) -> String { s == .buy ? "BUY" : "SELL" }

    /// The public `TRADE`'s `kind=`, and the `kind` column of `trades.csv`.
    public static func tradeKind(_ k: TradeKind) -> String {
        switch k {
        case .book: "BOOK"
        case .auction: "AUCTION"
        case .quote: "QUOTE"
        case .cross: "CROSS"
        }
    }

    public static func tif(_ t: TimeInForce) -> String {
        switch t {
        case .day: "DAY"
        case .gtc: "GTC"
        case .ioc: "IOC"
        case .fok: "FOK"
        }
    }

    public static func phase(_ p: TradingPhase) -> String {
        switch p {
        case .auction: "AUCTION"
        case .open: "OPEN"
        case .closed: "CLOSED"
        }
    }

    public static func state(_ s: OrderState) -> String {
        switch s {
        case .new: "NEW"
        case .partial: "PARTIAL"
        case .filled: "FILLED"
        case .canceled: "CANCELED"
        }
    }

    public static func verb(_ k: CommandKind) -> String {
        switch k {
        case .new: "NEW"
        case .cancel: "CANCEL"
        case .replace: "REPLACE"
        case .status: "STATUS"
        case .halt: "HALT"
        case .resume: "RESUME"
        case .phase: "PHASE"
        case .roll: "ROLL"
        case .stats: "STATS"
        case .deposit: "DEPOSIT"
        case .withdraw: "WITHDRAW"
        case .cancelOnDisconnect: "CANCEL_ON_DISCONNECT"
        case .quote: "QUOTE"
        case .accept: "ACCEPT"
        case .cross: "CROSS"
        }
    }
}

/// Turns the core's events back into protocol lines (without the `\n`).
public struct LineFormatter: Sendable {
    public let directory: Directory

    public init(directory: Directory) { self.directory = directory }

    /// Appends `event` as one line, without a terminator. Keys are static strings and names and
    /// spellings are copied as whole byte runs: nothing is allocated per line.
    public func append(_ e: Event, to out: inout [UInt8]) {
        var w = FieldWriter(out: out)
        out = []  // the writer holds the buffer while it writes (no copy)
        switch e.kind {
        case .ack: ack(e, &w)
        case .reject:
            w.word("REJ")
            w.seqAndCid(e)
            w.text("reason", Spelling.reason(RejectReason(rawValue: e.reason) ?? .malformed))
            if let d = Spelling.detail(e.detail) { w.text("detail", d) }
        case .fill: fill(e, &w)
        case .canceled:
            w.word("CANCELED")
            w.seqAndCid(e)
            w.int("oid", e.oid)
            w.int("leaves", 0)
            w.text("reason", Spelling.cancelReason(CancelReason(rawValue: e.reason) ?? .admin))
        case .replaced: replaced(e, &w)
        case .status: status(e, &w)
        case .trade:
            w.word("TRADE")
            w.text("sym", name(directory.symbols, e.instrument))
            w.int("mdseq", e.mdseq)
            w.int("tid", e.tid)
            w.px("px", e.price)
            w.int("qty", e.qty)
            w.text("kind", Spelling.tradeKind(e.tradeKind))
        case .indicative:
            // Replay's view of what a `BOOK` would carry as `iop`/`iov` (empty: nothing would trade).
            w.word("IOP")
            w.text("sym", name(directory.symbols, e.instrument))
            if e.price > 0 { w.px("iop", e.price) } else { w.text("iop", "") }
            if e.price > 0 { w.int("iov", e.qty) } else { w.text("iov", "") }
        case .quote:
            // The quote board: public, and naming its broker (negotiated transfer is not anonymous).
            w.word("QUOTE")
            w.text("sym", name(directory.symbols, e.instrument))
            w.int("mdseq", e.mdseq)
            w.int("qid", e.oid)
            w.text("side", Spelling.side(e.side))
            w.int("qty", e.qty)
            w.px("px", e.price)
            w.text("broker", name(directory.brokers, e.broker))
        case .ok: ok(e, &w)
        case .stats:
            w.word("STATS")
            w.int("commands", e.qty)
            w.int("orders", e.oid)
            w.int("trades", e.tid)
            w.int("resting", e.leaves)
            w.int("rejects", e.cum)
        }
        w.int("ts", e.ts)
        out = w.out
    }

    func name(_ names: [String], _ id: Int32) -> String { id >= 0 && Int(id) < names.count ? names[Int(id)] : "?" }

    func ack(_ e: Event, _ w: inout FieldWriter) {
        w.word("ACK")
        w.seqAndCid(e)
        w.int("oid", e.oid)
        w.text("acct", name(directory.accounts, e.account))
        w.text("sym", name(directory.symbols, e.instrument))
        w.text("side", Spelling.side(e.side))
        w.int("qty", e.qty)
        w.px("px", e.price)
        w.text("tif", Spelling.tif(e.tif))
        if e.type == .market { w.text("type", "MARKET") }
        if e.verb.isNegotiated { w.text("type", Spelling.verb(e.verb)) }
    }

    func fill(_ e: Event, _ w: inout FieldWriter) {
        w.word("FILL")
        w.seqAndCid(e)
        w.int("oid", e.oid)
        w.int("tid", e.tid)
        w.px("px", e.price)
        w.int("qty", e.qty)
        w.int("leaves", e.leaves)
        w.int("cum", e.cum)
        w.text("liq", e.liquidity == .maker ? "MAKER" : e.liquidity == .taker ? "TAKER" : "AUCTION")
    }

    func replaced(_ e: Event, _ w: inout FieldWriter) {
        w.word("REPLACED")
        w.seqAndCid(e)
        w.int("oid", e.oid)
        w.cid("newcid", e.newCid)
        w.int("qty", e.qty)
        w.px("px", e.price)
        w.int("leaves", e.leaves)
        if e.reason != 0 { w.text("reason", Spelling.cancelReason(CancelReason(rawValue: e.reason) ?? .selfTrade)) }
    }

    func status(_ e: Event, _ w: inout FieldWriter) {
        w.word("STATUS")
        w.seqAndCid(e)
        w.int("oid", e.oid)
        w.text("state", Spelling.state(e.state))
        w.int("qty", e.qty)
        w.px("px", e.price)
        w.int("leaves", e.leaves)
        w.int("cum", e.cum)
    }

    func ok(_ e: Event, _ w: inout FieldWriter) {
        w.word("OK")
        w.text("verb", Spelling.verb(e.verb))
        if e.verb == .roll {
            w.text("date", e.date.iso)
        } else if e.verb == .deposit || e.verb == .withdraw {
            w.text("acct", name(directory.accounts, e.account))
            w.px("amount", e.price)
            w.px("cash", e.qty)
        } else {
            w.text("sym", name(directory.symbols, e.instrument))
        }
        if e.verb == .phase { w.text("phase", Spelling.phase(e.phase)) }
    }

    public func line(_ e: Event) -> String {
        var out: [UInt8] = []
        append(e, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// An edge-level `REJ` (no `seq`): `MALFORMED`, `LINE_TOO_LONG`, `UNKNOWN_VERB`, ...
    public func rejectLine(_ reason: RejectReason, cid: ClientOrderID, detail: String?, ts: Int64?) -> String {
        var s = "REJ"
        if !cid.isNone { s += " cid=" + cid.text }
        s += " reason=" + Spelling.reason(reason)
        if let detail { s += " detail=" + detail }
        if let ts { s += " ts=\(ts)" }
        return s
    }
}

/// Appends a line's parts: its verb, then ` key=value` fields, written as bytes (static keys and
/// words copied as byte runs, names copied from their UTF-8, numbers written digit by digit).
struct FieldWriter {
    var out: [UInt8]

    mutating func bytes(_ s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) == nil { out.append(contentsOf: s.utf8) }
    }

    mutating func word(_ s: StaticString) { s.withUTF8Buffer { out.append(contentsOf: $0) } }

    mutating func key(_ k: StaticString) {
        out.append(UInt8(ascii: " "))
        k.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(UInt8(ascii: "="))
    }

    mutating func int(_ k: StaticString, _ v: Int64) {
        key(k)
        Decimal4.appendInteger(v, to: &out)
    }

    mutating func px(_ k: StaticString, _ v: Int64) {
        key(k)
        Decimal4.append(v, to: &out)
    }

    mutating func text(_ k: StaticString, _ v: String) {
        key(k)
        bytes(v)
    }

    /// A cid from its packed words: each word's bytes up to the first zero.
    mutating func cid(_ k: StaticString, _ v: ClientOrderID) {
        key(k)
        for w in 0..<4 {
            var word = w == 0 ? v.w0 : w == 1 ? v.w1 : w == 2 ? v.w2 : v.w3
            for _ in 0..<8 {
                let b = UInt8(truncatingIfNeeded: word)
                if b == 0 { return }
                out.append(b)
                word >>= 8
            }
        }
    }

    mutating func seqAndCid(_ e: Event) {
        if e.seq > 0 { int("seq", e.seq) }
        if !e.cid.isNone { cid("cid", e.cid) }
    }
}
