import CuoheCore
import CuoheProtocol

/// One TCP connection to the gateway: its socket, its partial input line, its unsent output, and
/// the session on it once `LOGIN` succeeds. Owned by the gateway thread alone.
final class Connection {
    enum Kind { case broker, metrics }

    let socket: Socket
    let kind: Kind
    let token: UInt64
    let opened: Int64
    /// The session's broker, once logged in; -1 before.
    var broker: Int32 = -1
    var heartbeatNanos: Int64 = 5_000_000_000
    var lastIn: Int64
    var lastOut: Int64
    /// The bytes of the current line not yet ended by `\n` (at most a line's bound), and whether
    /// the rest of a too-long line is being dropped.
    var partial: [UInt8] = []
    var discarding = false
    /// Output not yet taken by the socket: `out[sent...]`.
    var out: [UInt8] = []
    var sent = 0
    var writeInterest = false
    /// Set once the connection is to end: no more input is read, the output drains, then it closes.
    var closingSince: Int64? = nil
    var closeReason = ""
    /// Order messages: regenerated ones older than the memory history first (`backlog`), then
    /// the history from `nextSeq`; `caughtUp` once the history has been sent to its end.
    var backlog: [UInt8] = []
    var backlogSent = 0
    var nextSeq: Int64 = 1
    var caughtUp = false
    /// Subscriptions: instrument → depth; instruments whose newest `BOOK` is still to be sent.
    var subscriptions: [Int32: Int] = [:]
    var booksDue: Set<Int32> = []
    /// Instruments whose quote board is still being sent after a `SUB`: the last qid sent (0
    /// before the first), so a large board goes out over several rounds as the socket drains.
    var boardsDue: [Int32: Int64] = [:]

    init(socket: Socket, kind: Kind, token: UInt64, now: Int64) {
        self.socket = socket
        self.kind = kind
        self.token = token
        opened = now
        lastIn = now
        lastOut = now
    }

    var unsentBytes: Int { out.count - sent }
    var isLoggedIn: Bool { broker >= 0 }

    func append(_ text: String) {
        out.append(contentsOf: text.utf8)
        out.append(UInt8(ascii: "\n"))
    }

    func append(_ bytes: UnsafeRawBufferPointer) { out.append(contentsOf: bytes) }

    /// Ends the session after what is queued: `BYE reason=…` first.
    func bye(_ reason: String, now: Int64) {
        guard closingSince == nil else { return }
        append("BYE reason=\(reason)")
        closingSince = now
        closeReason = reason
    }

    /// Closes after what is queued, without a `BYE` (a refused `LOGIN`).
    func end(_ reason: String, now: Int64) {
        guard closingSince == nil else { return }
        closingSince = now
        closeReason = reason
    }

    /// Writes what the socket takes now (one `send`): the bytes written, or -1 if the peer is gone.
    func writeOut(now: Int64) -> Int {
        guard sent < out.count else { return 0 }
        let n = out.withUnsafeBytes { socket.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
        if n < 0 { return -1 }
        if n > 0 { lastOut = now }
        sent += n
        if sent == out.count {
            out.removeAll(keepingCapacity: out.capacity <= 1 << 16)
            sent = 0
        } else if sent >= 1 << 16 && sent * 2 >= out.count {
            out.removeFirst(sent)
            sent = 0
        }
        return n
    }
}

/// A broker's message rate: a token bucket holding at most a second's worth, refilled
/// continuously, in integer nanosecond units (no floating point).
struct TokenBucket {
    let perSecond: Int64
    private var tokens: Int64
    private var at: Int64
    static let unit: Int64 = 1_000_000_000

    init(perSecond: Int64, now: Int64) {
        self.perSecond = perSecond
        tokens = perSecond * TokenBucket.unit
        at = now
    }

    /// Takes one message's token: false if the broker is over its rate.
    mutating func take(now: Int64) -> Bool {
        let elapsed = min(max(0, now - at), TokenBucket.unit)
        at = now
        tokens = min(perSecond * TokenBucket.unit, tokens + elapsed * perSecond)
        guard tokens >= TokenBucket.unit else { return false }
        tokens -= TokenBucket.unit
        return true
    }
}
