import CuoheCore

/// The protocol's line limits.
public enum LineLimits {
    /// At most this many bytes per line, including the `\n` terminator (PROTOCOL.md, Framing).
    public static let lineBytesMax = 1024
    /// The most fields a line may carry: more than any verb has keys, so more is malformed.
    public static let fieldsMax = 16
}

/// A session-level request, handled by the gateway (or replay) rather than the matcher.
public enum SessionRequest: Sendable, Equatable {
    case login(broker: String, token: String, resume: Int64, heartbeatSeconds: Int64)
    case ping(token: String?)
    case logout
    case subscribe(instrument: Int32, depth: Int)
    case unsubscribe(instrument: Int32)
}

/// What one inbound line is.
public enum ParsedLine: Sendable {
    /// Blank or a `#` comment: ignored.
    case empty
    /// A command for the matcher; the caller sets `ts` when it sequences it.
    case command(Command)
    case session(SessionRequest)
    /// Refused at the edge: never reaches the matcher, carries no `seq`.
    case reject(RejectReason, cid: ClientOrderID, detail: String?)
}

/// The keys the protocol knows, in the order `MISSING_…` names them.
enum FieldKey: Int, CaseIterable {
    case cid, acct, sym, side, qty, px, type, tif, newcid, phase, date, amount, broker, token, resume, hb, t, depth,
         quote, ref, cp

    static let names: [String] = allCases.map { "\($0)" }
    /// Each name packed little-endian into a word (every name is at most 8 bytes).
    static let packed: [UInt64] = names.map { LineParser.pack(Array($0.utf8)[...]) }

    var bit: UInt32 { 1 << UInt32(rawValue) }
}

/// Turns a text line into a `ParsedLine`: verbs and keys checked exactly as PROTOCOL.md says,
/// names resolved to ids through the `Directory`, numbers to fixed-point integers.
///
/// No allocation on the order path: the verb and keys are matched as packed words, fields are
/// byte ranges in a stack buffer, found by key through a slot per known key. Only rejects,
/// session requests and operator dates build `String`s.
public struct LineParser: Sendable {
    public let directory: Directory
    /// The verbs, their keys' masks and the keys as packed words, copied from the static tables
    /// once: a static read on every line goes through a lazy-initialisation check each time.
    let verbWords: [UInt64]
    let verbList: [Verb]
    let verbSpecs: [(required: UInt32, optional: UInt32)]
    let keyWords: [UInt64]
    /// The keys by a perfect hash of their packed word: `keySlots[(word × keyMultiplier) >> 58]`
    /// is the key's index (or -1), found with one multiply instead of a walk over the 21 keys.
    let keySlots: [Int8]
    let keyMultiplier: UInt64

    public init(directory: Directory) {
        self.directory = directory
        verbWords = LineParser.verbs.map(\.0)
        verbList = LineParser.verbs.map(\.1)
        verbSpecs = LineParser.specs
        keyWords = FieldKey.packed
        (keySlots, keyMultiplier) = LineParser.perfectHash(FieldKey.packed)
    }

    /// The first multiplier (of a fixed odd sequence, so every parser gets the same) that sends
    /// each word to a slot of its own among 64.
    static func perfectHash(_ words: [UInt64]) -> ([Int8], UInt64) {
        var m: UInt64 = 0x9E37_79B9_7F4A_7C15
        while true {
            var slots = [Int8](repeating: -1, count: 64)
            var clash = false
            for (k, w) in words.enumerated() {
                let slot = Int((w &* m) >> 58)
                if slots[slot] >= 0 { clash = true; break }
                slots[slot] = Int8(k)
            }
            if !clash { return (slots, m) }
            m = m &+ 0x6A09_E667_F3BC_C909 | 1
        }
    }

    enum Verb {
        case new, cancel, status, replace, halt, resume, unsub, phase, roll, deposit, withdraw, stats, logout, login,
             ping, sub, quote, accept, cross
    }

