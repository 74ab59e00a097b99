/// A fixed-capacity array over storage allocated once, the only place the core touches raw memory.
///
/// Why: the matching path must not allocate, retain or check uniqueness per access. A `FixedArray`
/// is a pair of (owner, base pointer); element access goes straight through the pointer with a
/// bounds check and no ARC traffic. Copies of a `FixedArray` share the same storage, like a class
/// reference: the types that hold them (`OrderStore`, `OrderBook`, `Matcher`) are the single owners
/// and never hand a copy out.
public struct FixedArray<Element>: @unchecked Sendable {
    /// Frees the storage when the last `FixedArray` sharing it goes away.
    @usableFromInline final class Storage {
        @usableFromInline let base: UnsafeMutablePointer<Element>
        @usableFromInline let count: Int

        @usableFromInline init(count: Int, repeating value: Element) {
            base = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
            base.initialize(repeating: value, count: count)
            self.count = count
        }

        deinit {
            base.deinitialize(count: count)
            base.deallocate()
        }
    }

    @usableFromInline let storage: Storage
    @usableFromInline let base: UnsafeMutablePointer<Element>
    public let count: Int

    /// Allocates `count` elements, each set to `value`.
    public init(count: Int, repeating value: Element) {
        precondition(count >= 0, "FixedArray count must not be negative")
        storage = Storage(count: count, repeating: value)
        base = storage.base
        self.count = count
    }

    @inlinable public subscript(index: Int) -> Element {
        unsafeAddress {
            precondition(index >= 0 && index < count, "FixedArray index out of range")
            return UnsafePointer(base + index)
        }
        nonmutating unsafeMutableAddress {
            precondition(index >= 0 && index < count, "FixedArray index out of range")
            return base + index
        }
    }

    @inlinable public subscript(index: Int32) -> Element {
        unsafeAddress {
            precondition(index >= 0 && Int(index) < count, "FixedArray index out of range")
            return UnsafePointer(base + Int(index))
        }
        nonmutating unsafeMutableAddress {
            precondition(index >= 0 && Int(index) < count, "FixedArray index out of range")
            return base + Int(index)
        }
    }

    /// Sets every element to `value`.
    public func fill(with value: Element) {
        for i in 0..<count { base[i] = value }
    }
}

/// A growable buffer of fixed-size values that keeps its storage between uses: the matcher appends
/// a command's events here and the caller drains them. It grows (doubling) only when a command
/// produces more events than any before it, so the steady state allocates nothing.
public struct EventBuffer: ~Copyable, @unchecked Sendable {
    @usableFromInline var base: UnsafeMutablePointer<Event>
    @usableFromInline var capacity: Int
    public private(set) var count: Int = 0

    public init(capacity: Int = 1024) {
        self.capacity = max(capacity, 16)
        base = UnsafeMutablePointer<Event>.allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    public mutating func append(_ event: Event) {
        if count == capacity { grow() }
        (base + count).initialize(to: event)
        count += 1
    }

    @usableFromInline mutating func grow() {
        let bigger = UnsafeMutablePointer<Event>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
    }

    public mutating func removeAll() { count = 0 }

    public subscript(index: Int) -> Event {
        precondition(index >= 0 && index < count, "EventBuffer index out of range")
        return base[index]
    }

    public var isEmpty: Bool { count == 0 }

    /// A copy of the events, for tests and tools.
    public var array: [Event] { (0..<count).map { base[$0] } }
}
