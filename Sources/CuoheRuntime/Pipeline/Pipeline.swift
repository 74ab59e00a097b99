#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CuoheCore
import CuoheProtocol

/// The threaded durable pipeline:
///
///     source (the caller's thread) ══ring══▶ Sequencer (clock, journal: one write and one fdatasync
///     per batch) ══ring══▶ MatcherStage (the core) ══ring══▶ SettlementStage (books of record, trade
///     log, end-of-day files, snapshots) ══ring══▶ Egress (the sink: text, sessions, a closure)
///
/// Each stage is a type that owns its state on its own thread and handles a batch at a time; it
/// talks to the next only through an SPSC `Ring` whose slots are small value enums. A command
/// reaches the matcher only after its batch is durable, so every output the sink sees is of a
/// durable command.
public enum Pipeline {
    /// The engine after the run: what a caller needs for the end (an export, a final check).
    public struct Outcome: ~Copyable {
        public var matcher: Matcher
        public var settlement: SettlementStage
        /// Every trade that left egress, with its date, when `recordsTrades` was asked for.
        public var trades: [TradeRecord]
        /// The data directory's lock, still held.
        public var lock: DirectoryLock

        /// Writes the end-of-day files for `earlierTrades` (those recovered) and this run's
        /// trades, from the matcher's ledger as the run left it (`instruments.csv`: the day open).
        public func export(to path: String, earlierTrades: [TradeRecord], directory: Directory) throws(IOError) {
            try EndOfDay.write(to: path, trades: earlierTrades + trades, ledger: matcher.ledger,
                               prices: DayPrices(openDayOf: matcher), directory: directory)
        }
    }

    /// The source's side, given to the producer on the calling thread. Items are gathered and
    /// published to the ring in batches (one release store and at most one wake-up per batch);
    /// the producer calls `flush()` whenever it is about to wait for more input, so nothing waits
    /// behind a half-full batch.
    public final class Ingress {
        static let batch = 256
        let ring: Ring<IngressItem>
        let answers: SideQueue<EdgeAnswer>
        let alarm: ScheduleAlarm
        private var pending: [IngressItem] = []
        /// The alarm time a `tick` was last sent for (one per entry, however often it is asked).
        private var ticked = Int64.min

        init(ring: Ring<IngressItem>, answers: SideQueue<EdgeAnswer>, alarm: ScheduleAlarm) {
            self.ring = ring
            self.answers = answers
            self.alarm = alarm
            pending.reserveCapacity(Ingress.batch)
        }

        /// When the schedule's next entry is due (wall-clock nanoseconds; `Int64.max`: none, or
        /// its `tick` is already on its way).
        public var nextScheduled: Int64 {
            let due = alarm.nextDue
            return due == ticked ? Int64.max : due
        }

        /// Tells the sequencer the wall clock reached the schedule's next entry, once per entry:
        /// it issues what is due even when no broker sends anything.
        public func scheduleDue(now: Int64) {
            let due = alarm.nextDue
            guard due <= now, due != ticked else { return }
            ticked = due
            pending.append(.tick(now))
            flush()
        }

        /// Sends one inbound item: a command to be sequenced (with the time it asks for, if any),
        /// or an answer of the edge's own, to come out in its place among the outputs.
        public func send(_ inbound: Inbound) {
            switch inbound {
            case .nothing: return
            case .command(let command, let stamp): pending.append(.command(command, stamp: stamp))
            case .answer(let answer, let stamp):
                answers.push(answer)
                pending.append(.answer(stamp: stamp))
            }
            if pending.count == Ingress.batch { flush() }
        }

