#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A counter one stage writes and any thread reads: a relaxed atomic, so the data path never
/// takes a lock or waits for a reader.
public final class Counter: Sendable {
    private let value = Atomic<UInt64>(0)

    public init() {}

    /// Adds `n` (single writer: a load and a store, no read-modify-write needed).
    @inline(__always)
    public func add(_ n: UInt64) { value.store(value.load(ordering: .relaxed) &+ n, ordering: .relaxed) }

    /// Sets the value (a stage publishing a count it keeps itself).
    @inline(__always)
    public func set(_ n: UInt64) { value.store(n, ordering: .relaxed) }

    public var current: UInt64 { value.load(ordering: .relaxed) }
}

/// A fixed-bucket histogram of durations one stage records and any thread reads: bucket `k`
/// counts durations in [2^k, 2^(k+1)) nanoseconds (bucket 0 also 0 ns), 40 buckets up to about
/// 18 minutes; the owner of its bucket memory.
public final class DurationHistogram: @unchecked Sendable {
    public static let bucketCount = 40
    private let buckets: UnsafeMutablePointer<Atomic<UInt64>>
    private let sumNanos = Atomic<UInt64>(0)

    public init() {
        buckets = .allocate(capacity: DurationHistogram.bucketCount)
        for k in 0..<DurationHistogram.bucketCount { (buckets + k).initialize(to: Atomic(0)) }
    }

    deinit {
        buckets.deinitialize(count: DurationHistogram.bucketCount)
        buckets.deallocate()
    }

    /// The bucket of `nanos`.
    static func bucket(_ nanos: Int64) -> Int {
        nanos <= 1 ? 0 : min(bucketCount - 1, 63 - UInt64(nanos).leadingZeroBitCount)
    }

    /// Records one duration (single writer).
    public func record(nanos: Int64) { record(nanos) }

    /// Records one value (single writer): the same power-of-two buckets serve counts, such as
    /// commands per journal batch.
    public func record(_ nanos: Int64) {
        let k = DurationHistogram.bucket(nanos)
        buckets[k].store(buckets[k].load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        sumNanos.store(sumNanos.load(ordering: .relaxed) &+ UInt64(max(0, nanos)), ordering: .relaxed)
    }

    /// A copy of the counts, bucket by bucket.
    public func counts() -> [UInt64] { (0..<DurationHistogram.bucketCount).map { buckets[$0].load(ordering: .relaxed) } }

    public var total: UInt64 { counts().reduce(0, &+) }
    public var sum: UInt64 { sumNanos.load(ordering: .relaxed) }

    /// The upper edge, in nanoseconds, of the bucket holding the `q` quantile (0...1); 0 if empty.
    public func quantileUpperBound(_ q: Double) -> Int64 {
        let c = counts()
        let n = c.reduce(0, &+)
        guard n > 0 else { return 0 }
        let rank = UInt64((Double(n) * q).rounded(.up))
        var seen: UInt64 = 0
        for (k, count) in c.enumerated() {
            seen += count
            if seen >= max(rank, 1) { return Int64(1) << (k + 1) }
        }
        return Int64(1) << DurationHistogram.bucketCount
    }
}

/// What each stage of the pipeline counts, written by that stage alone and read by `STATS`-style
/// tools and the metrics endpoint. Nothing is measured twice: the matcher's own counters are
/// published here after each batch, not counted again.
public final class PipelineMetrics: Sendable {
    // Sequencer.
    public let commandsSequenced = Counter()
    public let answersSequenced = Counter()
    /// `PHASE` commands the schedule issued.
    public let scheduledPhases = Counter()
    public let stampsRefused = Counter()
    public let batches = Counter()
    public let journalBytes = Counter()
    /// The time of each batch's journal write and sync.
    public let journalAppend = DurationHistogram()
    /// Commands per journal batch (one write and one sync each), in the same power-of-two buckets.
    public let journalBatchCommands = DurationHistogram()
    // Matcher (its `MatcherCounters`, published after each batch).
    public let commandsMatched = Counter()
    public let ordersAccepted = Counter()
    public let trades = Counter()
    public let rejects = Counter()
    public let restingOrders = Counter()
    // Settlement.
    public let tradesSettled = Counter()
    public let daysClosed = Counter()
    public let snapshotsTaken = Counter()
    // Egress.
    public let eventsOut = Counter()
    public let answersOut = Counter()
    public let flushes = Counter()
    private let rings = Mutex<[(name: String, occupancy: @Sendable () -> Int)]>([])

    public init() {}

    /// Items waiting in each ring between the stages, by ring (read when asked, off the data path).
    public func ringOccupancy() -> [(name: String, items: Int)] {
        rings.withLock { $0.map { ($0.name, $0.occupancy()) } }
    }

    func watch(ring name: String, _ occupancy: @escaping @Sendable () -> Int) {
        rings.withLock { list in
            list.removeAll { $0.name == name }  // a later run's ring in place of an earlier one's
            list.append((name, occupancy))
        }
    }
}

/// The monotonic clock, in nanoseconds (stage timings).
func monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
