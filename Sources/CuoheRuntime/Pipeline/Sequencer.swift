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
    /// This batch's commands, and its outputs, held until the batch is durable.
    var commands: [Command] = []
    var outputs: [SequencedItem] = []
    let metrics: PipelineMetrics

    /// Sequences a batch into `out`; true once the end of input has passed.
    mutating func handle(_ items: UnsafeBufferPointer<IngressItem>,
                         into out: inout StageOutput<SequencedItem>) throws(JournalError) -> Bool {
        commands.removeAll(keepingCapacity: true)
        outputs.removeAll(keepingCapacity: true)
        var finished = false
        for item in items {
            switch item {
            case .command(let command, let stamp):
                switch clock.sequence(.command(command, stamp: stamp)) {
                case .command(let stamped):
                    commands.append(stamped)
                    outputs.append(.command(stamped))
                case .answer(let answer):
                    answersOut.push(answer)
                    outputs.append(.answer)
                    metrics.stampsRefused.add(1)
                case .nothing:
                    break
                }
            case .answer(let stamp):
                if case .answer(let stamped) = clock.sequence(.answer(answersIn.pop(), stamp: stamp)) {
                    answersOut.push(stamped)
                    outputs.append(.answer)
                    metrics.answersSequenced.add(1)
                }
            case .end:
                finished = true
            }
        }
        let started = monotonicNanos()
        try journal.append(commands)
        if !commands.isEmpty {
            metrics.journalAppend.record(nanos: monotonicNanos() - started)
            metrics.batches.add(1)
            metrics.commandsSequenced.add(UInt64(commands.count))
            metrics.journalBytes.add(UInt64(commands.count * JournalRecord.recordBytes))
        }
        seq += UInt64(commands.count)
        for item in outputs { out.append(item) }
        let due = seq - lastSnapshot >= UInt64(snapshotEvery) && inFlight.count.load(ordering: .acquiring) == 0
        if seq != lastSnapshot && (finished || due) {
            inFlight.count.add(1, ordering: .relaxed)
            out.append(.snapshot(seq: seq, clock: clock.now))
            lastSnapshot = seq
        }
        if finished { out.append(.end) }
        return finished
    }
}
