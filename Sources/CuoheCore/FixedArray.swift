import CuoheSys

/// The owner of all the matcher's fixed storage: every `FixedArray` is carved from an `Arena` and
/// lives exactly as long as it. This is the one type in the core that allocates and frees raw
/// memory; everything else sees bounds-checked `FixedArray` views.
///
/// Why views and an owner, not arrays: the matching path must not allocate, retain, release or
/// check uniqueness per access. A `FixedArray` is a (pointer, count) pair with no reference count,
/// so copying one or reading through it costs nothing; the arena frees the memory when its owner
/// (the `Matcher`) goes away.
public final class Arena: @unchecked Sendable {
    /// Each block and how it was allocated (zeroed blocks are returned by size).
    private var blocks: [(base: UnsafeMutableRawPointer, zeroedBytes: Int, bytes: Int)] = []
    /// Touch every page of zeroed blocks at allocation (benchmarks: no page faults while timing).
    public let prefaults: Bool
    /// Bytes of the blocks allocated and not yet freed (the figure `EngineFootprint` predicts).
    public private(set) var bytesAllocated = 0

    public init(prefaults: Bool = false) { self.prefaults = prefaults }

    /// The bytes `make` or `makeZeroed` takes for `count` elements of `Element`.
    public static func bytes<Element>(_ count: Int, of type: Element.Type) -> Int {
        max(count, 1) * MemoryLayout<Element>.stride
    }

    /// Allocates `count` elements set to `value`, owned by this arena.
    public func make<Element: BitwiseCopyable>(count: Int, repeating value: Element) -> FixedArray<Element> {
        precondition(count >= 0, "FixedArray count must not be negative")
        let bytes = Arena.bytes(count, of: Element.self)
        guard let raw = cuohe_alloc(bytes) else { fatalError("out of memory allocating \(bytes) bytes") }
        // Initializing every element here also faults every page in, before any matching starts.
        let base = raw.bindMemory(to: Element.self, capacity: max(count, 1))
        base.initialize(repeating: value, count: count)
        blocks.append((UnsafeMutableRawPointer(base), 0, bytes))
        bytesAllocated += bytes
        return FixedArray(base: base, count: count)
    }

    /// Allocates `count` elements of all-zero bytes without touching them: for storage that is
    /// only read where it was written (order slots, cid records, the register) or where zero means
    /// empty (hash tables). The kernel supplies pages as they are first used, so large capacities
    /// cost neither start-up time nor memory until the market grows into them.
    public func makeZeroed<Element: BitwiseCopyable>(count: Int, of type: Element.Type = Element.self) -> FixedArray<Element> {
        precondition(count >= 0, "FixedArray count must not be negative")
        let bytes = Arena.bytes(count, of: Element.self)
        guard let raw = cuohe_alloc_zeroed(bytes) else { fatalError("out of memory allocating \(bytes) bytes") }
        if prefaults { raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        blocks.append((raw, bytes, bytes))
        bytesAllocated += bytes
        return FixedArray(base: raw.bindMemory(to: Element.self, capacity: max(count, 1)), count: count)
    }

    /// Frees `array` early (a book moving to a new band). No view of it may be used afterwards.
    public func free<Element>(_ array: FixedArray<Element>) {
        let raw = UnsafeMutableRawPointer(array.base)
        guard let i = blocks.firstIndex(where: { $0.base == raw }) else {
            preconditionFailure("freeing memory the arena does not own")
        }
        let block = blocks[i]
        blocks.swapAt(i, blocks.count - 1)
        blocks.removeLast()
        bytesAllocated -= block.bytes
        release(block)
    }

    private func release(_ block: (base: UnsafeMutableRawPointer, zeroedBytes: Int, bytes: Int)) {
        if block.zeroedBytes > 0 { cuohe_free_zeroed(block.base, block.zeroedBytes) } else { cuohe_free(block.base) }
    }

    deinit {
        for block in blocks { release(block) }
    }
}

/// A fixed-length, bounds-checked view of storage owned by an `Arena`. Copies are views of the same
/// storage (reference semantics without reference counting).
public struct FixedArray<Element: BitwiseCopyable>: @unchecked Sendable, BitwiseCopyable {
    @usableFromInline let base: UnsafeMutablePointer<Element>
    public let count: Int

    init(base: UnsafeMutablePointer<Element>, count: Int) {
        self.base = base
        self.count = count
    }

    @inlinable public subscript(index: Int) -> Element {
        unsafeAddress {
            precondition(UInt(bitPattern: index) < UInt(bitPattern: count), "FixedArray index out of range")
            return UnsafePointer(base + index)
        }
        nonmutating unsafeMutableAddress {
            precondition(UInt(bitPattern: index) < UInt(bitPattern: count), "FixedArray index out of range")
            return base + index
        }
    }

    @inlinable public subscript(index: Int32) -> Element {
        unsafeAddress {
            precondition(UInt(bitPattern: Int(index)) < UInt(bitPattern: count), "FixedArray index out of range")
            return UnsafePointer(base + Int(index))
        }
        nonmutating unsafeMutableAddress {
            precondition(UInt(bitPattern: Int(index)) < UInt(bitPattern: count), "FixedArray index out of range")
            return base + Int(index)
        }
    }

    /// The address of element `index`, for in-place updates of one field.
    @inlinable public func pointer(_ index: Int32) -> UnsafeMutablePointer<Element> {
        precondition(UInt(bitPattern: Int(index)) < UInt(bitPattern: count), "FixedArray index out of range")
        return base + Int(index)
    }

    /// Sets every element to `value`.
    public func fill(with value: Element) {
        base.update(repeating: value, count: count)
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

    /// Appends an event of `kind` (every other field at its default) and lets `body` set its
    /// fields where it lies, so the matching path neither builds a 128-byte event on the stack
    /// nor copies it in.
    @inline(__always)
    mutating func append(_ kind: EventKind, broker: Int32, ts: Int64, _ body: (inout Event) -> Void) {
        if count == capacity { grow() }
        let slot = base + count
        slot.initialize(to: Event(kind: kind, broker: broker, ts: ts))
        body(&slot.pointee)
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
