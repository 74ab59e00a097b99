import CuoheSys

/// What became of the order a cid named.
public enum CidState: UInt8, Sendable, BitwiseCopyable {
    /// The order is live in the book (`slot` points at it).
    case live = 0
    case filled
    case canceled
    /// The `NEW` was rejected: the cid is used up but names no order.
    case rejected
    /// The order was replaced and now answers to another cid.
    case replaced
}

/// The day's record of one cid: enough to answer `DUPLICATE_CID`, and `STATUS` after the order
/// is gone from the book.
public struct CidRecord: Sendable, BitwiseCopyable {
    public var cid: ClientOrderID
    public var oid: Int64
    /// Final values once the order is done (live orders are read from their slot).
    public var qty: Int64
    public var price: Int64
    public var cum: Int64
    public var broker: Int32
    /// The live order's slot in the `OrderStore`, or -1.
    public var slot: Int32
    public var state: CidState

    static let empty = CidRecord(cid: .none, oid: 0, qty: 0, price: 0, cum: 0, broker: -1, slot: -1, state: .rejected)
}

/// Every cid each broker used this trading day, for duplicate detection and lookup by cid: an
/// open-addressing hash table (linear probing, at most half full) of 8-byte entries pointing into
/// an append-only record array. Entries are never deleted during a day; `ROLL` rebuilds it.
public struct CidIndex: Sendable, BitwiseCopyable {
    /// Entry: high 32 bits a fingerprint of the hash, low 32 bits the record index + 1; 0 is empty.
    @usableFromInline var table: FixedArray<UInt64>
    @usableFromInline let mask: Int
    @usableFromInline var records: FixedArray<CidRecord>
    public private(set) var count: Int32 = 0

    public var capacity: Int { records.count }

    /// How many records ahead an insert starts loading the record slot it will write.
    static let insertPrefetchDistance = 8
    public var isFull: Bool { Int(count) >= records.count }

    /// An index for at most `capacity` cids a day.
    public init(capacity: Int, arena: Arena) {
        precondition(capacity > 0 && capacity < Int(Int32.max) / 2, "cid capacity out of range")
        let size = CidIndex.tableSize(capacity: capacity)
        table = arena.makeZeroed(count: size)
        mask = size - 1
        records = arena.makeZeroed(count: capacity)
    }

    /// Table entries for `capacity` cids: a power of two at least twice it (at most half full).
    static func tableSize(capacity: Int) -> Int {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        return size
    }

    /// Where a lookup ended: the record found, or the table position to insert at.
    public struct Probe: Sendable {
        public var record: Int32
        @usableFromInline var position: Int
        @usableFromInline var fingerprint: UInt64
    }

    /// The hash a lookup of `(broker, cid)` starts from.
    @inline(__always)
    public static func hash(broker: Int32, cid: ClientOrderID) -> UInt64 {
        cid.hash64(salt: UInt64(UInt32(bitPattern: broker)) &+ 1)
    }

    /// Finds `(broker, cid)`; `record` is -1 when absent.
    public func find(broker: Int32, cid: ClientOrderID) -> Probe {
        find(broker: broker, cid: cid, hash: CidIndex.hash(broker: broker, cid: cid))
    }

    /// Finds `(broker, cid)` given its `hash` (from `hash(broker:cid:)`, computed once when the
    /// batch loop prefetched the entry); `record` is -1 when absent.
    @inline(__always)
    public func find(broker: Int32, cid: ClientOrderID, hash: UInt64) -> Probe {
        let fingerprint = hash >> 32
        var position = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = table[position]
            if entry == 0 { return Probe(record: -1, position: position, fingerprint: fingerprint) }
            if entry >> 32 == fingerprint {
                let record = Int32(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
                if records[record].cid == cid && records[record].broker == broker {
                    return Probe(record: record, position: position, fingerprint: fingerprint)
                }
            }
            position = (position + 1) & mask
        }
    }

    /// Starts loading the table entry for a lookup with `hash` (the first cache miss of a lookup).
    @inline(__always)
    public func prefetchEntry(hash: UInt64) {
        cuohe_prefetch(table.base + (Int(truncatingIfNeeded: hash) & mask))
    }

    /// Starts loading the record the table entry points at (the second miss), once the entry
    /// itself is cached: only the first probe position is looked at.
    @inline(__always)
    public func prefetchRecord(hash: UInt64) {
        let entry = table[Int(truncatingIfNeeded: hash) & mask]
        guard entry != 0, entry >> 32 == hash >> 32 else { return }
        let record = Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
        if record < records.count { cuohe_prefetch(records.base + record) }
    }

    /// Adds a record where `probe` (a miss, with no insertion since) said; returns its index.
    @inline(__always)
    public mutating func insert(_ record: CidRecord, at probe: Probe) -> Int32 {
        precondition(probe.record < 0 && !isFull, "cid insert on a hit or a full index")
        let index = count
        records[index] = record
        // Records are appended in order: start loading the lines a few inserts ahead for writing,
        // so the append does not wait on memory untouched since start-up.
        if Int(index) + CidIndex.insertPrefetchDistance < records.count {
            cuohe_prefetch_write(records.base + Int(index) + CidIndex.insertPrefetchDistance)
        }
        table[probe.position] = (probe.fingerprint << 32) | UInt64(index + 1)
        count += 1
        return index
    }

    public subscript(record: Int32) -> CidRecord {
        unsafeAddress {
            precondition(record >= 0 && record < count, "cid record out of range")
            return UnsafePointer(records.base + Int(record))
        }
        nonmutating unsafeMutableAddress {
            precondition(record >= 0 && record < count, "cid record out of range")
            return records.base + Int(record)
        }
    }

    /// Forgets every cid (a new trading day).
    public mutating func removeAll() {
        table.fill(with: 0)
        count = 0
    }
}
