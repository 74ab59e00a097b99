import CuoheCore
import CuoheProtocol

/// Where the pipeline's durable outputs go: replay text to a file, the gateway's sessions, a
/// benchmark's closure. Called on the egress thread only, in order.
public protocol EgressSink: ~Copyable, SendableMetatype {
    /// One event of a durable command.
    mutating func deliver(_ event: Event)
    /// One of the edge's own answers, in its place among the events; `nextSeq` is its broker's
    /// next `seq` (for `LOGGEDIN`).
    mutating func deliver(_ answer: EdgeAnswer, nextSeq: Int64)
    /// The ring has run dry (or the run ends): write what is buffered. An error ends the run.
    mutating func flush() throws(IOError)
}

/// Replay's text (`ReplayText`) written to a file descriptor, buffered and flushed whenever the
/// pipeline runs dry.
public struct ReplayTextSink: EgressSink, ~Copyable {
    var writer: OutputWriter
    let text: ReplayText

    public init(output: consuming FileDescriptor, directory: Directory) {
        writer = OutputWriter(output: output)
        text = ReplayText(directory: directory)
    }

    public mutating func deliver(_ event: Event) {
        text.append(event, to: &writer.buffer)
        writer.flushIfFull()
    }

    public mutating func deliver(_ answer: EdgeAnswer, nextSeq: Int64) {
        text.append(answer, nextSeq: { _ in nextSeq }, to: &writer.buffer)
    }

    public mutating func flush() throws(IOError) {
        writer.flush()
        if let error = writer.writeError { throw error }
    }
}

/// Each event handed to a function (benchmarks, tests); answers are dropped.
public struct EventHandlerSink: EgressSink {
    let handler: @Sendable (Event) -> Void

    public init(_ handler: @escaping @Sendable (Event) -> Void) { self.handler = handler }

    public func deliver(_ event: Event) { handler(event) }
    public func deliver(_ answer: EdgeAnswer, nextSeq: Int64) {}
    public func flush() throws(IOError) {}
}

/// The last stage: hands every durable event and answer to the sink, in order, keeping each
/// broker's last `seq` (for `LOGGEDIN`) and, when asked, every trade with its date (`--export`).
struct Egress<Sink: EgressSink & ~Copyable>: ~Copyable {
    var sink: Sink
    var lastSeq: [Int64]
    var date: CivilDate
    let recordsTrades: Bool
    var trades: [TradeRecord] = []
    let answers: SideQueue<EdgeAnswer>
    let metrics: PipelineMetrics
    /// Counted here and published once a batch, so the data path writes no shared cache line
    /// per event.
    var eventsOut: UInt64 = 0
    var answersOut: UInt64 = 0

    /// Hands a batch to the sink; true once the end has passed.
    mutating func handle(_ items: UnsafeBufferPointer<MatchedItem>) -> Bool {
        defer {
            metrics.eventsOut.set(eventsOut)
            metrics.answersOut.set(answersOut)
        }
        for item in items {
            switch item {
            case .event(let e):
                if e.seq > 0 { lastSeq[Int(e.broker)] = e.seq }
                if e.kind == .trade && recordsTrades { trades.append(TradeRecord(e, date: date)) }
                if e.kind == .ok && e.verb == .roll { date = e.date }
                sink.deliver(e)
                eventsOut &+= 1
            case .answer:
                let answer = answers.pop()
                sink.deliver(answer, nextSeq: answer.broker >= 0 ? lastSeq[Int(answer.broker)] + 1 : 1)
                answersOut &+= 1
            case .snapshot:
                break
            case .end:
                return true
            }
        }
        return false
    }
}
