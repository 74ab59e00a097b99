#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CuoheCore
import CuoheProtocol

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

/// One slot of the egress ring.
struct EgressItem: BitwiseCopyable {
    enum Kind: UInt8 { case event, edge, end }
    var kind: Kind
    var event: Event
}

/// The edge's own answers, in order, handed from the ingress thread to the egress thread; each is
/// announced by an `.edge` item travelling the rings, so it comes out exactly where it belongs.
final class EdgeLines: @unchecked Sendable {
    private var lines: [EdgeItem] = []
    private var head = 0
    private let lock = NSLock()

    func push(_ item: EdgeItem) {
        lock.lock()
        lines.append(item)
        lock.unlock()
    }

    func pop() -> EdgeItem {
        lock.lock()
        defer { lock.unlock() }
        let item = lines[head]
        head += 1
        if head > 4096 && head * 2 > lines.count {
            lines.removeFirst(head)
            head = 0
        }
        return item
    }
}

/// Hands a value to one thread and back (after that thread is joined).
final class Handoff<Value: ~Copyable>: @unchecked Sendable {
    var value: Value
    init(_ value: consuming Value) { self.value = value }
}

/// The threaded durable pipeline:
///
///     ingress (this thread: read, parse, sequence) ══ring══▶ sequencer (journal: one write and one
///     fdatasync per batch) ══ring══▶ matcher (the core; snapshots) ══ring══▶ egress (format, write)
///
/// Each stage owns its state and talks to the next only through an SPSC `Ring`. A command reaches
/// the matcher only after its batch is durable, so every line written is of a durable command.
public enum DurablePipeline {
    public struct Outcome: ~Copyable {
        public var matcher: Matcher
        public var trades: [TradeRecord]
    }

    static let batchMax = 1024
    static let ringCapacity = 4096

