import Foundation

/// A stage's output, published to the next ring in one release store per batch, or sooner when
/// its room runs out (one command can produce many events: a `ROLL` that expires a whole book).
///
/// Two ways, chosen when made:
/// - **held back** (the sequencer's): items are gathered in owned storage and leave only when
///   `publish` says, so nothing leaves before the journal has it;
/// - **in place** (every later stage's): items are written straight into the ring's own slots,
///   reserved as they are needed, and become visible at `publish` or when the reservation runs
///   out; no copy between this buffer and the ring.
struct StageOutput<Element: BitwiseCopyable>: ~Copyable {
    let ring: Ring<Element>
    /// The owned storage of a held-back output (empty in place).
    let storage: UnsafeMutableBufferPointer<Element>
    /// Where the next items go: `storage`, or the ring's reserved slots.
    var slots: UnsafeMutableBufferPointer<Element>
    var count = 0
    /// The most slots an in-place output reserves at once.
    let reserveMax: Int

    init(ring: Ring<Element>, capacity: Int, holdsBack: Bool) {
        self.ring = ring
        storage = holdsBack ? .allocate(capacity: capacity) : UnsafeMutableBufferPointer(start: nil, count: 0)
        slots = storage
        reserveMax = capacity
    }

    deinit { storage.deallocate() }

    var holdsBack: Bool { storage.count > 0 }

    /// Items that can be gathered before a held-back output fills and is published.
    var room: Int { storage.count - count }

    mutating func append(_ item: Element) {
        if count == slots.count { makeRoom() }
        slots[count] = item
        count += 1
    }

    /// Held back: publishes the full storage. In place: publishes what the reservation holds and
    /// reserves more (waiting for room as the ring's strategy says).
    mutating func makeRoom() {
        if holdsBack { return publish() }
        if count > 0 { ring.commit(count) }
        count = 0
        slots = ring.reserve(max: reserveMax)
    }

    /// Hands what is gathered to the next stage.
    mutating func publish() {
        if count == 0 { return }
        if holdsBack {
            ring.publish(UnsafeBufferPointer(rebasing: storage[0..<count]))
        } else {
            ring.commit(count)
            slots = UnsafeMutableBufferPointer(start: nil, count: 0)
        }
        count = 0
    }
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

/// Hands a stage's state to its thread, which takes it into a local at start (no shared access
/// on the data path) and puts it back at its end, for the caller once the thread is joined.
final class Handoff<Value: ~Copyable>: @unchecked Sendable {
    var value: Value?
    init(_ value: consuming Value) { self.value = .some(value) }
    func take() -> Value { value.take()! }
}
