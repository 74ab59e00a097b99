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
        case .missingPrice: "PX_REQUIRED"
        case .marketWithPrice: "MARKET_TAKES_NO_PX"
        case .replaced: "REPLACED"
        case .dateNotLater: "DATE_NOT_AFTER_CURRENT"
        case .capacity: "CAPACITY"
        case .rejectedOrder: "ORDER_WAS_REJECTED"
        case .zero: "ZERO"
        case .badAmount: "BAD_AMOUNT"
        case .cashLimit: "CASH_LIMIT"
        }
    }

    public static func side(_ s: Side) -> String { s == .buy ? "BUY" : "SELL" }

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
        func bytes(_ s: String) {
            if s.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) == nil {
                out.append(contentsOf: s.utf8)
            }
        }
        func word(_ s: StaticString) { s.withUTF8Buffer { out.append(contentsOf: $0) } }
        func key(_ k: StaticString) {
            out.append(UInt8(ascii: " "))
            k.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(UInt8(ascii: "="))
        }
        func int(_ k: StaticString, _ v: Int64) { key(k); Decimal4.appendInteger(v, to: &out) }
        func px(_ k: StaticString, _ v: Int64) { key(k); Decimal4.append(v, to: &out) }
        func text(_ k: StaticString, _ v: String) { key(k); bytes(v) }
        func cid(_ k: StaticString, _ v: ClientOrderID) {
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
        func name(_ names: [String], _ id: Int32) -> String {
            id >= 0 && Int(id) < names.count ? names[Int(id)] : "?"
        }
        func seqAndCid() {
            if e.seq > 0 { int("seq", e.seq) }
            if !e.cid.isNone { cid("cid", e.cid) }
        }
        switch e.kind {
        case .ack:
            word("ACK")
            seqAndCid()
            int("oid", e.oid)
            text("acct", name(directory.accounts, e.account))
            text("sym", name(directory.symbols, e.instrument))
            text("side", Spelling.side(e.side))
            int("qty", e.qty)
            px("px", e.price)
            text("tif", Spelling.tif(e.tif))
            if e.type == .market { text("type", "MARKET") }
        case .reject:
            word("REJ")
            seqAndCid()
            text("reason", Spelling.reason(RejectReason(rawValue: e.reason) ?? .malformed))
            if let d = Spelling.detail(e.detail) { text("detail", d) }
        case .fill:
            word("FILL")
            seqAndCid()
            int("oid", e.oid)
            int("tid", e.tid)
            px("px", e.price)
            int("qty", e.qty)
            int("leaves", e.leaves)
            int("cum", e.cum)
            text("liq", e.liquidity == .maker ? "MAKER" : "TAKER")
        case .canceled:
            word("CANCELED")
            seqAndCid()
            int("oid", e.oid)
            int("leaves", 0)
            text("reason", Spelling.cancelReason(CancelReason(rawValue: e.reason) ?? .admin))
        case .replaced:
            word("REPLACED")
            seqAndCid()
            int("oid", e.oid)
            cid("newcid", e.newCid)
            int("qty", e.qty)
            px("px", e.price)
            int("leaves", e.leaves)
        case .status:
            word("STATUS")
            seqAndCid()
            int("oid", e.oid)
            text("state", Spelling.state(e.state))
            int("qty", e.qty)
            px("px", e.price)
            int("leaves", e.leaves)
            int("cum", e.cum)
        case .trade:
            word("TRADE")
            text("sym", name(directory.symbols, e.instrument))
            int("mdseq", e.mdseq)
            int("tid", e.tid)
            px("px", e.price)
            int("qty", e.qty)
        case .ok:
            word("OK")
            text("verb", Spelling.verb(e.verb))
            if e.verb == .roll {
                text("date", e.date.iso)
            } else if e.verb == .deposit || e.verb == .withdraw {
                text("acct", name(directory.accounts, e.account))
                px("amount", e.price)
                px("cash", e.qty)
            } else {
                text("sym", name(directory.symbols, e.instrument))
            }
            if e.verb == .phase { text("phase", Spelling.phase(e.phase)) }
        case .stats:
            word("STATS")
            int("commands", e.qty)
            int("orders", e.oid)
            int("trades", e.tid)
            int("resting", e.leaves)
            int("rejects", e.cum)
        }
        int("ts", e.ts)
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