    static let verbs: [(UInt64, Verb)] = ([
        ("NEW", .new), ("CANCEL", .cancel), ("STATUS", .status), ("REPLACE", .replace), ("HALT", .halt),
        ("RESUME", .resume), ("UNSUB", .unsub), ("PHASE", .phase), ("ROLL", .roll), ("DEPOSIT", .deposit),
        ("WITHDRAW", .withdraw), ("STATS", .stats), ("LOGOUT", .logout), ("LOGIN", .login), ("PING", .ping),
        ("SUB", .sub), ("QUOTE", .quote), ("ACCEPT", .accept), ("CROSS", .cross),
    ] as [(String, Verb)]).map { (LineParser.pack(Array($0.0.utf8)[...]), $0.1) }

    /// Up to 8 bytes as a little-endian word; 0 (no verb or key packs to it) if longer or empty.
    @inline(__always)
    static func pack<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        if bytes.isEmpty || bytes.count > 8 { return 0 }
        var w: UInt64 = 0
        var shift: UInt64 = 0
        for b in bytes {
            w |= UInt64(b) << shift
            shift += 8
        }
        return w
    }

    /// The keys each verb requires and allows.
    static func spec(_ verb: Verb) -> (required: UInt32, optional: UInt32) {
        func mask(_ keys: [FieldKey]) -> UInt32 { keys.reduce(0) { $0 | $1.bit } }
        switch verb {
        case .new: return (mask([.cid, .acct, .sym, .side, .qty]), mask([.px, .type, .tif]))
        case .cancel, .status: return (FieldKey.cid.bit, 0)
        case .replace: return (mask([.cid, .newcid]), mask([.qty, .px]))
        case .halt, .resume, .unsub: return (FieldKey.sym.bit, 0)
        case .phase: return (mask([.sym, .phase]), 0)
        case .roll: return (FieldKey.date.bit, 0)
        case .deposit, .withdraw: return (mask([.acct, .amount]), 0)
        case .stats, .logout: return (0, 0)
        case .login: return (mask([.broker, .token]), mask([.resume, .hb]))
        case .ping: return (0, FieldKey.t.bit)
        case .sub: return (mask([.sym, .depth]), 0)
        case .quote: return (mask([.cid, .acct, .sym, .side, .qty, .px]), 0)
        case .accept: return (mask([.cid, .acct, .quote, .qty]), 0)
        case .cross: return (mask([.cid, .acct, .sym, .side, .qty, .px, .ref, .cp]), 0)
        }
    }

    static let specs: [(required: UInt32, optional: UInt32)] = [
        Verb.new, .cancel, .status, .replace, .halt, .resume, .unsub, .phase, .roll, .deposit, .withdraw, .stats,
        .logout, .login, .ping, .sub, .quote, .accept, .cross,
    ].map { spec($0) }

    /// One `key=value` field: byte offsets into the line, and its key (-1: not a protocol key).
    struct Field {
        var keyStart: Int32
        var keyEnd: Int32
        var valueStart: Int32
        var valueEnd: Int32
        var key: Int32
    }

    /// Parses one line (without its `\n`; a trailing `\r` is accepted). `broker` is the sending
    /// broker's id, stamped on commands.
    public func parse(_ line: [UInt8], broker: Int32) -> ParsedLine {
        line.withUnsafeBufferPointer { parse($0, broker: broker) }
    }

    public func parse(_ line: ArraySlice<UInt8>, broker: Int32) -> ParsedLine {
        line.withUnsafeBufferPointer { parse($0, broker: broker) }
    }

    public func parse(_ line: String, broker: Int32) -> ParsedLine { parse(Array(line.utf8), broker: broker) }

    public func parse(_ line: UnsafeBufferPointer<UInt8>, broker: Int32) -> ParsedLine {
        withUnsafeTemporaryAllocation(of: Field.self, capacity: LineLimits.fieldsMax) { fields in
            withUnsafeTemporaryAllocation(of: Int8.self, capacity: FieldKey.allCases.count) { slots in
                parse(line, broker: broker, fields: fields, slots: slots)
            }
        }
    }

    func parse(_ line: UnsafeBufferPointer<UInt8>, broker: Int32, fields: UnsafeMutableBufferPointer<Field>,
               slots: UnsafeMutableBufferPointer<Int8>) -> ParsedLine {
        let space = UInt8(ascii: " ")
        // The bound counts the terminator: the `\n` the reader took off, and a `\r` before it.
        if line.count + 1 > LineLimits.lineBytesMax { return .reject(.lineTooLong, cid: .none, detail: nil) }
        var end = line.count
        if end > 0 && line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        // Trailing spaces are forgiven (hand-typed lines); inner runs of spaces are not.
        while end > 0 && line[end - 1] == space { end -= 1 }
        if end == 0 || line[0] == UInt8(ascii: "#") { return .empty }
        // The protocol is ASCII: a control byte, or any byte past it (which could be a C1
        // control or broken UTF-8 when a value is echoed), is refused, before anything else. The
        // line is read once, left to right: verb, then each field's key and value, every byte
        // checked as it passes.
        func refused(_ b: UInt8) -> ParsedLine { .reject(.malformed, cid: .none, detail: b >= 0x80 ? "NON_ASCII" : "CONTROL_BYTE") }
        // Verb. Where the line has eight bytes, its first word is read at once and the verb ends
        // at its first space or unprintable byte; the byte loops below finish what is left (and
        // refuse or stop at that byte), as they do for the rest of a shorter line.
        let base = line.baseAddress!
        var i = 0
        var verbWord: UInt64 = 0
        if end >= 8 {
            let x = ByteWords.load(base)
            let stops = ByteWords.equal(x, space) | ByteWords.unprintable(x)
            i = stops == 0 ? 8 : stops.trailingZeroBitCount >> 3
            verbWord = stops == 0 ? x : x & ByteWords.first(i)
        }
        while i < end {
            let b = line[i]
            if b == space { break }
            if b < 0x20 || b >= 0x7F { return refused(b) }
            if i < 8 { verbWord |= UInt64(b) &<< UInt64(8 &* i) }
            i += 1
        }
        if i > 8 { verbWord = 0 }
        var verb: Verb? = nil
        var spec: (required: UInt32, optional: UInt32) = (0, 0)
        for k in 0..<verbWords.count where verbWords[k] == verbWord {
            verb = verbList[k]
            spec = verbSpecs[k]
            break
        }
        // Fields.
        for k in 0..<slots.count { slots[k] = -1 }
        var count = 0
        var present: UInt32 = 0
        var cid = ClientOrderID.none
        var malformed: String? = nil
        while i < end {
            i += 1  // the single space
            let start = i
            // The key: lower-case letters up to `=`, packed as it is read.
            var eq = -1
            var keyWord: UInt64 = 0
            var keyOK = true
            if i + 8 <= end {
                // The key's first word: up to its `=`, space or unprintable byte, lower-case letters.
                let x = ByteWords.load(base + i)
                let stops = ByteWords.equal(x, UInt8(ascii: "=")) | ByteWords.equal(x, space) | ByteWords.unprintable(x)
                let n = stops == 0 ? 8 : stops.trailingZeroBitCount >> 3
                let mask = stops == 0 ? ~UInt64(0) : ByteWords.first(n)
                keyWord = x & mask
                keyOK = ByteWords.all(ByteWords.inRange(x, 97, 122), in: mask)
                i += n
            }
            while i < end {
                let b = line[i]
                if b == space { break }
                if b < 0x20 || b >= 0x7F { return refused(b) }
                if b == UInt8(ascii: "=") {
                    eq = i
                    i += 1
                    break
                }
                if b < 97 || b > 122 { keyOK = false }
                let k = i - start
                if k < 8 { keyWord |= UInt64(b) &<< UInt64(8 &* k) }
                i += 1
            }
            // The value, up to the next space: whole words while no byte in them needs a look.
            var equalsInValue = false
            while i + 8 <= end {
                let x = ByteWords.load(base + i)
                let stops = ByteWords.equal(x, space) | ByteWords.equal(x, UInt8(ascii: "=")) | ByteWords.unprintable(x)
                if stops != 0 {
                    i += stops.trailingZeroBitCount >> 3
                    break
                }
                i += 8
            }
            while i < end {
                let b = line[i]
                if b == space { break }
                if b < 0x20 || b >= 0x7F { return refused(b) }
                if b == UInt8(ascii: "=") { equalsInValue = true }
                i += 1
            }
            if eq < 0 {
                malformed = malformed ?? "FIELD_WITHOUT_VALUE"
                continue
            }
            if !keyOK || eq == start {
                malformed = malformed ?? "BAD_KEY"
                continue
            }
            if eq + 1 == i { malformed = malformed ?? "EMPTY_VALUE" }
            if equalsInValue { malformed = malformed ?? "EQUALS_IN_VALUE" }
            if eq - start > 8 { keyWord = 0 }
            var key: Int32 = -1
            if keyWord != 0 {
                let k = Int(keySlots[Int((keyWord &* keyMultiplier) >> 58)])
                if k >= 0 && keyWords[k] == keyWord { key = Int32(k) }
            }
            if key >= 0 {
                if slots[Int(key)] >= 0 { malformed = malformed ?? "DUPLICATE_KEY" }
            } else {
                for f in 0..<count where fields[f].key < 0 {
                    let other = UnsafeBufferPointer(rebasing: line[Int(fields[f].keyStart)..<Int(fields[f].keyEnd)])
                    if other.elementsEqual(UnsafeBufferPointer(rebasing: line[start..<eq])) {
                        malformed = malformed ?? "DUPLICATE_KEY"
                    }
                }
            }
            if count >= LineLimits.fieldsMax {
                malformed = malformed ?? "TOO_MANY_FIELDS"
                continue
            }
            // A line is at most `LineLimits.lineBytesMax` bytes: every offset fits.
            fields[count] = Field(keyStart: Int32(truncatingIfNeeded: start), keyEnd: Int32(truncatingIfNeeded: eq),
                                  valueStart: Int32(truncatingIfNeeded: eq + 1), valueEnd: Int32(truncatingIfNeeded: i),
                                  key: key)
            if key >= 0 && slots[Int(key)] < 0 {
                slots[Int(key)] = Int8(count)
                present |= 1 << UInt32(key)
            }
            count += 1
            // Packed once: it answers a malformed line's REJ and is the command's cid.
            if key == Int32(FieldKey.cid.rawValue),
               let c = ClientOrderID.pack(base + eq + 1, count: i - eq - 1, readable: line.count - eq - 1) {
                cid = c
            }
        }
        guard let verb else { return .reject(.unknownVerb, cid: cid, detail: nil) }
        func reject(_ detail: String) -> ParsedLine { .reject(.malformed, cid: cid, detail: detail) }
        if let detail = malformed { return reject(detail) }
        for f in 0..<count {
            let key = fields[f].key
            if key < 0 || (spec.required | spec.optional) & (1 << UInt32(key)) == 0 {
                let name = String(decoding: UnsafeBufferPointer(rebasing: line[Int(fields[f].keyStart)..<Int(fields[f].keyEnd)]),
                                  as: UTF8.self)
                return reject("UNKNOWN_KEY_\(name.uppercased())")
            }
        }
        let missing = spec.required & ~present
        if missing != 0 {
            // The first missing key in the protocol's order.
            return reject("MISSING_\(FieldKey.names[missing.trailingZeroBitCount].uppercased())")
        }

        func field(_ key: FieldKey) -> UnsafeBufferPointer<UInt8>? {
            let f = Int(slots[key.rawValue])
            if f < 0 { return nil }
            return UnsafeBufferPointer(rebasing: line[Int(fields[f].valueStart)..<Int(fields[f].valueEnd)])
        }
        /// A name or cid field packed straight from the line (`.none`: absent or not packable).
        func packed(_ key: FieldKey) -> ClientOrderID {
            let f = Int(slots[key.rawValue])
            if f < 0 { return .none }
            let start = Int(fields[f].valueStart)
            return ClientOrderID.pack(base + start, count: Int(fields[f].valueEnd) - start, readable: line.count - start)
                ?? .none
        }
        func text(_ key: FieldKey) -> String { String(decoding: field(key)!, as: UTF8.self) }
        func equals(_ value: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
            word.withUTF8Buffer { value.elementsEqual($0) }
        }
        func cidField(_ key: FieldKey) -> ClientOrderID? {
            // The cid was packed as the fields were read (none: not a valid cid).
            if key == .cid { return cid.isNone ? nil : cid }
            let v = packed(key)
            return v.isNone ? nil : v
        }
        func sideField() -> Side? {
            let side = field(.side)!
            return equals(side, "BUY") ? .buy : equals(side, "SELL") ? .sell : nil
        }
        /// A `CROSS`'s agreement number: 1 to 16 of `[A-Za-z0-9]`.
        func refField() -> ClientOrderID? {
            let v = field(.ref)!
            guard v.count <= 16, v.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) })
            else { return nil }
            return ClientOrderID(buffer: v)
        }
        func quantity(_ v: UnsafeBufferPointer<UInt8>?) -> Int64 {
            guard let v else { return Command.absent }
            guard let q = Decimal4.parseInteger(v), q <= Bounds.quantityMax else { return Command.invalid }
            return q
        }
        func price(_ v: UnsafeBufferPointer<UInt8>?) -> Int64 {
            guard let v else { return Command.absent }
            return Decimal4.parse(v) ?? Command.invalid
        }

        switch verb {
        case .new:
            guard let orderCid = cidField(.cid) else { return reject("BAD_CID") }
            var c = Command(kind: .new, broker: broker, ts: 0)
            c.cid = orderCid
            c.account = directory.account(packed: packed(.acct))
            c.instrument = directory.symbol(packed: packed(.sym))
            guard let side = sideField() else { return reject("BAD_SIDE") }
            c.side = side
            if let type = field(.type) {
                if equals(type, "LIMIT") {
                    c.type = .limit
                } else if equals(type, "MARKET") {
                    c.type = .market
                } else {
                    return reject("BAD_TYPE")
                }
            }
            if let tif = field(.tif) {
                if equals(tif, "DAY") {
                    c.tif = .day
                } else if equals(tif, "GTC") {
                    c.tif = .gtc
                } else if equals(tif, "IOC") {
                    c.tif = .ioc
                } else if equals(tif, "FOK") {
                    c.tif = .fok
                } else {
                    return reject("BAD_TIF")
                }
            }
            c.qty = quantity(field(.qty))
            c.price = price(field(.px))
            return .command(c)
        case .quote, .cross:
            guard let orderCid = cidField(.cid) else { return reject("BAD_CID") }
            var c = Command(kind: verb == .quote ? .quote : .cross, broker: broker, ts: 0)
            c.cid = orderCid
            c.account = directory.account(packed: packed(.acct))
            c.instrument = directory.symbol(packed: packed(.sym))
            guard let side = sideField() else { return reject("BAD_SIDE") }
            c.side = side
            c.qty = quantity(field(.qty))
            c.price = price(field(.px))
            if verb == .cross {
                guard let ref = refField() else { return reject("BAD_REF") }
                c.ref = ref
                // An unknown counterparty reaches the core, which refuses it with a seq.
                c.counterBroker = directory.broker(field(.cp)!) ?? -1
            }
            return .command(c)
        case .accept:
            guard let orderCid = cidField(.cid) else { return reject("BAD_CID") }
            guard let quoteOid = Decimal4.parseInteger(field(.quote)!), quoteOid > 0 else { return reject("BAD_QUOTE") }
            var c = Command(kind: .accept, broker: broker, ts: 0)
            c.cid = orderCid
            c.account = directory.account(packed: packed(.acct))
            c.quoteOid = quoteOid
            c.qty = quantity(field(.qty))
            return .command(c)
        case .cancel, .status:
            guard let orderCid = cidField(.cid) else { return reject("BAD_CID") }
            var c = Command(kind: verb == .cancel ? .cancel : .status, broker: broker, ts: 0)
            c.cid = orderCid
            return .command(c)
        case .replace:
            guard let orderCid = cidField(.cid) else { return reject("BAD_CID") }
            guard let newCid = cidField(.newcid) else { return reject("BAD_NEWCID") }
            if field(.qty) == nil && field(.px) == nil { return reject("QTY_OR_PX_REQUIRED") }
            var c = Command(kind: .replace, broker: broker, ts: 0)
            c.cid = orderCid
            c.newCid = newCid
            c.qty = quantity(field(.qty))
            c.price = price(field(.px))
            return .command(c)
        case .halt, .resume:
            var c = Command(kind: verb == .halt ? .halt : .resume, broker: broker, ts: 0)
            c.instrument = directory.symbol(packed: packed(.sym))
            return .command(c)
        case .phase:
            var c = Command(kind: .phase, broker: broker, ts: 0)
            c.instrument = directory.symbol(packed: packed(.sym))
            let phase = field(.phase)!
            if equals(phase, "AUCTION") {
                c.phase = .auction
            } else if equals(phase, "OPEN") {
                c.phase = .open
            } else if equals(phase, "CLOSED") {
                c.phase = .closed
            } else {
                return reject("BAD_PHASE")
            }
            return .command(c)
        case .roll:
            guard let date = CivilDate(iso: text(.date)), date.isTradingDate else { return reject("BAD_DATE") }
            var c = Command(kind: .roll, broker: broker, ts: 0)
            c.date = date
            return .command(c)
        case .stats:
            return .command(Command(kind: .stats, broker: broker, ts: 0))
        case .deposit, .withdraw:
            // Any amount the engine's integers hold: the matcher decides whether it fits the
            // account and the market (`MALFORMED detail=CASH_LIMIT`), as documented.
            guard let amount = Decimal4.parse(field(.amount)!, max: .max), amount > 0 else {
                return reject("BAD_AMOUNT")
            }
            var c = Command(kind: verb == .deposit ? .deposit : .withdraw, broker: broker, ts: 0)
            c.account = directory.account(packed: packed(.acct))
            c.price = amount
            return .command(c)
        case .login:
            var resume: Int64 = 0
            if let v = field(.resume) {
                guard let r = Decimal4.parseInteger(v) else { return reject("BAD_RESUME") }
                resume = r
            }
            var hb: Int64 = 5
            if let v = field(.hb) {
                guard let h = Decimal4.parseInteger(v), (1...60).contains(h) else { return reject("BAD_HB") }
                hb = h
            }
            return .session(.login(broker: text(.broker), token: text(.token), resume: resume, heartbeatSeconds: hb))
        case .ping:
            return .session(.ping(token: field(.t).map { String(decoding: $0, as: UTF8.self) }))
        case .logout:
            return .session(.logout)
        case .sub:
            guard let d = Decimal4.parseInteger(field(.depth)!), (1...20).contains(d) else { return reject("BAD_DEPTH") }
            return .session(.subscribe(instrument: directory.symbol(packed: packed(.sym)), depth: Int(d)))
        case .unsub:
            return .session(.unsubscribe(instrument: directory.symbol(packed: packed(.sym))))
        }
    }
}
