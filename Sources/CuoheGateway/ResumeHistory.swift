import CuoheCore
import CuoheProtocol
import CuoheRuntime

/// Every broker's order messages (those with a `seq`), kept for `LOGIN resume=N`: the newest
/// `messagesMax` per broker in memory; older ones are regenerated from the journal on demand, so
/// nothing a broker was sent is ever missing, across reconnects and restarts.
struct ResumeHistory {
    /// Lines live in chunks of `chunkBytes` that are never reallocated (a growing contiguous
    /// array would copy the whole history at each doubling: a pause of tens of milliseconds on
    /// the gateway thread); trimming frees whole chunks from the front.
    static let chunkBytes = 1 << 20

    struct Broker {
        var chunks: [[UInt8]] = []
        /// The global number of `chunks[0]`.
        var firstChunk = 0
        /// Each line: chunk number << 32 | offset << 11 | length (a line is at most 1,024 bytes).
        var lines: [UInt64] = []
        /// Lines dropped from the front of `lines` (compacted in halves).
        var dropped = 0
        var firstSeq: Int64 = 1
        var bytes = 0

        var count: Int { lines.count - dropped }
        var lastSeq: Int64 { firstSeq + Int64(count) - 1 }
    }

    private(set) var brokers: [Broker]
    let messagesMax: Int
    /// Bytes kept per broker: the total budget shared out, so a market of many brokers does not
    /// multiply the memory (at least a few chunks each).
    let bytesMax: Int

    init(brokers count: Int, messagesMax: Int, totalBytesMax: Int = 1 << 30) {
        brokers = Array(repeating: Broker(), count: count)
        self.messagesMax = max(1, messagesMax)
        bytesMax = max(4 * ResumeHistory.chunkBytes, totalBytesMax / max(1, count))
    }

    /// The broker's last `seq` so far (0 before any).
    func lastSeq(_ b: Int32) -> Int64 { brokers[Int(b)].lastSeq }

    /// The oldest `seq` still in memory.
    func firstSeq(_ b: Int32) -> Int64 { brokers[Int(b)].firstSeq }

    /// Appends the message `seq` (the broker's next) for broker `b`.
    mutating func append(_ b: Int32, seq: Int64, _ line: UnsafeRawBufferPointer) {
        var h = brokers[Int(b)]
        brokers[Int(b)] = Broker()  // keeps the arrays uniquely referenced while they change
        precondition(seq == h.lastSeq + 1, "a broker's messages arrive in seq order")
        precondition(line.count < 1 << 11, "a line is at most 1,024 bytes")
        if h.chunks.isEmpty || h.chunks[h.chunks.count - 1].count + line.count > ResumeHistory.chunkBytes {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(ResumeHistory.chunkBytes)
            h.chunks.append(chunk)
        }
        let c = h.chunks.count - 1
        let offset = h.chunks[c].count
        h.chunks[c].append(contentsOf: line)
        h.lines.append(UInt64(h.firstChunk + c) << 32 | UInt64(offset) << 11 | UInt64(line.count))
        h.bytes += line.count
        if h.count > messagesMax { Self.drop(&h, h.count - messagesMax) }
        while h.bytes > bytesMax && h.chunks.count > 1 { Self.dropChunk(&h) }
        brokers[Int(b)] = h
    }

    private static func drop(_ h: inout Broker, _ n: Int) {
        for k in h.dropped..<(h.dropped + n) { h.bytes -= Int(h.lines[k] & 0x7ff) }
        h.dropped += n
        h.firstSeq += Int64(n)
        let firstLive = h.dropped < h.lines.count ? Int(h.lines[h.dropped] >> 32) : h.firstChunk + h.chunks.count - 1
        while h.firstChunk < firstLive {
            h.chunks.removeFirst()
            h.firstChunk += 1
        }
        if h.dropped * 2 >= h.lines.count && h.dropped >= 1_024 {
            h.lines.removeFirst(h.dropped)
            h.dropped = 0
        }
    }

    /// Drops every line of the oldest chunk.
    private static func dropChunk(_ h: inout Broker) {
        var n = 0
        while h.dropped + n < h.lines.count && Int(h.lines[h.dropped + n] >> 32) == h.firstChunk { n += 1 }
        drop(&h, max(n, 1))
    }

    /// The bytes of message `seq` (which must be in memory) to `body`.
    func withLine<R>(_ b: Int32, seq: Int64, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let h = brokers[Int(b)]
        let entry = h.lines[h.dropped + Int(seq - h.firstSeq)]
        let chunk = Int(entry >> 32) - h.firstChunk, offset = Int((entry >> 11) & 0x1fffff), length = Int(entry & 0x7ff)
        return h.chunks[chunk].withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + length)])) }
    }

    /// Bytes of the messages from `seq` to the last, counted up to `limit` at most.
    func bytes(_ b: Int32, from seq: Int64, limit: Int = .max) -> Int {
        let h = brokers[Int(b)]
        guard seq <= h.lastSeq else { return 0 }
        var total = 0
        var k = h.dropped + Int(max(seq, h.firstSeq) - h.firstSeq)
        while k < h.lines.count && total <= limit {
            total += Int(h.lines[k] & 0x7ff)
            k += 1
        }
        return total
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
