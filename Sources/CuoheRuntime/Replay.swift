import CuoheCore
import CuoheProtocol

/// Re-runs a day: lines `[@<nanoseconds> ]<broker> <protocol line>` go through the same parser and
/// matcher a live broker's lines would, in order, as if every broker were logged in; every
/// outbound message comes back as `<broker> <protocol line>`, market data as `* <line>`.
///
/// The sequencing clock starts at the trading date's midnight UTC and advances 1 ns per command; an
/// `@` prefix sets it. A `ROLL` moves it to the new date's midnight if it is behind. The same input
/// always gives byte-identical output.
public struct Replay: ~Copyable {
    /// The longest input line kept; the rest of a longer line is dropped and the protocol part then
    /// exceeds `LineLimits.lineBytesMax`, so it is answered `LINE_TOO_LONG`.
    public static let inputLineBytesMax = 4096

    public let directory: Directory
    let parser: LineParser
    let formatter: LineFormatter
    public private(set) var matcher: Matcher
    var events = EventBuffer()
    /// The timestamp of the last command.
    public private(set) var clock: Int64
    /// Every trade replayed, with its trading date, for `trades.csv` (kept only when asked for:
    /// a long replay would otherwise hold every trade in memory for nothing).
    public private(set) var trades: [TradeRecord] = []
    public let recordsTrades: Bool

    /// Continues from a restored matcher (a snapshot) and the clock it was taken at.
    public init(config: MarketConfig, matcher: consuming Matcher, clock: Int64, recordsTrades: Bool = true) {
        self.recordsTrades = recordsTrades
        directory = Directory(config: config)
        parser = LineParser(directory: directory)
        formatter = LineFormatter(directory: directory)
        self.matcher = matcher
        self.clock = clock
    }

    public init(config: MarketConfig, limits: EngineLimits = EngineLimits(), recordsTrades: Bool = true) {
        self.recordsTrades = recordsTrades
        directory = Directory(config: config)
        parser = LineParser(directory: directory)
        formatter = LineFormatter(directory: directory)
        matcher = Matcher(config: config, limits: limits)
        clock = config.tradingDate.midnightNanos - 1
    }

    /// Processes one input line (without `\n`), appending output lines (each ending in `\n`).
    /// Returns the sequenced command if the line reached the matcher (for the journal).
    @discardableResult
    public mutating func feed(_ line: ArraySlice<UInt8>, into out: inout [UInt8]) -> Command? {
        var rest = line
        if let last = rest.last, last == UInt8(ascii: "\r") { rest = rest.dropLast() }
        while let first = rest.first, first == UInt8(ascii: " ") { rest = rest.dropFirst() }
        if rest.isEmpty || rest.first == UInt8(ascii: "#") { return nil }
        var stamp: Int64? = nil
        if rest.first == UInt8(ascii: "@") {
            let token = rest.dropFirst().prefix { $0 != UInt8(ascii: " ") }
            guard let ns = Decimal4.parseInt64(token) else {
                emit("-", formatter.rejectLine(.malformed, cid: .none, detail: "BAD_TIMESTAMP", ts: nil), &out)
                return nil
            }
            stamp = ns
            rest = rest.dropFirst(token.count + 1)
            while let first = rest.first, first == UInt8(ascii: " ") { rest = rest.dropFirst() }
        }
        let brokerToken = rest.prefix { $0 != UInt8(ascii: " ") }
        let brokerName = String(decoding: brokerToken, as: UTF8.self)
        let protocolLine = Array(rest.dropFirst(brokerToken.count + 1))
        clock = stamp ?? (clock + 1)
        guard let broker = directory.broker(brokerToken) else {
            emit(brokerName, formatter.rejectLine(.auth, cid: .none, detail: "UNKNOWN_BROKER", ts: clock), &out)
            return nil
        }
        switch parser.parse(protocolLine, broker: broker) {
        case .empty:
            clock -= stamp == nil ? 1 : 0
        case .reject(let reason, let cid, let detail):
            emit(brokerName, formatter.rejectLine(reason, cid: cid, detail: detail, ts: clock), &out)
        case .session(let request):
            switch request {
            case .login:
                emit(brokerName, "LOGGEDIN broker=\(brokerName) next=\(matcher.lastSeq(broker: broker) + 1)", &out)
            case .ping(let token):
                emit(brokerName, token.map { "PONG t=\($0)" } ?? "PONG", &out)
            case .logout:
                emit(brokerName, "BYE reason=LOGOUT", &out)
            case .subscribe, .unsubscribe:
                break  // Replay prints every trade as `*` lines already.
            }
        case .command(var command):
            command.ts = clock
            apply(command, into: &out)
            return command
        }
        return nil
    }

    /// Applies a command from the journal on recovery: same state changes as when it was first
    /// fed, outputs discarded (they were released when it was first processed).
    public mutating func recover(_ command: Command) {
        var discard: [UInt8] = []
        clock = command.ts
        apply(command, into: &discard, formats: false)
    }

    /// Applies an already-sequenced command with its outputs, as the first run did (for checking a
    /// journal against what was printed).
    public mutating func replay(_ command: Command, into out: inout [UInt8]) {
        clock = command.ts
        apply(command, into: &out)
    }

    mutating func apply(_ command: Command, into out: inout [UInt8], formats: Bool = true) {
        let date = matcher.tradingDate
        events.removeAll()
        matcher.process(command, into: &events)
        for i in 0..<events.count {
            let e = events[i]
            if e.kind == .ok && e.verb == .roll && clock < e.date.midnightNanos {
                clock = e.date.midnightNanos - 1
            }
            if e.kind == .trade && recordsTrades { trades.append(TradeRecord(e, date: date)) }
            if !formats { continue }
            if e.kind == .trade {
                out.append(contentsOf: "* ".utf8)
            } else {
                out.append(contentsOf: directory.brokers[Int(e.broker)].utf8)
                out.append(UInt8(ascii: " "))
            }
            formatter.append(e, to: &out)
            out.append(UInt8(ascii: "\n"))
        }
    }

    /// Writes `trades.csv`, `register.csv` and `accounts.csv` into `path`; a message on failure.
    public func export(to path: String) -> String? {
        EndOfDay.write(to: path, trades: trades, ledger: matcher.ledger, directory: directory)
    }

    func emit(_ who: String, _ line: String, _ out: inout [UInt8]) {
        out.append(contentsOf: who.utf8)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: line.utf8)
        out.append(UInt8(ascii: "\n"))
    }

    /// Replays a whole text (tests and tools), returning the output text.
    public mutating func run(_ text: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: "\n") {
            if i > start || i < bytes.count { feed(bytes[start..<i], into: &out) }
            start = i + 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
