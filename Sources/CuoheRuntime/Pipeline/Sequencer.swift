import CuoheCore
import Synchronization

/// One slot of the ring from the ingress to the sequencer.
enum IngressItem: BitwiseCopyable {
    /// A command, with the time it asks for, if any.
    case command(Command, stamp: Int64?)
    /// The next of the edge's own answers in the ingress's side queue, with the time it asks for.
    case answer(stamp: Int64?)
    /// The wall clock reached a schedule entry's time (`ScheduleAlarm`), as the source read it:
    /// carry out what is due, even though no command arrived.
    case tick(Int64)
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

/// When the schedule's next entry is due, as the sequencer last knew it (`Int64.max`: none
/// today), for the live server's loop, which sends a `tick` once the wall clock reaches it.
public final class ScheduleAlarm: Sendable {
    let next = Atomic<Int64>(Int64.max)

    public init() {}

    /// The time, in wall-clock nanoseconds, the next entry is due.
    public var nextDue: Int64 { next.load(ordering: .acquiring) }
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
    let alarm: ScheduleAlarm

    /// Sequences a batch into `out`; true once the end of input has passed. One pass stamps each
    /// item and gathers it in `out`, which holds a whole batch and more (checked), so nothing is
    /// published before the journal has the batch: the stage's loop publishes after `handle`.
    mutating func handle(_ items: UnsafeBufferPointer<IngressItem>,
                         into out: inout StageOutput<SequencedItem>) throws(JournalError) -> Bool {
        commands.removeAll(keepingCapacity: true)
        try makeRoom(items.count + 2, &out)
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
                try carryOutSchedule(through: ts, room: items.count + 2, &out)
                command.ts = ts
                clock.observe(command)
                commands.append(command)
                out.append(.command(command))
                // A late ROLL: the new day's entries already due follow it at once.
                if command.kind == .roll { try carryOutSchedule(through: clock.now, room: items.count + 2, &out) }
            case .answer(let stamp):
                if case .answer(let stamped) = clock.sequence(.answer(answersIn.pop(), stamp: stamp)) {
                    answersOut.push(stamped)
                    out.append(.answer)
                    metrics.answersSequenced.add(1)
                }
            case .tick(let seen):
                // The later of the two readings: a wall clock stepped back between the gateway's
                // reading and this one must not leave the entry waiting for the next command.
                if let wall { try carryOutSchedule(through: max(wall, seen), room: items.count + 2, &out) }
            case .end:
                finished = true
            }
        }
        try journalBatch()
        alarm.next.store(clock.nextScheduledTime ?? Int64.max, ordering: .releasing)
        askForSnapshot(finished: finished, into: &out)
        if finished { out.append(.end) }
        return finished
    }

    /// The schedule's entries due by `stamp`, each a journaled `PHASE` in its place.
    mutating func carryOutSchedule(through stamp: Int64, room: Int,
                                   _ out: inout StageOutput<SequencedItem>) throws(JournalError) {
        while let due = clock.nextScheduled(through: stamp) {
            try makeRoom(room, &out)
            commands.append(due)
            out.append(.command(due))
            metrics.scheduledPhases.add(1)
        }
    }

    /// Keeps room in `out` for `room` more items: when it runs short (a schedule entry for each of
    /// many instruments), what is gathered is made durable and handed on first, so nothing leaves
    /// before the journal has it.
    mutating func makeRoom(_ room: Int, _ out: inout StageOutput<SequencedItem>) throws(JournalError) {
        precondition(out.storage.count >= room, "the sequencer's output holds a whole batch")
        if out.room >= room { return }
        try journalBatch()
        commands.removeAll(keepingCapacity: true)
        out.publish()
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
