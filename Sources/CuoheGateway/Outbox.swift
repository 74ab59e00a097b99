#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import CuoheCore
import CuoheProtocol
import CuoheRuntime

/// One formatted outbound line in an `OutboxBatch`: for one broker (an order message with its
/// `seq`, or an operator reply with none), or public market data (`TRADE`, `QUOTE`) for an
/// instrument's subscribers.
struct OutLine: BitwiseCopyable {
    /// `operators`: the answer to a scheduled `PHASE`, for every operator broker's session.
    enum Audience: UInt8 { case broker, marketData, operators }
    var audience: Audience
    var broker: Int32
    var instrument: Int32
    var seq: Int64
    /// A `QUOTE` line's quote id: a session still being sent the board after its `SUB` takes the
    /// line only once the board has passed that quote.
    var qid: Int64 = 0
    /// The event's kind and, for a `REJ`, its reason (the gateway's metrics count them).
    var kind: EventKind
    var reason: UInt8
    /// The line's bytes (with its `\n`) in the batch's `bytes`.
    var start: Int32
    var count: Int32
}

/// The top of one instrument's book, for `BOOK` lines: `mdseq` is that of the last trade it
/// reflects (a picture takes no number of its own, so the trades' sequence stays gap-free).
struct BookPicture: Sendable {
    var instrument: Int32
    var mdseq: Int64
    /// Best first: (price, quantity).
    var bids: [(Int64, Int64)]
    var asks: [(Int64, Int64)]
    /// While the instrument is in `AUCTION`: its indicative uncross (price 0: nothing would trade).
    var indicative: (price: Int64, volume: Int64)? = nil
}

/// What egress hands the gateway thread at once.
struct OutboxBatch: Sendable {
    var bytes: [UInt8] = []
    var lines: [OutLine] = []
    var books: [BookPicture] = []
    /// Every quote board change, in order (one per `QUOTE` line), for the gateway thread's boards.
    var quotes: [BoardQuote] = []

    var isEmpty: Bool { lines.isEmpty && books.isEmpty && quotes.isEmpty }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
        books.removeAll(keepingCapacity: true)
        quotes.removeAll(keepingCapacity: true)
    }

    mutating func append(contentsOf other: OutboxBatch) {
        let base = Int32(bytes.count)
        bytes.append(contentsOf: other.bytes)
        for var line in other.lines {
            line.start += base
            lines.append(line)
        }
        books.append(contentsOf: other.books)
        quotes.append(contentsOf: other.quotes)
    }
}

/// The hand-off from the egress thread to the gateway thread: one lock per batch (never per
/// line), then an eventfd wake-up. Bounded: past `bytesMax` waiting, egress waits for the
/// gateway thread to take what is there.
final class Outbox: Sendable {
    private let pending = Mutex(OutboxBatch())
    let wakeup: Wakeup
    let bytesMax: Int

    init(wakeup: Wakeup, bytesMax: Int) {
        self.wakeup = wakeup
        self.bytesMax = bytesMax
    }

    /// Egress: hands over `batch` (left empty).
    func hand(_ batch: inout OutboxBatch) {
        if batch.isEmpty { return }
        while pending.withLock({ $0.bytes.count }) > bytesMax { usleep(200) }
        pending.withLock { p in
            if p.isEmpty { swap(&p, &batch) } else { p.append(contentsOf: batch) }
        }
        batch.removeAll()
        wakeup.signal()
    }

    /// The gateway thread: takes everything waiting into `batch` (which must be empty).
    func take(into batch: inout OutboxBatch) {
        pending.withLock { swap(&$0, &batch) }
    }
}

/// The gateway's end of the pipeline, on the egress thread: formats every durable event once
/// (the codec's cost stays off the gateway thread), keeps the book pictures up to date, passes on
/// each quote board change, and hands each batch to the gateway through the `Outbox` when the
/// pipeline runs dry.
public struct GatewaySink: EgressSink {
    let formatter: LineFormatter
    let outbox: Outbox
    var mirror: BookMirror
    var batch = OutboxBatch()

    init(directory: Directory, outbox: Outbox, mirror: consuming BookMirror) {
        formatter = LineFormatter(directory: directory)
        self.outbox = outbox
        self.mirror = mirror
    }

    public mutating func deliver(_ event: Event) {
        mirror.apply(event)
        // The indicative price reaches brokers inside their BOOK pictures, not as a line.
        if event.kind == .indicative { return }
        let start = batch.bytes.count
        formatter.append(event, to: &batch.bytes)
        batch.bytes.append(UInt8(ascii: "\n"))
        // A quote line names its broker, but it is public: it goes to subscribers as a trade does.
        let isPublic = event.kind == .trade || event.kind == .quote
        let audience: OutLine.Audience = isPublic ? .marketData : event.broker < 0 ? .operators : .broker
        if event.kind == .quote { batch.quotes.append(BoardQuote(event)) }
        batch.lines.append(OutLine(audience: audience, broker: event.broker,
                                   instrument: isPublic ? event.instrument : -1, seq: isPublic ? 0 : event.seq,
                                   qid: event.kind == .quote ? event.oid : 0,
                                   kind: event.kind, reason: event.reason, start: Int32(start), count: Int32(batch.bytes.count - start)))
    }

    /// A session's own answer (an edge `REJ`, `PONG`), in its place among the events.
    public mutating func deliver(_ answer: EdgeAnswer, nextSeq: Int64) {
        guard answer.broker >= 0, let text = answer.line(formatter, nextSeq: { _ in nextSeq }) else { return }
        let start = batch.bytes.count
        batch.bytes.append(contentsOf: text.utf8)
        batch.bytes.append(UInt8(ascii: "\n"))
        var reason: UInt8 = 0
        if case .reject(let r, _, _) = answer.body { reason = r.rawValue }
        batch.lines.append(OutLine(audience: .broker, broker: answer.broker, instrument: -1, seq: 0,
                                   kind: reason == 0 ? .ok : .reject, reason: reason,
                                   start: Int32(start), count: Int32(batch.bytes.count - start)))
    }

    public mutating func flush() throws(IOError) {
        mirror.pictures(into: &batch.books)
        outbox.hand(&batch)
    }
}
