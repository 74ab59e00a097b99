import CuoheCore

/// Protocol spellings of the core's enums.
public enum Spelling {
    public static func reason(_ r: RejectReason) -> String {
        reasonLiteral(r).description
    }

    /// The spelling as a static string (the line formatter copies its bytes).
    static func reasonLiteral(_ r: RejectReason) -> StaticString {
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
        cancelReasonLiteral(r).description
    }

    /// The spelling as a static string (the line formatter copies its bytes).
    static func cancelReasonLiteral(_ r: CancelReason) -> StaticString {
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
        detailLiteral(d).map { $0.description }
    }

    /// The spelling as a static string (the line formatter copies its bytes).
    static func detailLiteral(_ d: RejectDetail) -> StaticString? {
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

    public static func side(_ s: Side) -> String {
        sideLiteral(s).description
    }

    /// The spelling as a static string (the line formatter copies its bytes).
    static func sideLiteral(_ s: Side) -> StaticString { s == .buy ? "BUY" : "SELL" }

    /// The public `TRADE`'s `kind=`, and the `kind` column of `trades.csv`.
    public static func tradeKind(_ k: TradeKind) -> String {
        tradeKindLiteral(k).description
    }

    /// The spelling as a static string (the line formatter copies its bytes).
    static func tradeKindLiteral(_ k: TradeKind) -> StaticString {
        switch k {
        case .book: "BOOK"
        case .auction: "AUCTION"
        case .quote: "QUOTE"
        case .cross: "CROSS"
        }
    }

    public static func tif(_ t: TimeInForce) -> String {
        tifLiteral(t).description
    }

    /// The spelling as a static string (the line formatter copies its bytes).
    static func tifLiteral(_ t: TimeInForce) -> StaticString {
        switch t {
        case .day: "DAY"
        case .gtc: "GTC"
        case .ioc: "IOC"
        case .fok: "FOK"
        }
    }

    public static func phase(_ p: TradingPhase) -> String {
        phaseLiteral(p).description
    }

    /// The spelling as a static string (the line formatter copies its bytes).
    static func phaseLiteral(_ p: TradingPhase) -> StaticString {
        switch p {
        case .auction: "AUCTION"
        case .open: "OPEN"
        case .closed: "CLOSED"
        }
    }

    public static func state(_ s: OrderState) -> String {
        stateLiteral(s).description
    }

    /// The spelling as a static string (the line formatter copies its bytes).
    static func stateLiteral(_ s: OrderState) -> StaticString {
        switch s {
        case .new: "NEW"
        case .partial: "PARTIAL"
        case .filled: "FILLED"
        case .canceled: "CANCELED"
        }
    }

    public static func verb(_ k: CommandKind) -> String {
        verbLiteral(k).description
    }

    /// The spelling as a static string (the line formatter copies its bytes).
    static func verbLiteral(_ k: CommandKind) -> StaticString {
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

    /// Names by id, packed like cids (every configured name is one), for copying by words.
    let symbols: NameTable
    let accounts: NameTable
    let brokers: NameTable

    /// Room a line is written into: more than any event's line needs (the longest, a `REPLACED`
    /// with two 32-byte cids, is about 300 bytes), with a second, larger try should one not fit.
    static let windowBytes = 512
    static let wideWindowBytes = 8 * LineLimits.lineBytesMax

    public init(directory: Directory) {
        self.directory = directory
        symbols = NameTable(directory.symbols)
        accounts = NameTable(directory.accounts)
        brokers = NameTable(directory.brokers)
    }

    /// Appends `event` as one line, without a terminator. The line is written through a pointer
    /// into a window on the stack (keys are static strings, names and spellings copied as byte
    /// runs, numbers two digits at a time), then appended to `out` in one copy. Nothing is
    /// allocated.
    public func append(_ e: Event, to out: inout [UInt8]) {
        append(e, who: .none, to: &out)
    }

    /// Appends `who` (a broker's name, or `*`), a space, the event's line and `\n`: a line of
    /// replay's output, in the same one copy. With `who` `.none`, the bare line.
    public func append(_ e: Event, who: ClientOrderID, to out: inout [UInt8]) {
        if write(e, who: who, capacity: LineFormatter.windowBytes, to: &out) { return }
        // Not seen: a line longer than the window. Written again with room for any line.
        _ = write(e, who: who, capacity: LineFormatter.wideWindowBytes, to: &out)
    }

    /// Writes the line into a window of `capacity` bytes and appends it; false (nothing appended)
    /// if it did not fit.
    func write(_ e: Event, who: ClientOrderID, capacity: Int, to out: inout [UInt8]) -> Bool {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { window in
            var w = FieldWriter(base: window.baseAddress!, capacity: capacity)
            if !who.isNone {
                w.packedBytes(who)
                w.short(" ", 1)
            }
            fields(e, &w)
            if !who.isNone { w.short("\n", 1) }
            if w.overflowed { return false }
            out.append(contentsOf: UnsafeBufferPointer(start: window.baseAddress!, count: w.count))
            return true
        }
    }

    func fields(_ e: Event, _ w: inout FieldWriter) {
        switch e.kind {
        case .ack: ack(e, &w)
        case .reject:
            w.word("REJ")
            w.seqAndCid(e)
            w.spelled("reason", Spelling.reasonLiteral(RejectReason(rawValue: e.reason) ?? .malformed))
            if let d = Spelling.detailLiteral(e.detail) { w.spelled("detail", d) }
        case .fill: fill(e, &w)
        case .canceled:
            w.word("CANCELED")
            w.seqAndCid(e)
            w.int("oid", e.oid)
            w.int("leaves", 0)
            w.spelled("reason", Spelling.cancelReasonLiteral(CancelReason(rawValue: e.reason) ?? .admin))
        case .replaced: replaced(e, &w)
        case .status: status(e, &w)
        case .trade:
            w.word("TRADE")
            w.name("sym", symbols, e.instrument)
            w.int("mdseq", e.mdseq)
            w.int("tid", e.tid)
            w.px("px", e.price)
            w.int("qty", e.qty)
            w.spelled("kind", Spelling.tradeKindLiteral(e.tradeKind))
        case .indicative:
            // Replay's view of what a `BOOK` would carry as `iop`/`iov` (empty: nothing would trade).
            w.word("IOP")
            w.name("sym", symbols, e.instrument)
            if e.price > 0 { w.px("iop", e.price) } else { w.spelled("iop", "") }
            if e.price > 0 { w.int("iov", e.qty) } else { w.spelled("iov", "") }
        case .quote:
            // The quote board: public, and naming its broker (negotiated transfer is not anonymous).
            w.word("QUOTE")
            w.name("sym", symbols, e.instrument)
            w.int("mdseq", e.mdseq)
            w.int("qid", e.oid)
            w.spelled("side", Spelling.sideLiteral(e.side))
            w.int("qty", e.qty)
            w.px("px", e.price)
            w.name("broker", brokers, e.broker)
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
    }


    func ack(_ e: Event, _ w: inout FieldWriter) {
        w.word("ACK")
        w.seqAndCid(e)
        w.int("oid", e.oid)
        w.name("acct", accounts, e.account)
        w.name("sym", symbols, e.instrument)
        w.spelled("side", Spelling.sideLiteral(e.side))
        w.int("qty", e.qty)
        w.px("px", e.price)
        w.spelled("tif", Spelling.tifLiteral(e.tif))
        if e.type == .market { w.spelled("type", "MARKET") }
        if e.verb.isNegotiated { w.spelled("type", Spelling.verbLiteral(e.verb)) }
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
        w.spelled("liq", e.liquidity == .maker ? "MAKER" : e.liquidity == .taker ? "TAKER" : "AUCTION")
    }

    func replaced(_ e: Event, _ w: inout FieldWriter) {
        w.word("REPLACED")
        w.seqAndCid(e)
        w.int("oid", e.oid)
        w.cid("newcid", e.newCid)
        w.int("qty", e.qty)
        w.px("px", e.price)
        w.int("leaves", e.leaves)
        if e.reason != 0 { w.spelled("reason", Spelling.cancelReasonLiteral(CancelReason(rawValue: e.reason) ?? .selfTrade)) }
    }

    func status(_ e: Event, _ w: inout FieldWriter) {
        w.word("STATUS")
        w.seqAndCid(e)
        w.int("oid", e.oid)
        w.spelled("state", Spelling.stateLiteral(e.state))
        w.int("qty", e.qty)
        w.px("px", e.price)
        w.int("leaves", e.leaves)
        w.int("cum", e.cum)
    }

    func ok(_ e: Event, _ w: inout FieldWriter) {
        w.word("OK")
        w.spelled("verb", Spelling.verbLiteral(e.verb))
        if e.verb == .roll {
            w.text("date", e.date.iso)
        } else if e.verb == .deposit || e.verb == .withdraw {
            w.name("acct", accounts, e.account)
            w.px("amount", e.price)
            w.px("cash", e.qty)
        } else {
            w.name("sym", symbols, e.instrument)
        }
        if e.verb == .phase { w.spelled("phase", Spelling.phaseLiteral(e.phase)) }
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

/// Writes a line's parts into raw memory: its verb, then ` key=value` fields (static keys and
/// words copied as byte runs, names from their UTF-8, numbers digit by digit). It never writes
/// past `capacity`: a part that would not fit sets `overflowed` instead.
struct FieldWriter {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    private(set) var count = 0
    private(set) var overflowed = false

    init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    /// True if `n` more bytes fit (else marks the line as not fitting).
    @inline(__always)
    mutating func room(_ n: Int) -> Bool {
        if count + n <= capacity { return true }
        overflowed = true
        return false
    }

    @inline(__always)
    mutating func run(_ p: UnsafePointer<UInt8>, _ n: Int) {
        guard room(n) else { return }
        (base + count).update(from: p, count: n)
        count += n
    }

    mutating func bytes(_ s: String) {
        var s = s
        s.withUTF8 { if let p = $0.baseAddress { run(p, $0.count) } }
    }

    /// Copies a short run (a call to memcpy costs more than the few bytes).
    @inline(__always)
    mutating func short(_ p: UnsafePointer<UInt8>, _ n: Int) {
        guard room(n) else { return }
        FieldWriter.copySmall(base + count, p, n)
        count += n
    }

    /// Copies `n` bytes with two loads and two stores of the widest size that fits (overlapping
    /// in the middle: 5 bytes are bytes 0–3 and 1–4), memcpy past 16.
    @inline(__always)
    static func copySmall(_ dst: UnsafeMutablePointer<UInt8>, _ src: UnsafePointer<UInt8>, _ n: Int) {
        let s = UnsafeRawPointer(src)
        let d = UnsafeMutableRawPointer(dst)
        if n >= 8 {
            if n > 16 { return d.copyMemory(from: s, byteCount: n) }
            let a = s.loadUnaligned(as: UInt64.self)
            let b = s.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            d.storeBytes(of: a, as: UInt64.self)
            d.storeBytes(of: b, toByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 {
            let a = s.loadUnaligned(as: UInt32.self)
            let b = s.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
            d.storeBytes(of: a, as: UInt32.self)
            d.storeBytes(of: b, toByteOffset: n - 4, as: UInt32.self)
        } else if n >= 2 {
            let a = s.loadUnaligned(as: UInt16.self)
            let b = s.loadUnaligned(fromByteOffset: n - 2, as: UInt16.self)
            d.storeBytes(of: a, as: UInt16.self)
            d.storeBytes(of: b, toByteOffset: n - 2, as: UInt16.self)
        } else if n == 1 {
            dst[0] = src[0]
        }
    }

    @inline(__always)
    mutating func word(_ s: StaticString) { short(s.utf8Start, s.utf8CodeUnitCount) }

    // Each field checks its room once, for its widest value: the `put…` parts below write
    // without a check of their own.

    /// The widest integer: a sign and 20 digits (more than `Int64` needs).
    static var integerWidest: Int { 21 }
    /// The widest amount: the integer, the point and four digits, and room to spare.
    static var decimalWidest: Int { 27 }

    /// ` key=`.
    @inline(__always)
    mutating func key(_ k: StaticString) {
        guard room(k.utf8CodeUnitCount + 2) else { return }
        putKey(k)
    }

    /// ` key=`, the room already checked.
    @inline(__always)
    mutating func putKey(_ k: StaticString) {
        let n = k.utf8CodeUnitCount
        base[count] = UInt8(ascii: " ")
        FieldWriter.copySmall(base + count + 1, k.utf8Start, n)
        base[count + n + 1] = UInt8(ascii: "=")
        count += n + 2
    }

    /// ` key=value` with a spelling from the static tables.
    @inline(__always)
    mutating func spelled(_ k: StaticString, _ v: StaticString) {
        let n = v.utf8CodeUnitCount
        guard room(k.utf8CodeUnitCount + 2 + n) else { return }
        putKey(k)
        FieldWriter.copySmall(base + count, v.utf8Start, n)
        count += n
    }

    /// ` key=name`: the name of `id` in `names`, `?` if there is none.
    mutating func name(_ k: StaticString, _ names: NameTable, _ id: Int32) {
        guard room(k.utf8CodeUnitCount + 2 + ClientOrderID.lengthMax) else { return }
        putKey(k)
        guard id >= 0 && Int(id) < names.packed.count else { return short("?", 1) }
        let packed = names.packed[Int(id)]
        if packed.isNone { return bytes(names.text[Int(id)]) }
        putPacked(packed)
    }

    @inline(__always)
    mutating func int(_ k: StaticString, _ v: Int64) {
        guard room(k.utf8CodeUnitCount + 2 + FieldWriter.integerWidest) else { return }
        putKey(k)
        putInteger(v)
    }

    @inline(__always)
    mutating func px(_ k: StaticString, _ v: Int64) {
        guard room(k.utf8CodeUnitCount + 2 + FieldWriter.decimalWidest) else { return }
        putKey(k)
        putDecimal(v)
    }

    mutating func text(_ k: StaticString, _ v: String) {
        key(k)
        bytes(v)
    }

    /// Writes `-` for a negative `value` and returns its magnitude (`Int64.min`'s too). The caller
    /// checked there is room.
    @inline(__always)
    mutating func signed(_ value: Int64) -> UInt64 {
        guard value < 0 else { return UInt64(bitPattern: value) }
        base[count] = UInt8(ascii: "-")
        count += 1
        return 0 &- UInt64(bitPattern: value)
    }

    /// A decimal integer.
    @inline(__always)
    mutating func integer(_ value: Int64) {
        guard room(FieldWriter.integerWidest) else { return }
        putInteger(value)
    }

    /// A decimal integer, the room already checked: its digits counted, then written in place
    /// from the last, four at a time while more than four are left, then two.
    @inline(__always)
    mutating func putInteger(_ value: Int64) {
        var v = signed(value)
        let pairs: StaticString =
            "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        let table = pairs.utf8Start
        // The digit count first, so the digits are written in place, last first.
        let digits = FieldWriter.digitCount(v)
        let end = base + count + digits
        var p = end
        @inline(__always) func pair(_ at: UnsafeMutablePointer<UInt8>, _ r: Int) {
            UnsafeMutableRawPointer(at).storeBytes(of: UnsafeRawPointer(table + 2 &* r).loadUnaligned(as: UInt16.self),
                                                   as: UInt16.self)
        }
        // Four digits a step while there are more than four (a timestamp has 19), then two.
        while v >= 10_000 {
            let q = v / 10_000
            let r = Int(truncatingIfNeeded: v &- q &* 10_000)
            let high = r / 100
            p -= 4
            pair(p, high)
            pair(p + 2, r &- high &* 100)
            v = q
        }
        while v >= 100 {
            let q = v / 100
            let r = Int(v &- q &* 100)
            p -= 2
            pair(p, r)
            v = q
        }
        if v >= 10 {
            p -= 2
            p[0] = table[2 * Int(v)]
            p[1] = table[2 * Int(v) + 1]
        } else {
            p -= 1
            p[0] = UInt8(truncatingIfNeeded: 48 &+ v)
        }
        count += digits
    }

    /// The decimal digits of `v`, by a few comparisons (a timestamp has 19: counting them one
    /// power of ten at a time took 19 steps).
    @inline(__always)
    static func digitCount(_ v: UInt64) -> Int {
        if v < 10_000_000_000 {
            if v < 100_000 {
                if v < 100 { return v < 10 ? 1 : 2 }
                return v < 1_000 ? 3 : v < 10_000 ? 4 : 5
            }
            if v < 10_000_000 { return v < 1_000_000 ? 6 : 7 }
            return v < 100_000_000 ? 8 : v < 1_000_000_000 ? 9 : 10
        }
        if v < 1_000_000_000_000_000 {
            if v < 1_000_000_000_000 { return v < 100_000_000_000 ? 11 : 12 }
            return v < 10_000_000_000_000 ? 13 : v < 100_000_000_000_000 ? 14 : 15
        }
        if v < 100_000_000_000_000_000 { return v < 10_000_000_000_000_000 ? 16 : 17 }
        return v < 1_000_000_000_000_000_000 ? 18 : v < 10_000_000_000_000_000_000 ? 19 : 20
    }

    /// A fixed-point amount: at least `minFraction` (0 to 4) fractional digits and no trailing
    /// zeros beyond them (`12.34`, `0.50`, `1.2345`; `12` with 0).
    mutating func decimal(_ value: Int64, minFraction: Int = 2) {
        guard room(FieldWriter.decimalWidest) else { return }
        putDecimal(value, minFraction: minFraction)
    }

    /// An amount, the room already checked.
    @inline(__always)
    mutating func putDecimal(_ value: Int64, minFraction: Int = 2) {
        let v = signed(value)
        let whole = v / UInt64(Fixed.scale)
        putInteger(Int64(bitPattern: whole))
        var fraction = v % UInt64(Fixed.scale)
        var digits = 4
        while digits > minFraction && fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        if digits == 0 { return }
        base[count] = UInt8(ascii: ".")
        var i = count + digits
        for _ in 0..<digits {
            base[i] = UInt8(truncatingIfNeeded: 48 &+ fraction % 10)
            fraction /= 10
            i -= 1
        }
        count += digits + 1
    }

    /// A cid from its packed words: each word's bytes up to the first zero.
    @inline(__always)
    mutating func cid(_ k: StaticString, _ v: ClientOrderID) {
        guard room(k.utf8CodeUnitCount + 2 + ClientOrderID.lengthMax) else { return }
        putKey(k)
        putPacked(v)
    }

    /// The bytes of a packed cid or name, up to its first zero.
    @inline(__always)
    mutating func packedBytes(_ v: ClientOrderID) {
        guard room(ClientOrderID.lengthMax) else { return }
        putPacked(v)
    }

    /// A packed cid or name, the room (32 bytes, all four words) already checked.
    @inline(__always)
    mutating func putPacked(_ v: ClientOrderID) {
        // All four words are stored (the room is there); the count moves past the bytes before
        // the first zero. A packed value has no zero before its end: its length is the last
        // non-zero word's place plus that word's bytes up to its highest non-zero one.
        let d = UnsafeMutableRawPointer(base + count)
        d.storeBytes(of: v.w0.littleEndian, as: UInt64.self)
        d.storeBytes(of: v.w1.littleEndian, toByteOffset: 8, as: UInt64.self)
        d.storeBytes(of: v.w2.littleEndian, toByteOffset: 16, as: UInt64.self)
        d.storeBytes(of: v.w3.littleEndian, toByteOffset: 24, as: UInt64.self)
        @inline(__always) func bytes(_ w: UInt64) -> Int { (71 &- w.leadingZeroBitCount) >> 3 }
        count += v.w3 != 0 ? 24 + bytes(v.w3) : v.w2 != 0 ? 16 + bytes(v.w2) : v.w1 != 0 ? 8 + bytes(v.w1) : bytes(v.w0)
    }

    mutating func seqAndCid(_ e: Event) {
        if e.seq > 0 { int("seq", e.seq) }
        if !e.cid.isNone { cid("cid", e.cid) }
    }
}

/// Names by id for the line formatter: each packed like a cid (every configured name fits one:
/// the directory looks names up that way), the text kept for any that does not.
struct NameTable: Sendable {
    let packed: [ClientOrderID]
    let text: [String]

    init(_ names: [String]) {
        text = names
        packed = names.map { ClientOrderID($0) ?? .none }
    }
}

