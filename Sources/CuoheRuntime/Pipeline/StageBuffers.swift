import Foundation

/// A stage's output: items gathered in owned storage and published to the next ring in one
/// release store per batch, or sooner when the storage fills (one command can produce many
/// events: a `ROLL` that expires a whole book).
struct StageOutput<Element: BitwiseCopyable>: ~Copyable {
    let ring: Ring<Element>
    let storage: UnsafeMutableBufferPointer<Element>
    var count = 0

    init(ring: Ring<Element>, capacity: Int) {
        self.ring = ring
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// Items that can be gathered before the storage fills and is published.
    var room: Int { storage.count - count }

    mutating func append(_ item: Element) {
        if count == storage.count { publish() }
        storage[count] = item
        count += 1
    }

    /// Hands what is gathered to the next stage.
    mutating func publish() {
        if count == 0 { return }
        ring.publish(UnsafeBufferPointer(rebasing: storage[0..<count]))
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
