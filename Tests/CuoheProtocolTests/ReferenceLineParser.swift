import CuoheCore
@testable import CuoheProtocol

/// The line parser as first written (Strings, closures, an array of fields): slow but plain.
/// The engine's `LineParser` must give exactly its answer for every line (`LineParserDifferentialTests`).
struct ReferenceLineParser {
    let directory: Directory

    init(directory: Directory) { self.directory = directory }

    /// One `key=value` field as byte ranges into the line.
    struct Field {
        var key: Range<Int>
        var value: Range<Int>
    }

    /// Parses one line (without its `\n`; a trailing `\r` is accepted). `broker` is the sending
    /// broker's id, stamped on commands.
    func parse(_ line: [UInt8], broker: Int32) -> ParsedLine {
        // The bound counts the terminator: the `\n` the reader took off, and a `\r` before it.
        if line.count + 1 > LineLimits.lineBytesMax { return .reject(.lineTooLong, cid: .none, detail: nil) }
        var end = line.count
        if end > 0 && line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        // Trailing spaces are forgiven (hand-typed lines); inner runs of spaces are not.
        while end > 0 && line[end - 1] == UInt8(ascii: " ") { end -= 1 }
        if end == 0 || line[0] == UInt8(ascii: "#") { return .empty }
        // The protocol is ASCII: a control byte, or any byte past it (which could be a C1
        // control or broken UTF-8 when a value is echoed), is refused.
        for i in 0..<end where line[i] < 0x20 || line[i] >= 0x7F {
            return .reject(.malformed, cid: .none, detail: line[i] >= 0x80 ? "NON_ASCII" : "CONTROL_BYTE")
        }
        // Verb.
        var i = 0
        while i < end && line[i] != UInt8(ascii: " ") { i += 1 }
        let verb = String(decoding: line[0..<i], as: UTF8.self)
        // Fields.
        var fields: [Field] = []
        var cid = ClientOrderID.none
        var malformed: String? = nil
        while i < end {
            i += 1  // the single space
            let start = i
            while i < end && line[i] != UInt8(ascii: " ") { i += 1 }
            let token = start..<i
            guard let eq = line[token].firstIndex(of: UInt8(ascii: "=")) else {
                malformed = malformed ?? "FIELD_WITHOUT_VALUE"
                continue
            }
            let key = start..<eq
            let value = (eq + 1)..<i
            if key.isEmpty || !line[key].allSatisfy({ $0 >= 97 && $0 <= 122 }) {
                malformed = malformed ?? "BAD_KEY"
                continue
            }
            if value.isEmpty { malformed = malformed ?? "EMPTY_VALUE" }
            if line[value].contains(UInt8(ascii: "=")) { malformed = malformed ?? "EQUALS_IN_VALUE" }
            for other in fields where line[other.key].elementsEqual(line[key]) {
                malformed = malformed ?? "DUPLICATE_KEY"
            }
            if fields.count >= LineLimits.fieldsMax {
                malformed = malformed ?? "TOO_MANY_FIELDS"
                continue
            }
            fields.append(Field(key: key, value: value))
            if line[key].elementsEqual("cid".utf8), let c = ClientOrderID(bytes: line[value]) { cid = c }
        }
        func field(_ name: String) -> ArraySlice<UInt8>? {
            for f in fields where line[f.key].elementsEqual(name.utf8) { return line[f.value] }
            return nil
        }
        func allowed(_ required: [String], _ optional: [String]) -> String? {
            for f in fields {
                let key = String(decoding: line[f.key], as: UTF8.self)
                if !required.contains(key) && !optional.contains(key) { return "UNKNOWN_KEY_\(key.uppercased())" }
            }
            for key in required where field(key) == nil { return "MISSING_\(key.uppercased())" }
            return nil
        }
        func reject(_ detail: String) -> ParsedLine { .reject(.malformed, cid: cid, detail: detail) }

        let spec: (required: [String], optional: [String])
        switch verb {
        case "NEW": spec = (["cid", "acct", "sym", "side", "qty"], ["px", "type", "tif"])
        case "CANCEL", "STATUS": spec = (["cid"], [])
        case "REPLACE": spec = (["cid", "newcid"], ["qty", "px"])
        case "HALT", "RESUME", "UNSUB": spec = (["sym"], [])
        case "PHASE": spec = (["sym", "phase"], [])
        case "ROLL": spec = (["date"], [])
        case "DEPOSIT", "WITHDRAW": spec = (["acct", "amount"], [])
        case "STATS", "LOGOUT": spec = ([], [])
        case "LOGIN": spec = (["broker", "token"], ["resume", "hb"])
        case "PING": spec = ([], ["t"])
        case "SUB": spec = (["sym", "depth"], [])
        case "QUOTE": spec = (["cid", "acct", "sym", "side", "qty", "px"], [])
        case "ACCEPT": spec = (["cid", "acct", "quote", "qty"], [])
        case "CROSS": spec = (["cid", "acct", "sym", "side", "qty", "px", "ref", "cp"], [])
        default:
            return .reject(.unknownVerb, cid: cid, detail: nil)
        }
        if let detail = malformed { return reject(detail) }
        if let detail = allowed(spec.required, spec.optional) { return reject(detail) }

        func cidField(_ name: String) -> ClientOrderID? {
            guard let v = field(name) else { return nil }
            return ClientOrderID(bytes: v)
        }
        func quantity(_ v: ArraySlice<UInt8>?) -> Int64 {
            guard let v else { return Command.absent }
            guard let q = Decimal4.parseInteger(v), q <= Bounds.quantityMax else { return Command.invalid }
            return q
        }
        func price(_ v: ArraySlice<UInt8>?) -> Int64 {
            guard let v else { return Command.absent }
            return Decimal4.parse(v) ?? Command.invalid
        }

        switch verb {
        case "NEW":
            guard let orderCid = cidField("cid") else { return reject("BAD_CID") }
            var c = Command(kind: .new, broker: broker, ts: 0)
            c.cid = orderCid
            c.account = directory.account(field("acct")!)
            c.instrument = directory.symbol(field("sym")!)
            switch String(decoding: field("side")!, as: UTF8.self) {
            case "BUY": c.side = .buy
            case "SELL": c.side = .sell
            default: return reject("BAD_SIDE")
            }
            switch field("type").map({ String(decoding: $0, as: UTF8.self) }) {
            case nil, "LIMIT"?: c.type = .limit
            case "MARKET"?: c.type = .market
            default: return reject("BAD_TYPE")
            }
            switch field("tif").map({ String(decoding: $0, as: UTF8.self) }) {
            case nil, "DAY"?: c.tif = .day
            case "GTC"?: c.tif = .gtc
            case "IOC"?: c.tif = .ioc
            case "FOK"?: c.tif = .fok
            default: return reject("BAD_TIF")
            }
            c.qty = quantity(field("qty"))
            c.price = price(field("px"))
            return .command(c)
        case "QUOTE", "CROSS":
            guard let orderCid = cidField("cid") else { return reject("BAD_CID") }
            var c = Command(kind: verb == "QUOTE" ? .quote : .cross, broker: broker, ts: 0)
            c.cid = orderCid
            c.account = directory.account(field("acct")!)
            c.instrument = directory.symbol(field("sym")!)
            switch String(decoding: field("side")!, as: UTF8.self) {
            case "BUY": c.side = .buy
            case "SELL": c.side = .sell
            default: return reject("BAD_SIDE")
            }
            c.qty = quantity(field("qty"))
            c.price = price(field("px"))
            if verb == "CROSS" {
                let ref = String(decoding: field("ref")!, as: UTF8.self)
                guard (1...16).contains(ref.utf8.count),
                      ref.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("A"..."Z").contains($0) || ("a"..."z").contains($0) })
                else { return reject("BAD_REF") }
                c.newCid = ClientOrderID(ref)!
                let cp = String(decoding: field("cp")!, as: UTF8.self)
                c.date = CivilDate(daysSinceEpoch: directory.brokers.firstIndex(of: cp).map(Int32.init) ?? -1)
            }
            return .command(c)
        case "ACCEPT":
            guard let orderCid = cidField("cid") else { return reject("BAD_CID") }
            guard let quote = Int64(String(decoding: field("quote")!, as: UTF8.self)), quote > 0,
                  field("quote")!.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return reject("BAD_QUOTE") }
            var c = Command(kind: .accept, broker: broker, ts: 0)
            c.cid = orderCid
            c.account = directory.account(field("acct")!)
            c.price = quote
            c.qty = quantity(field("qty"))
            return .command(c)
        case "CANCEL", "STATUS":
            guard let orderCid = cidField("cid") else { return reject("BAD_CID") }
            var c = Command(kind: verb == "CANCEL" ? .cancel : .status, broker: broker, ts: 0)
            c.cid = orderCid
            return .command(c)
        case "REPLACE":
            guard let orderCid = cidField("cid") else { return reject("BAD_CID") }
            guard let newCid = cidField("newcid") else { return reject("BAD_NEWCID") }
            if field("qty") == nil && field("px") == nil { return reject("QTY_OR_PX_REQUIRED") }
            var c = Command(kind: .replace, broker: broker, ts: 0)
            c.cid = orderCid
            c.newCid = newCid
            c.qty = quantity(field("qty"))
            c.price = price(field("px"))
            return .command(c)
        case "HALT", "RESUME":
            var c = Command(kind: verb == "HALT" ? .halt : .resume, broker: broker, ts: 0)
            c.instrument = directory.symbol(field("sym")!)
            return .command(c)
        case "PHASE":
            var c = Command(kind: .phase, broker: broker, ts: 0)
            c.instrument = directory.symbol(field("sym")!)
            switch String(decoding: field("phase")!, as: UTF8.self) {
            case "AUCTION": c.phase = .auction
            case "OPEN": c.phase = .open
            case "CLOSED": c.phase = .closed
            default: return reject("BAD_PHASE")
            }
            return .command(c)
        case "ROLL":
            guard let date = CivilDate(iso: String(decoding: field("date")!, as: UTF8.self)), date.isTradingDate else {
                return reject("BAD_DATE")
            }
            var c = Command(kind: .roll, broker: broker, ts: 0)
            c.date = date
            return .command(c)
        case "STATS":
            return .command(Command(kind: .stats, broker: broker, ts: 0))
        case "DEPOSIT", "WITHDRAW":
            guard let amount = Decimal4.parse(field("amount")!, max: .max), amount > 0 else {
                return reject("BAD_AMOUNT")
            }
            var c = Command(kind: verb == "DEPOSIT" ? .deposit : .withdraw, broker: broker, ts: 0)
            c.account = directory.account(field("acct")!)
            c.price = amount
            return .command(c)
        case "LOGIN":
            var resume: Int64 = 0
            if let v = field("resume") {
                guard let r = Decimal4.parseInteger(v) else { return reject("BAD_RESUME") }
                resume = r
            }
            var hb: Int64 = 5
            if let v = field("hb") {
                guard let h = Decimal4.parseInteger(v), (1...60).contains(h) else { return reject("BAD_HB") }
                hb = h
            }
            return .session(.login(broker: String(decoding: field("broker")!, as: UTF8.self),
                                   token: String(decoding: field("token")!, as: UTF8.self),
                                   resume: resume, heartbeatSeconds: hb))
        case "PING":
            return .session(.ping(token: field("t").map { String(decoding: $0, as: UTF8.self) }))
        case "LOGOUT":
            return .session(.logout)
        case "SUB":
            guard let d = Decimal4.parseInteger(field("depth")!), (1...20).contains(d) else { return reject("BAD_DEPTH") }
            return .session(.subscribe(instrument: directory.symbol(field("sym")!), depth: Int(d)))
        case "UNSUB":
            return .session(.unsubscribe(instrument: directory.symbol(field("sym")!)))
        default:
            return .reject(.unknownVerb, cid: cid, detail: nil)
        }
    }

    func parse(_ line: String, broker: Int32) -> ParsedLine { parse(Array(line.utf8), broker: broker) }
}
