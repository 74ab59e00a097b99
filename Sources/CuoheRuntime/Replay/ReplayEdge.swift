import CuoheCore
import CuoheProtocol

/// What one replay input line asks for, decided at the edge, without the matcher.
public enum EdgeItem: Sendable {
    case nothing
    /// A command for the matcher, sequenced: its `ts` is set.
    case command(Command)
    /// A line the edge answers itself (an edge-level `REJ`, `PONG`, `BYE`), for `who`.
    case line(who: String, text: String)
    /// `LOGIN`: the answer needs the broker's last `seq`, which only the matcher side knows.
    case login(broker: Int32, name: String)
}

/// The text side of replay: `[@<ns> ]<broker> <protocol line>` → an `EdgeItem`, and the sequencing
/// clock. The clock starts at the trading date's midnight UTC and advances 1 ns per command (edge answers do not move it); an `@`
/// prefix sets it; a `ROLL` the matcher will accept (an operator's, to a later date: the
/// matcher's own rule) moves it to the new date's midnight if it is behind.
public struct ReplayEdge: Sendable {
    public let directory: Directory
    let parser: LineParser
    let formatter: LineFormatter
    public private(set) var sequencing: SequencingClock
    /// The timestamp of the last command.
    public var clock: Int64 { sequencing.now }

    public init(directory: Directory, tradingDate: CivilDate, clock: Int64? = nil) {
        self.directory = directory
        parser = LineParser(directory: directory)
        formatter = LineFormatter(directory: directory)
        sequencing = SequencingClock(tradingDate: tradingDate, brokerIsOperator: directory.brokerIsOperator, now: clock)
    }

    /// Reads one input line (without its `\n`; a trailing `\r` is the protocol line's). A line
    /// longer than `Replay.inputLineBytesMax` (as `LineReader` cuts it) is answered
    /// `LINE_TOO_LONG`, whatever it holds.
    public mutating func read(_ line: ArraySlice<UInt8>) -> EdgeItem {
        let space = UInt8(ascii: " "), cr = UInt8(ascii: "\r")
        let cut = line.count > Replay.inputLineBytesMax
        var rest = line.prefix(Replay.inputLineBytesMax)
        while let first = rest.first, first == space { rest = rest.dropFirst() }
        let body = rest.last == cr ? rest.dropLast() : rest
        if !cut && (body.isEmpty || body.first == UInt8(ascii: "#")) { return .nothing }
        var stamp: Int64? = nil
        if rest.first == UInt8(ascii: "@") {
            let token = rest.dropFirst().prefix { $0 != space && $0 != cr }
            // Stamps never go back, nor before the trading day: the journal's time is monotonic.
            guard let ns = Decimal4.parseInt64(token), let granted = sequencing.stamp(requested: ns) else {
                return .line(who: "-", text: formatter.rejectLine(.malformed, cid: .none, detail: "BAD_TIMESTAMP", ts: nil))
            }
            stamp = granted
            rest = rest.dropFirst(token.count + 1)
            while let first = rest.first, first == space { rest = rest.dropFirst() }
        }
        let brokerToken = rest.prefix { $0 != space && $0 != cr }
        let protocolLine = rest.dropFirst(brokerToken.count + 1)
        // Only a sequenced command moves the clock (it is what the journal keeps, so a restart
        // resumes it exactly); the edge's own answers carry the time they would have had.
        let ts = stamp ?? sequencing.stamp()!
        guard let broker = directory.broker(brokerToken) else {
            let who = ReplayEdge.echoable(brokerToken)
            if cut { return .line(who: who, text: formatter.rejectLine(.lineTooLong, cid: .none, detail: nil, ts: ts)) }
            return .line(who: who, text: formatter.rejectLine(.auth, cid: .none, detail: "UNKNOWN_BROKER", ts: ts))
        }
        let brokerName = directory.brokers[Int(broker)]
        if cut { return .line(who: brokerName, text: formatter.rejectLine(.lineTooLong, cid: .none, detail: nil, ts: ts)) }
        switch parser.parse(protocolLine, broker: broker) {
        case .empty:
            return .nothing
        case .reject(let reason, let cid, let detail):
            return .line(who: brokerName, text: formatter.rejectLine(reason, cid: cid, detail: detail, ts: ts))
        case .session(let request):
            switch request {
            case .login: return .login(broker: broker, name: brokerName)
            case .ping(let token): return .line(who: brokerName, text: token.map { "PONG t=\($0)" } ?? "PONG")
            case .logout: return .line(who: brokerName, text: "BYE reason=LOGOUT")
            case .subscribe, .unsubscribe: return .nothing  // Replay prints every trade as `*` lines.
            }
        case .command(var command):
            command.ts = ts
            observe(command)
            return .command(command)
        }
    }

    /// A name as it may be printed back: 1 to 32 identifier bytes (`[A-Za-z0-9_.-]`), or `-`.
    /// Whatever else an input line starts with (control bytes, broken UTF-8, a terminal's escape
    /// sequences) is never echoed.
    static func echoable(_ name: ArraySlice<UInt8>) -> String {
        guard (1...32).contains(name.count), name.allSatisfy(ClientOrderID.isValidByte) else { return "-" }
        return String(decoding: name, as: UTF8.self)
    }

    /// Keeps the clock and date in step with a sequenced command (also for journal recovery).
    public mutating func observe(_ command: Command) { sequencing.observe(command) }
}
