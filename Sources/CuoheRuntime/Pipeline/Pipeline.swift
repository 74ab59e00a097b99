#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CuoheCore
import CuoheProtocol
import Synchronization

/// One slot of the ingress and sequenced rings.
struct StageItem: BitwiseCopyable {
    enum Kind: UInt8 {
        /// A sequenced command.
        case command
        /// The next line of the edge's own answers (kept in order through the pipeline).
        case edge
        /// End of input.
        case end
    }
    var kind: Kind
    var command: Command
}

/// One slot of the rings after the matcher.
struct EgressItem: BitwiseCopyable {
    enum Kind: UInt8 {
        case event, edge, end
        /// A snapshot is ready in the notes (matcher → settlement only).
        case snapshot
    }
    var kind: Kind
    var event: Event
}

/// A FIFO of values too large or too rare for a ring slot (the edge's own answers, a day's
/// close, a snapshot's bytes), handed from one stage to a later one. Each value is announced by an
/// item travelling the rings, so the consumer takes it exactly where it belongs in the stream.
/// Off the hot path: a lock, and a few per day (or per unusual line).
final class SideQueue<Value>: @unchecked Sendable {
    private var values: [Value] = []
    private var head = 0
    private let lock = NSLock()

    func push(_ value: Value) {
        lock.lock()
        values.append(value)
        lock.unlock()
    }

    func pop() -> Value {
        lock.lock()
        defer { lock.unlock() }
        let value = values[head]
        head += 1
        if head > 4096 && head * 2 > values.count {
            values.removeFirst(head)
            head = 0
        }
        return value
    }
}

/// What the matcher stage hands the settlement stage beside the events.
enum SettlementNote {
    case dayClose(DayClose)
    case snapshot(seq: UInt64, clock: Int64, payload: [UInt8])
}

/// Snapshots handed to the writer and not yet written: the matcher takes no new one while one is
/// in flight, so slow snapshot writes cannot pile up copies of the state in memory.
final class SnapshotsInFlight: Sendable {
    let count = Atomic<Int>(0)
}

/// Hands a stage's state to its thread, which takes it into a local at start (no shared access
/// on the data path) and puts it back at its end, for the caller once the thread is joined.
final class Handoff<Value: ~Copyable>: @unchecked Sendable {
    var value: Value?
    init(_ value: consuming Value) { self.value = .some(value) }
    func take() -> Value { value.take()! }
}

/// The threaded durable pipeline:
///
///     ingress (this thread: read, parse, sequence) ══ring══▶ sequencer (journal: one write and one
///     fdatasync per batch) ══ring══▶ matcher (the core) ══ring══▶ settlement (books of record,
///     trade log, end-of-day files, snapshots) ══ring══▶ egress (format, write)
///
/// Each stage owns its state and talks to the next only through an SPSC `Ring`. A command reaches
/// the matcher only after its batch is durable, so every line written is of a durable command.
public enum DurablePipeline {
    public struct Outcome: ~Copyable {
        public var matcher: Matcher
        public var settlement: SettlementStage
        public var trades: [TradeRecord]
        /// The data directory's lock, still held (a recovered engine's).
        public var lock: DirectoryLock? = nil
    }

    /// The ingress side, given to the producer on the calling thread. Items are gathered and
    /// published to the ring in batches (one release store and at most one wake-up per batch);
    /// the producer calls `flush()` whenever it is about to wait for more input, so nothing waits
    /// behind a half-full batch.
    public final class Ingress {
        static let batch = 256
        let ring: Ring<StageItem>
        let edgeLines: SideQueue<EdgeItem>
        private var pending: [StageItem] = []

        init(ring: Ring<StageItem>, edgeLines: SideQueue<EdgeItem>) {
            self.ring = ring
            self.edgeLines = edgeLines
            pending.reserveCapacity(Ingress.batch)
        }

        /// Sends a sequenced command (its `ts` set) into the pipeline.
        public func send(_ command: Command) {
            pending.append(StageItem(kind: .command, command: command))
            if pending.count == Ingress.batch { flush() }
        }

        /// Sends an answer of the edge's own, to come out in its place among the outputs.
        public func answer(_ item: EdgeItem) {
            edgeLines.push(item)
            pending.append(StageItem(kind: .edge, command: Command(kind: .stats, broker: 0, ts: 0)))
            if pending.count == Ingress.batch { flush() }
        }