        /// Publishes what is gathered.
        public func flush() {
            if pending.isEmpty { return }
            pending.withUnsafeBufferPointer { ring.publish($0) }
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// Items a stage takes or gives at once.
    static let batchMax = 1024
    /// Commands per group commit at most: under full load one `fdatasync` covers this many.
    public static let commitMax = 4096
    static let ringCapacity = 4096

    /// Runs `reader`'s lines, as replay reads them, through a recovered engine into replay text
    /// written to `outputFD`.
    public static func replay(engine: consuming RecoveredEngine, snapshotEvery: Int, reader: inout LineReader,
                              outputFD: Int32, recordsTrades: Bool, log: @escaping @Sendable (String) -> Void,
                              fail: @escaping @Sendable (String) -> Never) -> Outcome {
        let edge = ReplayEdge(directory: engine.directory)
        let sink = ReplayTextSink(output: FileDescriptor(borrowing: outputFD, path: "output"), directory: engine.directory)
        return run(engine: engine, snapshotEvery: snapshotEvery, recordsTrades: recordsTrades, sink: sink, log: log,
                   fail: fail) { ingress in
            while let line = reader.next() {
                ingress.send(edge.read(line[...]))
                if !reader.hasBufferedData { ingress.flush() }
            }
            if let error = reader.readError { fail("reading input: \(error.reason)") }
        }
    }

    /// Runs what `produce` sends (on this thread) through the stages into `sink`. `engine` holds
    /// the journal's records recovered so far; a snapshot is written every `snapshotEvery`
    /// commands and at the end (also when recovery replayed records after its snapshot). Fatal
    /// errors (journal, trade log, end-of-day files, output) end the process through `fail`
    /// before any output of the failed batch reaches the sink.
    // Specialised for the engine's own sinks: the sink is called once per event.
    @_specialize(where Sink == ReplayTextSink)
    @_specialize(where Sink == EventHandlerSink)
    public static func run<Sink: EgressSink & ~Copyable>(
        engine: consuming RecoveredEngine, snapshotEvery: Int, recordsTrades: Bool, sink: consuming Sink,
        metrics: PipelineMetrics = PipelineMetrics(), wallClock: Bool = false, log: @escaping @Sendable (String) -> Void,
        fail: @escaping @Sendable (String) -> Never, produce: (Ingress) -> Void
    ) -> Outcome {
        let wiring = Wiring(metrics: metrics)
        let directory = engine.directory
        let replayer = engine.replayer
        var matcher = replayer.matcher
        let lastSeqs = (0..<directory.brokers.count).map { matcher.lastSeq(broker: Int32($0)) }
        let writer = SnapshotWriter(data: replayer.settlement.data, configDigest: engine.market.digest,
                                    inFlight: wiring.inFlight, log: log)
        // The schedule's next entry, for the source's timer (a live server) from the first moment.
        wiring.alarm.next.store(replayer.clock.nextScheduledTime ?? Int64.max, ordering: .releasing)
        // 1. Sequencer: the clock and the journal.
        let sequencer = Handoff(Sequencer(journal: engine.journal, clock: replayer.clock,
                                          seq: engine.journal.nextSeq - 1, lastSnapshot: engine.snapshotSeq,
                                          snapshotEvery: snapshotEvery, inFlight: wiring.inFlight,
                                          answersIn: wiring.ingressAnswers, answersOut: wiring.answers,
                                          metrics: metrics, wallClock: wallClock, alarm: wiring.alarm))
        wiring.start(wiring.ingress, into: wiring.sequenced, state: sequencer, batch: commitMax,
                     holdsBack: true) { (stage, items, out) in
            do { return try stage.handle(items, into: &out) } catch { fail("\(error)") }
        }
        // 2. Matcher: the core.
        let date = matcher.tradingDate
        let matching = Handoff(MatcherStage(matcher: matcher, notes: wiring.notes, metrics: metrics))
        wiring.start(wiring.sequenced, into: wiring.matched, state: matching) { (stage, items, out) in
            stage.handle(items, into: &out)
        }
        // 3. Settlement: the books of record, the trade log, the day's files, snapshots.
        let settlement = Handoff(replayer.settlement)
        wiring.start(wiring.matched, into: wiring.settled, state: settlement) { (stage, items, out) in
            do {
                return try stage.handle(items, notes: wiring.notes, snapshots: writer, metrics: metrics, into: &out)
            } catch {
                fail("\(error)")
            }
        }
        // 4. Egress: the sink.
        let egress = Handoff(Egress(sink: sink, lastSeq: lastSeqs, date: date, recordsTrades: recordsTrades,
                                    answers: wiring.answers, metrics: metrics))
        wiring.startEgress(egress, fail: fail)
        // 0. The source: this thread.
        let ingress = Ingress(ring: wiring.ingress, answers: wiring.ingressAnswers, alarm: wiring.alarm)
        produce(ingress)
        ingress.flush()
        wiring.ingress.publish(.end)
        wiring.join()
        writer.drain()
        matcher = matching.take().matcher
        return Outcome(matcher: matcher, settlement: settlement.take(), trades: egress.take().trades, lock: engine.lock)
    }
}

/// The rings and side queues between the stages, and their threads: `Pipeline.run` only says
/// which stage goes where.
final class Wiring: @unchecked Sendable {
    let ingress = Ring<IngressItem>(minimumCapacity: Pipeline.commitMax * 2, wait: .blocking)
    let sequenced = Ring<SequencedItem>(minimumCapacity: Pipeline.commitMax * 2, wait: .blocking)
    let matched = Ring<MatchedItem>(minimumCapacity: Pipeline.ringCapacity * 4, wait: .blocking)
    let settled = Ring<MatchedItem>(minimumCapacity: Pipeline.ringCapacity * 4, wait: .blocking)
    /// The edge's answers as the source sent them, and as the sequencer stamped them.
    let ingressAnswers = SideQueue<EdgeAnswer>()
    let answers = SideQueue<EdgeAnswer>()
    let notes = SideQueue<SettlementNote>()
    let inFlight = SnapshotsInFlight()
    let alarm = ScheduleAlarm()
    let metrics: PipelineMetrics
    private let done = DispatchSemaphore(value: 0)
    private var threads = 0

