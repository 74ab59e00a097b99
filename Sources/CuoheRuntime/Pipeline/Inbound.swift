import CuoheCore
import CuoheProtocol

/// An answer the edge gives itself, without the matcher: a `REJ` of a line that never reaches
/// the core, or a session's answer. Its time is the sequencer's (the time the next command would
/// get, without taking it).
public struct EdgeAnswer: Sendable {
    public enum Body: Sendable {
        /// `REJ reason=… [detail=…] ts=…` (no `seq`).
        case reject(RejectReason, cid: ClientOrderID, detail: String?)
        /// `REJ reason=MALFORMED detail=BAD_TIMESTAMP`, which carries no time: its stamp was refused.
        case badTimestamp
        case session(SessionAnswer)
    }

    /// Who the line is for, as printed (`-` when no broker could be read).
    public var who: String
    /// The broker's id, or -1.
    public var broker: Int32
    public var body: Body
    /// Set by the sequencer.
    public var ts: Int64 = 0

    public init(who: String, broker: Int32, body: Body) {
        self.who = who
        self.broker = broker
        self.body = body
    }

    /// The protocol line (without `who`), or nil for a silent answer; `nextSeq` gives a broker's
    /// next `seq` for `LOGGEDIN`.
    public func line(_ formatter: LineFormatter, nextSeq: (Int32) -> Int64) -> String? {
        switch body {
        case .reject(let reason, let cid, let detail): return formatter.rejectLine(reason, cid: cid, detail: detail, ts: ts)
        case .badTimestamp: return formatter.rejectLine(.malformed, cid: .none, detail: "BAD_TIMESTAMP", ts: nil)
        case .session(let answer): return answer.line(broker: who, nextSeq: broker >= 0 ? nextSeq(broker) : 1)
        }
    }
}

/// What the edge makes of one inbound line, before it is sequenced.
public enum Inbound: Sendable {
    /// An empty line or a comment.
    case nothing
    /// A command for the matcher; `stamp` is the time asked for (replay's `@`), if any.
    case command(Command, stamp: Int64?)
    /// An answer of the edge's own; `stamp` as above (a refused stamp answers `BAD_TIMESTAMP`).
    case answer(EdgeAnswer, stamp: Int64?)
}

/// An inbound item once sequenced.
public enum Sequenced: Sendable {
    case nothing
    /// Stamped and counted by the clock: to be journaled and matched.
    case command(Command)
    /// Stamped with the time the next command would get.
    case answer(EdgeAnswer)
}

extension SequencingClock {
    /// Sequences one inbound item: a command gets its time (the one asked for, if it may be
    /// used) and moves the clock; an answer gets the time without moving it; a refused stamp
    /// turns either into `BAD_TIMESTAMP`.
    @inline(__always)
    public mutating func sequence(_ inbound: Inbound) -> Sequenced {
        switch inbound {
        case .nothing:
            return .nothing
        case .command(var command, let requested):
            guard let ts = stamp(requested: requested) else { return .answer(EdgeAnswer.badTimestamp) }
            command.ts = ts
            observe(command)
            return .command(command)
        case .answer(var answer, let requested):
            guard let ts = stamp(requested: requested) else { return .answer(EdgeAnswer.badTimestamp) }
            answer.ts = ts
            return .answer(answer)
        }
    }
}

extension EdgeAnswer {
    /// `- REJ reason=MALFORMED detail=BAD_TIMESTAMP`.
    public static let badTimestamp = EdgeAnswer(who: "-", broker: -1, body: .badTimestamp)
}