    /// Runs `reader`'s lines through the pipeline. `journal` holds the records already recovered
    /// into `matcher`, the newest snapshot of which covers `snapshotSeq`; a snapshot is written
    /// every `snapshotEvery` commands and at the end (also when recovery replayed records after
    /// the snapshot it started from) into `data`. Fatal errors (journal, output) are reported and end the process with
    /// status 1 before any output of the failed batch is written.
    public static func run(matcher: consuming Matcher, edge: ReplayEdge, journal: Journal, data: String,
                           snapshotSeq: UInt64, snapshotEvery: Int, reader: inout LineReader, outputFD: Int32, recordsTrades: Bool,
                           fail: @escaping @Sendable (String) -> Never) -> Outcome {
        let ingress = Ring<StageItem>(minimumCapacity: ringCapacity, wait: .blocking)
        let sequenced = Ring<StageItem>(minimumCapacity: ringCapacity, wait: .blocking)
        let egress = Ring<EgressItem>(minimumCapacity: ringCapacity * 4, wait: .blocking)
        let edgeLines = EdgeLines()
        let directory = edge.directory
        let lastSeqs = (0..<directory.brokers.count).map { matcher.lastSeq(broker: Int32($0)) }
        let startDate = matcher.tradingDate
        let matcherBox = Handoff(matcher)
        let tradesBox = Handoff([TradeRecord]())
        let journalBox = Handoff(journal)
        let done = DispatchSemaphore(value: 0)

        // Sequencer: group commit whatever has arrived, then pass it on.
        Thread {
            var items = [StageItem](repeating: StageItem(kind: .end, command: Command(kind: .stats, broker: 0, ts: 0)),
                                    count: batchMax)
            var commands: [Command] = []
            commands.reserveCapacity(batchMax)
            var finished = false
            while !finished {
                let n = items.withUnsafeMutableBufferPointer { ingress.take(into: $0) }
                commands.removeAll(keepingCapacity: true)
                for i in 0..<n {
                    if items[i].kind == .command { commands.append(items[i].command) }
                    if items[i].kind == .end { finished = true }
                }
                do {
                    try journalBox.value.append(commands)
                } catch {
                    fail("\(error)")
                }
                items.withUnsafeBufferPointer { sequenced.publish(UnsafeBufferPointer(rebasing: $0[0..<n])) }
            }
            done.signal()
        }.start()

        // Matcher: apply durable commands, hand events on, snapshot now and then.
        let firstSeq = journal.nextSeq
        Thread {
            var items = [StageItem](repeating: StageItem(kind: .end, command: Command(kind: .stats, broker: 0, ts: 0)),
                                    count: batchMax)
            var events = EventBuffer(capacity: 1 << 14)
            var out: [EgressItem] = []
            var shadow = edge  // follows the clock, for the snapshots' continuation point
            var seq = firstSeq - 1
            var lastSnapshot = snapshotSeq
            var finished = false
            func snapshot() {
                if seq == lastSnapshot { return }
                do {
                    try SnapshotFile.write(data: data, seq: seq, clock: shadow.clock, matcher: matcherBox.value)
                    lastSnapshot = seq
                } catch {
                    // A snapshot only shortens recovery; the journal alone is complete.
                    FileHandle.standardError.write(Data("cuohe: \(error); continuing without this snapshot\n".utf8))
                }
            }
            while !finished {
                let n = items.withUnsafeMutableBufferPointer { sequenced.take(into: $0) }
                out.removeAll(keepingCapacity: true)
                for i in 0..<n {
                    switch items[i].kind {
                    case .command:
                        let command = items[i].command
                        shadow.observe(command)
                        events.removeAll()
                        matcherBox.value.process(command, into: &events)
                        seq += 1
                        for e in 0..<events.count { out.append(EgressItem(kind: .event, event: events[e])) }
                    case .edge:
                        out.append(EgressItem(kind: .edge, event: Event(kind: .ok, broker: -1, ts: 0)))
                    case .end:
                        finished = true
                    }
                }
                if !out.isEmpty { out.withUnsafeBufferPointer { egress.publish($0) } }
                if seq - lastSnapshot >= UInt64(snapshotEvery) { snapshot() }
            }
            snapshot()
            egress.publish(EgressItem(kind: .end, event: Event(kind: .ok, broker: -1, ts: 0)))
            done.signal()
        }.start()

        // Egress: format and write; flush whenever the ring runs dry.
        Thread {
            let formatter = LineFormatter(directory: directory)
            var writer = OutputWriter(fd: outputFD)
            var items = [EgressItem](repeating: EgressItem(kind: .end, event: Event(kind: .ok, broker: -1, ts: 0)),
                                     count: batchMax)
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
                        if e.kind == .trade {
                            if recordsTrades { tradesBox.value.append(TradeRecord(e, date: date)) }
                            writer.buffer.append(contentsOf: "* ".utf8)
                        } else {
                            writer.buffer.append(contentsOf: directory.brokers[Int(e.broker)].utf8)
                            writer.buffer.append(UInt8(ascii: " "))
                        }
                        formatter.append(e, to: &writer.buffer)
                        writer.buffer.append(UInt8(ascii: "\n"))
                        if e.kind == .ok && e.verb == .roll { date = e.date }
                    case .edge:
                        switch edgeLines.pop() {
                        case .line(let who, let text):
                            writer.buffer.append(contentsOf: "\(who) \(text)\n".utf8)
                        case .login(let broker, let name):
                            writer.buffer.append(contentsOf: "\(name) LOGGEDIN broker=\(name) next=\(lastSeq[Int(broker)] + 1)\n".utf8)
                        case .nothing, .command:
                            break
                        }
                    case .end:
                        finished = true
                    }
                }
                if egress.count == 0 || writer.buffer.count >= OutputWriter.flushBytes {
                    writer.flush()
                    if writer.writeError != 0 {
                        fail("writing output: \(String(cString: strerror(writer.writeError)))")
                    }
                }
            }
            writer.flush()
            done.signal()
        }.start()

        // Ingress: this thread.
        var edgeState = edge
        while let line = reader.next() {
            switch edgeState.read(line[...]) {
            case .nothing:
                continue
            case .command(let command):
                ingress.publish(StageItem(kind: .command, command: command))
            case let other:
                edgeLines.push(other)
                ingress.publish(StageItem(kind: .edge, command: Command(kind: .stats, broker: 0, ts: 0)))
            }
        }
        if reader.readError != 0 { fail("reading input: \(String(cString: strerror(reader.readError)))") }
        ingress.publish(StageItem(kind: .end, command: Command(kind: .stats, broker: 0, ts: 0)))
        for _ in 0..<3 { done.wait() }
        return Outcome(matcher: matcherBox.value, trades: tradesBox.value)
    }
}
