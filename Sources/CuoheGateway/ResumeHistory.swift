import CuoheCore
import CuoheProtocol
import CuoheRuntime

/// Every broker's order messages (those with a `seq`), kept for `LOGIN resume=N`: the newest
/// `messagesMax` per broker in memory; older ones are regenerated from the journal on demand, so
/// nothing a broker was sent is ever missing, across reconnects and restarts.
struct ResumeHistory {
    struct Broker {
        /// The lines (each with its `\n`) of `seq` `firstSeq ..< firstSeq + ends.count`.
        var bytes: [UInt8] = []
        var ends: [Int] = []
        var firstSeq: Int64 = 1
        /// Bytes and lines dropped from the front (trimmed lazily, in halves).
        var droppedBytes = 0
        var droppedLines = 0

        var lastSeq: Int64 { firstSeq + Int64(ends.count - droppedLines) - 1 }
    }

    private(set) var brokers: [Broker]
    let messagesMax: Int
    /// Bytes kept per broker: the total budget shared out, so a market of many brokers does not
    /// multiply the memory (at least 1 MiB each).
    let bytesMax: Int

    init(brokers count: Int, messagesMax: Int, totalBytesMax: Int = 1 << 30) {
        brokers = Array(repeating: Broker(), count: count)
        self.messagesMax = max(1, messagesMax)
        bytesMax = max(1 << 20, totalBytesMax / max(1, count))
    }

    /// The broker's last `seq` so far (0 before any).
    func lastSeq(_ b: Int32) -> Int64 { brokers[Int(b)].lastSeq }

    /// The oldest `seq` still in memory.
    func firstSeq(_ b: Int32) -> Int64 { brokers[Int(b)].firstSeq }

    /// Sets where a broker's history starts when the messages before it are not kept (a fresh
    /// start past them).
    mutating func start(_ b: Int32, after seq: Int64) {
        precondition(brokers[Int(b)].ends.isEmpty)
        brokers[Int(b)].firstSeq = seq + 1
    }

    /// Appends the message `seq` (the broker's next) for broker `b`.
    mutating func append(_ b: Int32, seq: Int64, _ line: UnsafeRawBufferPointer) {
        var h = brokers[Int(b)]
        brokers[Int(b)] = Broker()  // keeps the arrays uniquely referenced while they change
        precondition(seq == h.lastSeq + 1, "a broker's messages arrive in seq order")
        h.bytes.append(contentsOf: line)
        h.ends.append(h.bytes.count)
        let live = h.ends.count - h.droppedLines
        if live > messagesMax {
            Self.trim(&h, keep: messagesMax)
        } else if h.bytes.count - h.droppedBytes > bytesMax && live > 1 {
            Self.trim(&h, keep: live / 2)  // halves: amortised O(1) per message
        }
        brokers[Int(b)] = h
    }

    private static func trim(_ h: inout Broker, keep: Int) {
        let drop = (h.ends.count - h.droppedLines) - keep
        h.droppedLines += drop
        h.firstSeq += Int64(drop)
        h.droppedBytes = h.ends[h.droppedLines - 1]
        // Compact once the dead front is half the storage: each byte moves O(1) times.
        if h.droppedLines * 2 >= h.ends.count {
            h.bytes.removeFirst(h.droppedBytes)
            h.ends = h.ends[h.droppedLines...].map { $0 - h.droppedBytes }
            h.droppedBytes = 0
            h.droppedLines = 0
        }
    }

    /// The bytes of message `seq` (which must be in memory) to `body`.
    func withLine<R>(_ b: Int32, seq: Int64, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let h = brokers[Int(b)]
        let k = h.droppedLines + Int(seq - h.firstSeq)
        let start = k == 0 ? 0 : h.ends[k - 1]
        return h.bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<h.ends[k]])) }
    }

    /// Bytes of the messages from `seq` to the last.
    func bytes(_ b: Int32, from seq: Int64) -> Int {
        let h = brokers[Int(b)]
        guard seq <= h.lastSeq else { return 0 }
        let k = h.droppedLines + Int(max(seq, h.firstSeq) - h.firstSeq)
        return h.bytes.count - (k == 0 ? 0 : h.ends[k - 1])
    }
}

/// Rebuilds history from the journal: the same commands through a fresh matcher give the same
/// events, byte for byte (the core is deterministic), so a broker's old messages can always be
/// told again.
enum HistoryRebuild {
    /// Replays the journal in `journalDirectory` for `config`; calls `line` with each order
    /// message (broker, seq, bytes with `\n`) and `event` with every event (for the book mirror).
    static func run(journalDirectory: String, config: MarketConfig, limits: EngineLimits,
                    upTo records: Int = .max,
                    line: (Int32, Int64, UnsafeRawBufferPointer) -> Void,
                    event: (Event) -> Void = { _ in }) throws(JournalError) {
        let contents = try Journal.read(directory: journalDirectory)
        var limits = limits
        limits.prefaultsMemory = false
        var matcher = Matcher(config: config, limits: limits)
        let formatter = LineFormatter(directory: Directory(config: config))
        var events = EventBuffer()
        var text: [UInt8] = []
        for command in contents.commands.prefix(records) {
            events.removeAll()
            matcher.process(command, into: &events)
            for i in 0..<events.count {
                let e = events[i]
                event(e)
                guard e.kind != .trade && e.seq > 0 else { continue }
                text.removeAll(keepingCapacity: true)
                formatter.append(e, to: &text)
                text.append(UInt8(ascii: "\n"))
                text.withUnsafeBytes { line(e.broker, e.seq, $0) }
            }
        }
    }
}
