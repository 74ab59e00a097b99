import CuoheCore
import Synchronization

/// One slot of the ring from the ingress to the sequencer.
enum IngressItem: BitwiseCopyable {
    /// A command, with the time it asks for, if any.
    case command(Command, stamp: Int64?)
    /// The next of the edge's own answers in the ingress's side queue, with the time it asks for.
    case answer(stamp: Int64?)
    /// End of input.
    case end
}

/// One slot of the ring from the sequencer to the matcher.
enum SequencedItem: BitwiseCopyable {
    /// A sequenced command, in the journal on disk.
    case command(Command)
    /// The next answer in the sequencer's side queue (stamped).
    case answer
    /// Take a snapshot now: it covers journal record `seq`, and the clock stands at `clock`.
    case snapshot(seq: UInt64, clock: Int64)
    case end
}

/// Snapshots asked for and not yet written: no new one is asked for while one is in flight, so
/// slow snapshot writes cannot pile up copies of the state in memory.
final class SnapshotsInFlight: Sendable {
    let count = Atomic<Int>(0)
}

/// The first stage: it owns the clock and the journal. For each batch it stamps every command
/// (the time asked for, when it may be used; `BAD_TIMESTAMP` otherwise) and every answer of the
/// edge, makes the commands durable with one write and one sync, and only then hands them on; it
/// decides when a snapshot is due, as it alone knows the record numbers and the time.
struct Sequencer: ~Copyable {
    let journal: Journal
    var clock: SequencingClock
    /// The last record sequenced, and the last a snapshot was asked for.
    var seq: UInt64
    var lastSnapshot: UInt64
    let snapshotEvery: Int
    let inFlight: SnapshotsInFlight
    /// Answers from the ingress (unstamped) and to the later stages (stamped).
    let answersIn: SideQueue<EdgeAnswer>
    let answersOut: SideQueue<EdgeAnswer>
    /// This batch's commands, journaled before any of them is handed on.
    var commands: [Command] = []
    let metrics: PipelineMetrics
    /// Stamps commands that ask for no time with the wall clock (a live server) rather than the
    /// next nanosecond (replay, where time comes from the input's `@` stamps).
    var wallClock = false

    /// Sequences a batch into `out`; true once the end of input has passed. One pass stamps each
    /// item and gathers it in `out`, which holds a whole batch and more (checked), so nothing is
    /// published before the journal has the batch: the stage's loop publishes after `handle`.
    mutating func handle(_ items: UnsafeBufferPointer<IngressItem>,
                         into out: inout StageOutput<SequencedItem>) throws(JournalError) -> Bool {
        precondition(out.room >= items.count + 2, "the sequencer's output holds a whole batch")
        commands.removeAll(keepingCapacity: true)
        var finished = false
        // One reading per batch: the batch is one group commit, so its commands share the moment.
        let wall = wallClock ? SequencingClock.wallNanos() : nil
        for item in items {
            switch item {
            case .command(var command, let stamp):
                let live: Int64? = if let wall, stamp == nil { clock.liveStamp(wall: wall) } else { clock.stamp(requested: stamp) }
                guard let ts = live else {
                    answersOut.push(EdgeAnswer.badTimestamp)
                    out.append(.answer)
                    metrics.stampsRefused.add(1)
                    continue
                }
                command.ts = ts
                clock.observe(command)
                commands.append(command)
                out.append(.command(command))
            case .answer(let stamp):
                if case .answer(let stamped) = clock.sequence(.answer(answersIn.pop(), stamp: stamp)) {
                    answersOut.push(stamped)
                    out.append(.answer)
                    metrics.answersSequenced.add(1)
                }
            case .end:
                finished = true
            }
        }
        try journalBatch()
        askForSnapshot(finished: finished, into: &out)
        if finished { out.append(.end) }
        return finished
    }

    /// Makes the batch's commands durable, counting what it took.
    mutating func journalBatch() throws(JournalError) {
        guard !commands.isEmpty else { return }
        let started = monotonicNanos()
        try journal.append(commands)
        metrics.journalAppend.record(nanos: monotonicNanos() - started)
        metrics.batches.add(1)
        metrics.journalBatchCommands.record(Int64(commands.count))
        metrics.commandsSequenced.add(UInt64(commands.count))
        metrics.journalBytes.add(UInt64(commands.count * JournalRecord.recordBytes))
        seq += UInt64(commands.count)
    }

    /// A snapshot every `snapshotEvery` records (none while one is in flight) and at the end.
    mutating func askForSnapshot(finished: Bool, into out: inout StageOutput<SequencedItem>) {
        let due = seq - lastSnapshot >= UInt64(snapshotEvery) && inFlight.count.load(ordering: .acquiring) == 0
        if seq != lastSnapshot && (finished || due) {
            inFlight.count.add(1, ordering: .relaxed)
            out.append(.snapshot(seq: seq, clock: clock.now))
            lastSnapshot = seq
        }
    }
}
