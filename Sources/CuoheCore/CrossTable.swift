/// The crosses waiting for their counterparty's side, found by (broker, ref) in O(1): an
/// open-addressing table (linear probing, at most half full) in storage allocated once, with no
/// `Dictionary` or `String` on the path. A broker has at most one waiting cross per ref, so
/// (broker, ref) names it; its counterparty's side looks it up under (cp, ref) and checks that it
/// names the sender back.
///
/// Deletion shifts the entries after it back (no tombstones, so a table that turns over all day
/// never fills with them); a moved entry tells its order where it now is (`RestingOrder.level`),
/// so a cancel finds its entry without a lookup.
public struct CrossTable: Sendable, BitwiseCopyable {
    public struct Entry: Sendable, BitwiseCopyable {
        /// The ref's bytes, packed like a cid's first two words (a ref is at most 16 bytes).
        public var ref0: UInt64
        public var ref1: UInt64
        /// The broker that sent the waiting side, and the one it named as `cp`.
        public var broker: Int32
        public var counterBroker: Int32
        /// The waiting order's slot in the `OrderStore`; -1 marks an empty entry.
        public var slot: Int32
    }

    @usableFromInline var entries: FixedArray<Entry>
    @usableFromInline let mask: Int
    public let capacity: Int
    public private(set) var count = 0

    public var isFull: Bool { count >= capacity }

    static let empty = Entry(ref0: 0, ref1: 0, broker: -1, counterBroker: -1, slot: -1)

    public init(capacity: Int, arena: Arena) {
        precondition(capacity > 0 && capacity < Int(Int32.max) / 2, "cross capacity out of range")
        self.capacity = capacity
        let size = CrossTable.tableSize(capacity: capacity)
        entries = arena.make(count: size, repeating: CrossTable.empty)
        mask = size - 1
    }

    /// A power of two at least twice `capacity`.
    static func tableSize(capacity: Int) -> Int {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        return size
    }

    @inline(__always)
    static func home(broker: Int32, ref: ClientOrderID, mask: Int) -> Int {
        Int(truncatingIfNeeded: ref.hash64(salt: UInt64(UInt32(bitPattern: broker)) &+ 0x5151)) & mask
    }

    /// The position of `broker`'s waiting cross with `ref`, or -1.
    public func find(broker: Int32, ref: ClientOrderID) -> Int {
        var position = CrossTable.home(broker: broker, ref: ref, mask: mask)
        while true {
            let e = entries[position]
            if e.slot < 0 { return -1 }
            if e.broker == broker && e.ref0 == ref.w0 && e.ref1 == ref.w1 { return position }
            position = (position + 1) & mask
        }
    }

    public subscript(position: Int) -> Entry { entries[position] }

    /// Adds a waiting cross (the caller checked `isFull` and that `find` misses); returns its
    /// position.
    public mutating func insert(broker: Int32, ref: ClientOrderID, counterBroker: Int32, slot: Int32) -> Int {
        precondition(!isFull && slot >= 0, "cross table full")
        var position = CrossTable.home(broker: broker, ref: ref, mask: mask)
        while entries[position].slot >= 0 { position = (position + 1) & mask }
        entries[position] = Entry(ref0: ref.w0, ref1: ref.w1, broker: broker, counterBroker: counterBroker, slot: slot)
        count += 1
        return position
    }

    /// Removes the entry at `position`, moving back each later entry of the run that may take
    /// its place; `moved` is told each moved entry's order slot and new position.
    public mutating func remove(at position: Int, moved: (Int32, Int) -> Void) {
        precondition(entries[position].slot >= 0, "no cross there")
        var hole = position
        var next = (hole + 1) & mask
        while entries[next].slot >= 0 {
            let e = entries[next]
            let home = CrossTable.home(broker: e.broker, ref: ClientOrderID(w0: e.ref0, w1: e.ref1, w2: 0, w3: 0),
                                       mask: mask)
            // The entry may fill the hole unless its home lies (cyclically) after the hole, up to it.
            let fromHome = (next - home) & mask
            let fromHole = (next - hole) & mask
            if fromHome >= fromHole {
                entries[hole] = e
                moved(e.slot, hole)
                hole = next
            }
            next = (next + 1) & mask
        }
        entries[hole] = CrossTable.empty
        count -= 1
    }
}

/// The day's quotes by oid, for `ACCEPT`: an append-only list of (oid, cid record) and an
/// open-addressing table over it (linear probing, at most half full). A finished quote stays, so
/// an `ACCEPT` of it gets `ORDER_DONE`; `ROLL` (when every quote has expired) forgets them all.
public struct QuoteIndex: Sendable, BitwiseCopyable {
    public struct Entry: Sendable, BitwiseCopyable {
        public var oid: Int64
        /// The quote's cid record: its state and, while live, its slot.
        public var record: Int32
    }

    /// Entry index + 1 per table position; 0 is empty.
    @usableFromInline var table: FixedArray<Int32>
    @usableFromInline var list: FixedArray<Entry>
    @usableFromInline let mask: Int
    public private(set) var count: Int32 = 0

    public var capacity: Int { list.count }
    public var isFull: Bool { Int(count) >= list.count }

    public init(capacity: Int, arena: Arena) {
        precondition(capacity > 0 && capacity < Int(Int32.max) / 2, "quote capacity out of range")
        let size = CrossTable.tableSize(capacity: capacity)
        table = arena.makeZeroed(count: size)
        list = arena.makeZeroed(count: capacity)
        mask = size - 1
    }

    @inline(__always)
    static func home(_ oid: Int64, mask: Int) -> Int {
        var h = UInt64(bitPattern: oid) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The cid record of the day's quote `oid`, or -1.
    public func record(oid: Int64) -> Int32 {
        var position = QuoteIndex.home(oid, mask: mask)
        while true {
            let e = table[position]
            if e == 0 { return -1 }
            if list[e - 1].oid == oid { return list[e - 1].record }
            position = (position + 1) & mask
        }
    }

    /// Remembers quote `oid` (new today; the caller checked `isFull`).
    public mutating func insert(oid: Int64, record: Int32) {
        precondition(!isFull, "quote index full")
        var position = QuoteIndex.home(oid, mask: mask)
        while table[position] != 0 { position = (position + 1) & mask }
        list[count] = Entry(oid: oid, record: record)
        count += 1
        table[position] = count
    }

    /// The `n`th quote posted today.
    public subscript(n: Int32) -> Entry { list[n] }

    /// Forgets the day's quotes.
    public mutating func removeAll() {
        if count > 0 { table.fill(with: 0) }
        count = 0
    }
}