    init(metrics: PipelineMetrics) {
        self.metrics = metrics
        metrics.watch(ring: "ingress") { [ingress] in ingress.count }
        metrics.watch(ring: "sequenced") { [sequenced] in sequenced.count }
        metrics.watch(ring: "matched") { [matched] in matched.count }
        metrics.watch(ring: "settled") { [settled] in settled.count }
    }

    /// Starts a stage on its own thread: it takes `state` into a local, hands each batch of
    /// `input` to `handle` with the output gathered for `output`, publishes it, and puts its
    /// state back once `handle` says the end has passed.
    /// `holdsBack`: the output leaves only when the stage publishes it (the sequencer's, which
    /// journals first); otherwise it is written into the next ring in place.
    func start<State: ~Copyable, In: BitwiseCopyable, Out: BitwiseCopyable>(
        _ input: Ring<In>, into output: Ring<Out>, state: Handoff<State>, batch batchMax: Int = Pipeline.batchMax,
        holdsBack: Bool = false,
        _ handle: @escaping @Sendable (inout State, UnsafeBufferPointer<In>, inout StageOutput<Out>) -> Bool
    ) {
        threads += 1
        Thread {
            var stage = state.take()
            // Room for a whole batch's output (a command gives a few events): one publish per batch.
            var out = StageOutput(ring: output, capacity: 4 * batchMax, holdsBack: holdsBack)
            var finished = false
            while !finished {
                // The batch is handled where it lies in the ring, then given back.
                let batch = input.read(max: batchMax)
                finished = handle(&stage, batch, &out)
                input.release(batch.count)
                out.publish()
            }
            state.value = consume stage
            self.done.signal()
        }.start()
    }

    /// Starts egress: the sink is flushed whenever the ring runs dry, and at the end.
    func startEgress<Sink: EgressSink & ~Copyable>(_ state: Handoff<Egress<Sink>>,
                                                   fail: @escaping @Sendable (String) -> Never) {
        threads += 1
        Thread {
            var egress = state.take()
            var finished = false
            while !finished {
                let batch = self.settled.read(max: Pipeline.batchMax)
                finished = egress.handle(batch)
                self.settled.release(batch.count)
                if finished || self.settled.count == 0 {
                    do throws(IOError) { try egress.sink.flush() } catch { fail("writing output: \(error.reason)") }
                    self.metrics.flushes.add(1)
                }
            }
            state.value = consume egress
            self.done.signal()
        }.start()
    }

    /// Waits for every stage to finish.
    func join() {
        for _ in 0..<threads { done.wait() }
    }
}