        /// Publishes what is gathered.
        public func flush() {
            if pending.isEmpty { return }
            pending.withUnsafeBufferPointer { ring.publish($0) }
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// Where the outputs go.
    public enum Egress: Sendable {
        /// Protocol lines `<broker> <line>` (market data `* <line>`) written to a file descriptor.
        case text(fd: Int32)
        /// Each event handed to a function on the egress thread (load tests); edge answers dropped.
        case events(@Sendable (Event) -> Void)
    }

    static let batchMax = 1024
    /// Commands per group commit at most: under full load one `fdatasync` covers this many.
    public static let commitMax = 4096
    static let ringCapacity = 4096

    /// Runs `reader`'s lines through a recovered engine, as protocol text in and out; the
    /// outcome keeps the data directory's lock.
    public static func run(engine: consuming RecoveredEngine, snapshotEvery: Int, reader: inout LineReader,
                           outputFD: Int32, recordsTrades: Bool, fail: @escaping @Sendable (String) -> Never) -> Outcome {
        let clock = engine.replayer.clock
        let edge = ReplayEdge(directory: engine.directory, tradingDate: clock.tradingDate, clock: clock.now)
        let lock = engine.lock
        let replayer = engine.replayer
        var outcome = run(matcher: replayer.matcher, settlement: replayer.settlement, edge: edge, journal: engine.journal,
                          snapshotSeq: engine.snapshotSeq, snapshotEvery: snapshotEvery, reader: &reader,
                          outputFD: outputFD, recordsTrades: recordsTrades, fail: fail)
        outcome.lock = consume lock
        return outcome
    }

    /// Runs `reader`'s lines through the pipeline, as protocol text in and out.
    public static func run(matcher: consuming Matcher, settlement: consuming SettlementStage, edge: ReplayEdge,
                           journal: Journal, snapshotSeq: UInt64, snapshotEvery: Int, reader: inout LineReader,
                           outputFD: Int32, recordsTrades: Bool,
                           fail: @escaping @Sendable (String) -> Never) -> Outcome {
        var edgeState = edge
        return run(matcher: matcher, settlement: settlement, edge: edge, journal: journal, snapshotSeq: snapshotSeq,
                   snapshotEvery: snapshotEvery, egress: .text(fd: outputFD), recordsTrades: recordsTrades,
                   fail: fail) { ingress in
            while let line = reader.next() {
                switch edgeState.read(line[...]) {
                case .nothing: continue
                case .command(let command): ingress.send(command)
                case let other: ingress.answer(other)
                }
                if !reader.hasBufferedData { ingress.flush() }
            }
            if let error = reader.readError { fail("reading input: \(error.reason)") }
        }
    }

    /// Runs what `produce` sends (on this thread) through the pipeline. `journal` holds the records
    /// already recovered into `matcher` and `settlement`, the newest snapshot of which covers
    /// `snapshotSeq`; a snapshot is written every `snapshotEvery` commands and at the end (also when
    /// recovery replayed records after the snapshot it started from). Fatal errors (journal,
    /// trade log, end-of-day files, output) are reported and end the process through `fail`
    /// before any output of the failed batch is written.
    public static func run(matcher: consuming Matcher, settlement: consuming SettlementStage, edge: ReplayEdge,
                           journal: Journal, snapshotSeq: UInt64, snapshotEvery: Int, egress egressKind: Egress,
                           recordsTrades: Bool, fail: @escaping @Sendable (String) -> Never,
                           produce: (Ingress) -> Void) -> Outcome {
        let ingress = Ring<StageItem>(minimumCapacity: commitMax * 2, wait: .blocking)
        let sequenced = Ring<StageItem>(minimumCapacity: commitMax * 2, wait: .blocking)
        let matched = Ring<EgressItem>(minimumCapacity: ringCapacity * 4, wait: .blocking)
        let egress = Ring<EgressItem>(minimumCapacity: ringCapacity * 4, wait: .blocking)
        let edgeLines = SideQueue<EdgeItem>()
        let notes = SideQueue<SettlementNote>()
        let directory = edge.directory
        let lastSeqs = (0..<directory.brokers.count).map { matcher.lastSeq(broker: Int32($0)) }
        let startDate = matcher.tradingDate
        let data = settlement.data
        let configDigest = journal.configDigest
        let matcherBox = Handoff(matcher)
        let settlementBox = Handoff(settlement)
        let tradesBox = Handoff([TradeRecord]())
        let journalBox = Handoff(journal)
        let done = DispatchSemaphore(value: 0)
        let endItem = EgressItem(kind: .end, event: Event(kind: .ok, broker: -1, ts: 0))
        // Snapshot files, one at a time, in order, off the data path.
        let snapshotWriter = DispatchQueue(label: "cuohe.snapshots")
        let inFlight = SnapshotsInFlight()

        // Sequencer: group commit whatever has arrived, then pass it on.
        Thread {
            let journal = journalBox.take()
            var items = [StageItem](repeating: StageItem(kind: .end, command: Command(kind: .stats, broker: 0, ts: 0)),
                                    count: commitMax)
            var commands: [Command] = []
            commands.reserveCapacity(commitMax)
            var finished = false
            while !finished {
                let n = items.withUnsafeMutableBufferPointer { ingress.take(into: $0) }
                commands.removeAll(keepingCapacity: true)
                for i in 0..<n {
                    if items[i].kind == .command { commands.append(items[i].command) }
                    if items[i].kind == .end { finished = true }
                }
                do {
                    try journal.append(commands)
                } catch {
                    fail("\(error)")
                }
                items.withUnsafeBufferPointer { sequenced.publish(UnsafeBufferPointer(rebasing: $0[0..<n])) }
            }
            done.signal()
        }.start()

        // Matcher: apply durable commands and hand the events on; at a close, its side of the
        // books; now and then the bytes of a snapshot.
        let firstSeq = journal.nextSeq
        Thread {
            var items = [StageItem](repeating: StageItem(kind: .end, command: Command(kind: .stats, broker: 0, ts: 0)),
                                    count: batchMax)
            var events = EventBuffer(capacity: 1 << 14)
            var out: [EgressItem] = []
            var matcher = matcherBox.take()
            var shadow = edge  // follows the clock, for the snapshots' continuation point
            var seq = firstSeq - 1
            var lastSnapshot = snapshotSeq
            var finished = false
            while !finished {
                let n = items.withUnsafeMutableBufferPointer { sequenced.take(into: $0) }
                out.removeAll(keepingCapacity: true)
                for i in 0..<n {
                    switch items[i].kind {
                    case .command:
                        let command = items[i].command
                        shadow.observe(command)
                        events.removeAll()
                        matcher.process(command, into: &events)
                        seq += 1
                        for e in 0..<events.count {
                            let event = events[e]
                            if event.kind == .ok && event.verb == .roll {
                                notes.push(.dayClose(DayClose(matcher.ledger)))
                            }
                            out.append(EgressItem(kind: .event, event: event))
                        }
                    case .edge:
                        out.append(EgressItem(kind: .edge, event: Event(kind: .ok, broker: -1, ts: 0)))
                    case .end:
                        finished = true
                    }
                }
                let due = seq - lastSnapshot >= UInt64(snapshotEvery) && inFlight.count.load(ordering: .acquiring) == 0
                if seq != lastSnapshot && (finished || due) {
                    inFlight.count.add(1, ordering: .relaxed)
                    notes.push(.snapshot(seq: seq, clock: shadow.clock, payload: matcher.snapshot()))
                    out.append(EgressItem(kind: .snapshot, event: Event(kind: .ok, broker: -1, ts: 0)))
                    lastSnapshot = seq
                }
                if finished { out.append(endItem) }
                if !out.isEmpty { out.withUnsafeBufferPointer { matched.publish($0) } }
            }
            matcherBox.value = matcher
            done.signal()
        }.start()

        // Settlement: the books of record, the trade log and the day's files; snapshots are
        // written here, once the trade log holds everything they count on.
        Thread {
            var stage = settlementBox.take()
            var items = [EgressItem](repeating: endItem, count: batchMax)
            var finished = false
            while !finished {
                let n = items.withUnsafeMutableBufferPointer { matched.take(into: $0) }
                var forward = 0
                for i in 0..<n {
                    switch items[i].kind {
                    case .event:
                        do {
                            try stage.apply(items[i].event) {
                                guard case .dayClose(let close) = notes.pop() else { fail("day close out of order") }
                                return close
                            }
                        } catch {
                            fail("\(error)")
                        }
                    case .snapshot:
                        guard case .snapshot(let seq, let clock, let payload) = notes.pop() else {
                            fail("snapshot out of order")
                        }
                        // The trade log first (the snapshot counts on it), then the file, written
                        // off this thread so the events keep flowing.
                        do {
                            let dayFirstTid = try stage.sync()
                            snapshotWriter.async {
                                do {
                                    try SnapshotFile.write(data: data, header: SnapshotFile.Header(
                                        seq: seq, clock: clock, dayFirstTid: dayFirstTid, configDigest: configDigest),
                                                           payload: payload)
                                } catch {
                                    // A snapshot only shortens recovery; the journal alone is complete.
                                    FileHandle.standardError.write(Data("cuohe: \(error); continuing without this snapshot\n".utf8))
                                }
                                inFlight.count.subtract(1, ordering: .releasing)
                            }
                        } catch {
                            fail("\(error)")
                        }
                        continue
                    case .end:
                        do { try stage.sync() } catch { fail("\(error)") }
                        finished = true
                    case .edge:
                        break
                    }
                    items[forward] = items[i]
                    forward += 1
                }
                items.withUnsafeBufferPointer { egress.publish(UnsafeBufferPointer(rebasing: $0[0..<forward])) }
            }
            settlementBox.value = consume stage
            done.signal()
        }.start()

        // Egress: format and write (flushing whenever the ring runs dry), or hand events over.
        Thread {
            let formatter = LineFormatter(directory: directory)
            var outputFD: Int32 = -1
            var handler: (@Sendable (Event) -> Void)? = nil
            switch egressKind {
            case .text(let fd): outputFD = fd
            case .events(let f): handler = f
            }
            var writer = OutputWriter(output: FileDescriptor(borrowing: outputFD, path: "output"))
            var items = [EgressItem](repeating: endItem, count: batchMax)
            var trades: [TradeRecord] = []
            var lastSeq = lastSeqs
            var date = startDate
            var finished = false
            while !finished {
                let n = items.withUnsafeMutableBufferPointer { egress.take(into: $0) }
                for i in 0..<n {
                    switch items[i].kind {
                    case .event:
                        let e = items[i].event
                        if e.seq > 0 { lastSeq[Int(e.broker)] = e.seq }
                        if e.kind == .trade && recordsTrades { trades.append(TradeRecord(e, date: date)) }
                        if e.kind == .ok && e.verb == .roll { date = e.date }
                        if let handler {
                            handler(e)
                            continue
                        }
                        if e.kind == .trade {
                            writer.buffer.append(contentsOf: "* ".utf8)
                        } else {
                            writer.buffer.append(contentsOf: directory.brokers[Int(e.broker)].utf8)
                            writer.buffer.append(UInt8(ascii: " "))
                        }
                        formatter.append(e, to: &writer.buffer)
                        writer.buffer.append(UInt8(ascii: "\n"))
                    case .edge:
                        let item = edgeLines.pop()
                        if handler != nil { continue }
                        switch item {
                        case .line(let who, let text):
                            writer.buffer.append(contentsOf: "\(who) \(text)\n".utf8)
                        case .login(let broker, let name):
                            writer.buffer.append(contentsOf: "\(name) LOGGEDIN broker=\(name) next=\(lastSeq[Int(broker)] + 1)\n".utf8)
                        case .nothing, .command:
                            break
                        }
                    case .end:
                        finished = true
                    case .snapshot:
                        break
                    }
                }
                if handler == nil && (egress.count == 0 || writer.buffer.count >= OutputWriter.flushBytes) {
                    writer.flush()
                    if let error = writer.writeError { fail("writing output: \(error.reason)") }
                }
            }
            if handler == nil { writer.flush() }
            tradesBox.value = trades
            done.signal()
        }.start()

        // Ingress: this thread.
        let gate = Ingress(ring: ingress, edgeLines: edgeLines)
        produce(gate)
        gate.flush()
        ingress.publish(StageItem(kind: .end, command: Command(kind: .stats, broker: 0, ts: 0)))
        for _ in 0..<4 { done.wait() }
        snapshotWriter.sync {}
        return Outcome(matcher: matcherBox.take(), settlement: settlementBox.take(), trades: tradesBox.take())
    }
}
