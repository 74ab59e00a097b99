import CuoheCore
import CuoheProtocol

/// The text side of replay: `[@<ns> ]<broker> <protocol line>` → an `Inbound` item for the
/// sequencer (which owns the clock and decides the time), answered by the edge itself where the
/// line never reaches the matcher.
public struct ReplayEdge: Sendable {
    public let directory: Directory
    let parser: LineParser

    public init(directory: Directory) {
        self.directory = directory
        parser = LineParser(directory: directory)
    }

    /// Reads one input line (without its `\n`; a trailing `\r` is the protocol line's). A line
    /// longer than `Replay.inputLineBytesMax` (as `LineReader` cuts it) is answered
    /// `LINE_TOO_LONG`, whatever it holds.
    public func read(_ line: ArraySlice<UInt8>) -> Inbound {
        let space = UInt8(ascii: " "), cr = UInt8(ascii: "\r")
        let cut = line.count > Replay.inputLineBytesMax
        var rest = line.prefix(Replay.inputLineBytesMax)
        while let first = rest.first, first == space { rest = rest.dropFirst() }
        let body = rest.last == cr ? rest.dropLast() : rest
        if !cut && (body.isEmpty || body.first == UInt8(ascii: "#")) { return .nothing }
        var stamp: Int64? = nil
        if rest.first == UInt8(ascii: "@") {
            let token = rest.dropFirst().prefix { $0 != space && $0 != cr }
            // Whether the time may be used is the sequencer's call; one that is not a time is not.
            guard let ns = Decimal4.parseInt64(token), ns <= CivilDate.lastTimestamp else {
                return .answer(EdgeAnswer.badTimestamp, stamp: nil)
            }
            stamp = ns
            rest = rest.dropFirst(token.count + 1)
            while let first = rest.first, first == space { rest = rest.dropFirst() }
        }
        let brokerToken = rest.prefix { $0 != space && $0 != cr }
        guard let broker = directory.broker(brokerToken) else {
            let answer = EdgeAnswer(who: ReplayEdge.echoable(brokerToken), broker: -1,
                                    body: cut ? .reject(.lineTooLong, cid: .none, detail: nil)
                                              : .reject(.auth, cid: .none, detail: "UNKNOWN_BROKER"))
            return .answer(answer, stamp: stamp)
        }
        let name = directory.brokers[Int(broker)]
        func answer(_ body: EdgeAnswer.Body) -> Inbound { .answer(EdgeAnswer(who: name, broker: broker, body: body), stamp: stamp) }
        if cut { return answer(.reject(.lineTooLong, cid: .none, detail: nil)) }
        switch parser.parse(rest.dropFirst(brokerToken.count + 1), broker: broker) {
        case .empty: return answer(.session(.silent))
        case .reject(let reason, let cid, let detail): return answer(.reject(reason, cid: cid, detail: detail))
        case .session(let request): return answer(.session(Session(broker: broker, name: name).answer(request)))
        case .command(let command): return .command(command, stamp: stamp)
        }
    }

    /// A name as it may be printed back: 1 to 32 identifier bytes (`[A-Za-z0-9_.-]`), or `-`.
    /// Whatever else an input line starts with (control bytes, broken UTF-8, a terminal's escape
    /// sequences) is never echoed.
    static func echoable(_ name: ArraySlice<UInt8>) -> String {
        guard (1...32).contains(name.count), name.allSatisfy(ClientOrderID.isValidByte) else { return "-" }
        return String(decoding: name, as: UTF8.self)
    }
}
