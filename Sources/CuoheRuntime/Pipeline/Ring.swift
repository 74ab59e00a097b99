#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// How a stage waits when its ring has nothing for it (consumer) or no room (producer).
///
/// The machines have 2 cores: a thread that busy-spins owns a core. `spinThenYield` spins briefly
/// (a message usually arrives within a few hundred nanoseconds under load), then yields the core;
/// `blocking` parks the thread until the other side signals, costing a wake-up (~10–50 µs) but no
/// CPU while idle. `busySpin` is for benchmarks and one dedicated latency-critical stage only.
public enum WaitStrategy: Sendable {
    case busySpin
    case spinThenYield(spins: Int)
    case blocking

    /// The default: never more than a short spin.
    public static let standard = WaitStrategy.spinThenYield(spins: 256)
}

/// A single-producer/single-consumer ring of fixed-size messages: power-of-two capacity, storage
/// allocated once, the producer's `tail` and the consumer's `head` as atomics on separate cache
/// lines, release/acquire ordering, batch publish and batch consume.
///
/// Exactly one thread may call the producer methods (`offer`, `publish`) and exactly one other the
/// consumer methods (`poll`, `take`). The unsafe storage is fenced inside this type.
public final class Ring<Element: BitwiseCopyable>: @unchecked Sendable {
    // Layout: each atomic sits alone on its own 64-byte line (Swift has no `alignas`, so the
    // neighbours are padded out by hand), so producer and consumer never write the same line.
    private let padding0 = CacheLinePad()
    /// Next slot the producer writes (count of messages ever published).
    private let tail = Atomic<Int>(0)
    private let padding1 = CacheLinePad()
    /// Next slot the consumer reads (count of messages ever consumed).
    private let head = Atomic<Int>(0)
    private let padding2 = CacheLinePad()
    /// Set by a parked consumer (blocking strategy) so the producer knows to wake it.
    private let consumerParked = Atomic<Bool>(false)
    private let padding3 = CacheLinePad()
    /// Set by a parked producer (ring full, blocking strategy).
    private let producerParked = Atomic<Bool>(false)
    private let padding4 = CacheLinePad()

    public let capacity: Int
    private let mask: Int
    private let buffer: UnsafeMutablePointer<Element>
    /// Each side's cached view of the other's index, in its own line, read and written only by
    /// that side: most calls then touch no shared line at all.
    private let producerCache: UnsafeMutablePointer<Int>
    private let consumerCache: UnsafeMutablePointer<Int>
    private let wait: WaitStrategy
    private let consumerWake = Parker()
    private let producerWake = Parker()

    /// A ring holding at least `minimumCapacity` messages (rounded up to a power of two).
    public init(minimumCapacity: Int, wait: WaitStrategy = .standard) {
        precondition(minimumCapacity > 0 && minimumCapacity <= 1 << 30, "ring capacity out of range")
        var size = 1
        while size < minimumCapacity { size <<= 1 }
        capacity = size
        mask = size - 1
        buffer = UnsafeMutablePointer<Element>.allocate(capacity: size)
        let caches = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 64)
        producerCache = caches.bindMemory(to: Int.self, capacity: 16)
        producerCache.initialize(to: 0)
        consumerCache = (caches + 64).bindMemory(to: Int.self, capacity: 8)
        consumerCache.initialize(to: 0)
        self.wait = wait
    }

    deinit {
        buffer.deallocate()
        UnsafeMutableRawPointer(producerCache).deallocate()
    }

    // MARK: - Producer

    /// Publishes as many of `messages` as fit right now (one release store for all); returns how
    /// many. Never waits.
    public func offer(_ messages: UnsafeBufferPointer<Element>) -> Int {
        let t = tail.load(ordering: .relaxed)
        var free = capacity - (t - producerCache.pointee)
        if free < messages.count {
            producerCache.pointee = head.load(ordering: .acquiring)
            free = capacity - (t - producerCache.pointee)
        }
        let n = min(free, messages.count)
        if n == 0 { return 0 }
        for i in 0..<n { buffer[(t + i) & mask] = messages[i] }
        tail.store(t + n, ordering: .releasing)
        wakeConsumerIfParked()
        return n
    }

    /// Publishes one message if there is room; never waits.
    @discardableResult
    public func offer(_ message: Element) -> Bool {
        let t = tail.load(ordering: .relaxed)
        if t - producerCache.pointee >= capacity {
            producerCache.pointee = head.load(ordering: .acquiring)
            if t - producerCache.pointee >= capacity { return false }
        }
        buffer[t & mask] = message
        tail.store(t + 1, ordering: .releasing)
        wakeConsumerIfParked()
        return true
    }

    /// Publishes all of `messages`, waiting for room as the strategy says. The consumer must keep
    /// consuming (the pipeline bounds every ring, so a full ring is back-pressure, not loss).
    public func publish(_ messages: UnsafeBufferPointer<Element>) {
        var done = 0
        var idle = 0
        while done < messages.count {
            let n = offer(UnsafeBufferPointer(rebasing: messages[done...]))
            done += n
            if n > 0 {
                idle = 0
            } else {
                pause(&idle, parker: producerWake, parked: producerParked) {
                    self.tail.load(ordering: .relaxed) - self.head.load(ordering: .acquiring) < self.capacity
                }
            }
        }
    }

    public func publish(_ message: Element) {
        withUnsafePointer(to: message) { publish(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    /// Room to write messages in place, not copied in: at least one slot (waiting as the strategy
    /// says), at most `max`, contiguous (so up to the end of the storage). Nothing written there
    /// is seen until `commit(_:)`; `offer` and `publish` must not be used while a reservation is
    /// open.
    public func reserve(max: Int) -> UnsafeMutableBufferPointer<Element> {
        precondition(max > 0, "a reservation of nothing")
        var idle = 0
        while true {
            let t = tail.load(ordering: .relaxed)
            var free = capacity - (t - producerCache.pointee)
            if free < max {
                producerCache.pointee = head.load(ordering: .acquiring)
                free = capacity - (t - producerCache.pointee)
            }
            if free > 0 {
                let start = t & mask
                return UnsafeMutableBufferPointer(start: buffer + start, count: min(free, max, capacity - start))
            }
            pause(&idle, parker: producerWake, parked: producerParked) {
                self.tail.load(ordering: .relaxed) - self.head.load(ordering: .acquiring) < self.capacity
            }
        }
    }

    /// Publishes the first `n` messages written into the last reservation (one release store).
    public func commit(_ n: Int) {
        let t = tail.load(ordering: .relaxed)
        precondition(n >= 0 && t + n - producerCache.pointee <= capacity, "committing slots not reserved")
        tail.store(t + n, ordering: .releasing)
        wakeConsumerIfParked()
    }

    // MARK: - Consumer

    /// Moves up to `into.count` messages out (one release store for all); returns how many. Never
    /// waits.
    public func poll(into out: UnsafeMutableBufferPointer<Element>) -> Int {
        let h = head.load(ordering: .relaxed)
        var available = consumerCache.pointee - h
        if available < out.count {
            consumerCache.pointee = tail.load(ordering: .acquiring)
            available = consumerCache.pointee - h
        }
        let n = min(available, out.count)
        if n == 0 { return 0 }
        for i in 0..<n { out[i] = buffer[(h + i) & mask] }
        head.store(h + n, ordering: .releasing)
        if case .blocking = wait { atomicMemoryFence(ordering: .sequentiallyConsistent) }
        if producerParked.load(ordering: .acquiring) { producerWake.unpark(producerParked) }
        return n
    }

    /// Moves at least one message out, waiting as the strategy says; returns how many.
    public func take(into out: UnsafeMutableBufferPointer<Element>) -> Int {
        var idle = 0
        while true {
            let n = poll(into: out)
            if n > 0 { return n }
            pause(&idle, parker: consumerWake, parked: consumerParked) {
                self.tail.load(ordering: .acquiring) != self.head.load(ordering: .relaxed)
            }
        }
    }

    /// The published messages where they lie, not copied out: at least one (waiting as the
    /// strategy says), at most `max`, contiguous (so up to the end of the storage, the rest on the
    /// next call). They stay the consumer's until `release(_:)`, and the producer cannot write over
    /// them before; `poll` and `take` must not be used while any are held.
    public func read(max: Int) -> UnsafeBufferPointer<Element> {
        precondition(max > 0, "a read of nothing")
        var idle = 0
        while true {
            let h = head.load(ordering: .relaxed)
            var available = consumerCache.pointee - h
            if available < max {
                consumerCache.pointee = tail.load(ordering: .acquiring)
                available = consumerCache.pointee - h
            }
            if available > 0 {
                let start = h & mask
                return UnsafeBufferPointer(start: buffer + start, count: min(available, max, capacity - start))
            }
            pause(&idle, parker: consumerWake, parked: consumerParked) {
                self.tail.load(ordering: .acquiring) != self.head.load(ordering: .relaxed)
            }
        }
    }

    /// Gives the first `n` messages of the last `read` back to the producer (one release store).
    public func release(_ n: Int) {
        let h = head.load(ordering: .relaxed)
        precondition(n >= 0 && n <= consumerCache.pointee - h, "releasing messages not read")
        head.store(h + n, ordering: .releasing)
        if case .blocking = wait { atomicMemoryFence(ordering: .sequentiallyConsistent) }
        if producerParked.load(ordering: .acquiring) { producerWake.unpark(producerParked) }
    }

    /// Messages published and not yet consumed (a snapshot; for metrics).
    public var count: Int { tail.load(ordering: .acquiring) - head.load(ordering: .acquiring) }

    // MARK: - Waiting

    private func wakeConsumerIfParked() {
        if case .blocking = wait {
            // Store-load order between our tail store and the parked flag load: without the fence
            // the consumer could park just after we looked (it would still wake within 1 ms).
            atomicMemoryFence(ordering: .sequentiallyConsistent)
        }
        if consumerParked.load(ordering: .acquiring) { consumerWake.unpark(consumerParked) }
    }

    /// One step of waiting. `ready` re-checks the condition after announcing a park, so a
    /// wake-up between the check and the park is never lost.
    private func pause(_ idle: inout Int, parker: Parker, parked: borrowing Atomic<Bool>, ready: () -> Bool) {
        idle += 1
        switch wait {
        case .busySpin:
            return
        case .spinThenYield(let spins):
            if idle > spins { sched_yield() }
        case .blocking:
            if idle < 64 { return }
            parker.park(parked, unlessReady: ready)
        }
    }
}

/// 64 bytes of nothing, to keep hot atomics on cache lines of their own.
struct CacheLinePad {
    let words: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
}

/// Parks one thread until another unparks it (a mutex and a condition variable: only used when a
/// stage is idle, never per message).
final class Parker: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let signaled = UnsafeMutablePointer<Bool>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        signaled.initialize(to: false)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
        signaled.deallocate()
    }

    /// Announces the park in `flag`, re-checks `ready`, then sleeps until unparked (or 1 ms, a
    /// safety net: a lost wake-up can only delay, never stall).
    func park(_ flag: borrowing Atomic<Bool>, unlessReady ready: () -> Bool) {
        pthread_mutex_lock(mutex)
        flag.store(true, ordering: .sequentiallyConsistent)
        if !ready() && !signaled.pointee {
            var deadline = timespec()
            clock_gettime(CLOCK_REALTIME, &deadline)
            deadline.tv_nsec += 1_000_000
            if deadline.tv_nsec >= 1_000_000_000 {
                deadline.tv_sec += 1
                deadline.tv_nsec -= 1_000_000_000
            }
            pthread_cond_timedwait(condition, mutex, &deadline)
        }
        signaled.pointee = false
        flag.store(false, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
    }

    func unpark(_ flag: borrowing Atomic<Bool>) {
        pthread_mutex_lock(mutex)
        signaled.pointee = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }
}
