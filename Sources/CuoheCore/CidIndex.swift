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
///
/// 56 bytes: the cid, and three words of packed fields, each within its bound (`Bounds`, the
/// broker count). A live order's price and filled quantity are its slot's, so the record keeps
/// the slot where a finished order keeps them:
/// - `head`: oid (bits 0–47) and broker (48–63, two's complement);
/// - `sizes`: qty (0–39), the price's high 21 bits (40–60) and the state (61–63);
/// - `tail`: live, the slot (0–31, two's complement); finished, cum (0–39) and the price's low
///   24 bits (40–63).
public struct CidRecord: Sendable, BitwiseCopyable {
    public var cid: ClientOrderID
    @usableFromInline var head: UInt64
    @usableFromInline var sizes: UInt64
    @usableFromInline var tail: UInt64

    /// The widest oid a record holds (2.8 × 10^14: 77,000 years of 10 M orders a day).
    public static let oidMax: Int64 = (1 << 48) - 1
    @usableFromInline static let forty: UInt64 = (1 << 40) - 1

    /// A record; a live one (`.live`) keeps `slot` and drops `price` and `cum`, any other keeps
    /// them. Each value must be within its bound.
    @inline(__always)
    public init(cid: ClientOrderID, oid: Int64, qty: Int64, price: Int64, cum: Int64, broker: Int32, slot: Int32,
                state: CidState) {
        assert(oid >= 0 && oid <= CidRecord.oidMax && qty >= 0 && qty <= Bounds.quantityMax && cum >= 0 && cum <= qty
               && price >= 0 && price <= Bounds.priceMax && broker >= -1 && broker <= Int32(Int16.max), "cid record field out of bounds")
        self.cid = cid
        head = UInt64(oid) | UInt64(UInt16(truncatingIfNeeded: broker)) << 48
        sizes = 0
        tail = 0
        if state == .live {
            sizes = UInt64(qty) | UInt64(state.rawValue) << 61
            tail = UInt64(UInt32(bitPattern: slot))
        } else {
            set(state, qty: qty, cum: cum, price: price)
        }
    }

    /// The order is done: its final state and quantities; it has no slot any more.
    @inline(__always)
    public mutating func end(_ state: CidState, qty: Int64, cum: Int64, price: Int64) {
        assert(state != .live && qty >= 0 && qty <= Bounds.quantityMax && cum >= 0 && cum <= qty && price >= 0
               && price <= Bounds.priceMax, "cid record end out of bounds")
        set(state, qty: qty, cum: cum, price: price)
    }

    @inline(__always)
    mutating func set(_ state: CidState, qty: Int64, cum: Int64, price: Int64) {
        let p = UInt64(price)
        sizes = UInt64(qty) | (p >> 24) << 40 | UInt64(state.rawValue) << 61
        tail = UInt64(cum) | (p & 0xFF_FFFF) << 40
    }

    public var oid: Int64 { Int64(head & UInt64(CidRecord.oidMax)) }
    public var broker: Int32 { Int32(Int16(truncatingIfNeeded: head >> 48)) }
    /// One shift: the top three bits only ever hold a state's raw value (the two writers above).
    public var state: CidState { unsafeBitCast(UInt8(truncatingIfNeeded: sizes >> 61), to: CidState.self) }
    public var qty: Int64 { Int64(sizes & CidRecord.forty) }
    /// A finished order's price (a live order's is its slot's: 0 here).
    public var price: Int64 { state == .live ? 0 : Int64((sizes >> 40 & 0x1F_FFFF) << 24 | tail >> 40) }
    /// A finished order's filled quantity (a live order's is its slot's: 0 here).
    public var cum: Int64 { state == .live ? 0 : Int64(tail & CidRecord.forty) }
    /// The live order's slot in the `OrderStore`, or -1; set only while the order is live.
    public var slot: Int32 {
        get { state == .live ? Int32(truncatingIfNeeded: tail) : -1 }
        set {
            assert(state == .live, "a slot for an order that is done")
            tail = UInt64(UInt32(bitPattern: newValue))
        }
    }

    static let empty = CidRecord(cid: .none, oid: 0, qty: 0, price: 0, cum: 0, broker: -1, slot: -1, state: .rejected)
}

/// Every cid each broker used this trading day, for duplicate detection and lookup by cid: an
/// open-addressing hash table (linear probing, at most half full) of 4-byte entries pointing into
/// an append-only record array. Entries are never deleted during a day; `ROLL` rebuilds it.
///
/// 64 bytes a cid of the day at any capacity: a 56-byte record and two 4-byte entries (the table
/// is exactly twice the capacity, a hash mapped onto it by a multiply, not a mask, so no
/// rounding up to a power of two).
public struct CidIndex: Sendable, BitwiseCopyable {
    /// Entry: high 8 bits a fingerprint of the hash, low 24 bits the record index + 1; 0 is empty.
    @usableFromInline var table: FixedArray<UInt32>
    @usableFromInline let size: Int
    @usableFromInline var records: FixedArray<CidRecord>
    public private(set) var count: Int32 = 0

    public var capacity: Int { records.count }

    /// The most cids a day an index holds: its entries keep a record's index + 1 in 24 bits.
    public static let capacityMax = (1 << 24) - 2

    /// How many records ahead an insert starts loading the record slot it will write.
    static let insertPrefetchDistance = 8
    public var isFull: Bool { Int(count) >= records.count }

    /// An index for at most `capacity` cids a day.
    public init(capacity: Int, arena: Arena) {
        precondition(capacity > 0 && capacity <= CidIndex.capacityMax,
                     "cids a day must be 1 to \(CidIndex.capacityMax); got \(capacity)")
        size = CidIndex.tableSize(capacity: capacity)
        table = arena.makeZeroed(count: size)
        records = arena.makeZeroed(count: capacity)
    }

    /// Table entries for `capacity` cids: twice it (at most half full), 16 at least.
    static func tableSize(capacity: Int) -> Int { max(16, 2 * capacity) }

    /// Where a lookup of `hash` starts: its low 32 bits scaled onto the table.
    @inline(__always)
    func start(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: ((hash & 0xFFFF_FFFF) &* UInt64(size)) >> 32) }

    /// Where a lookup ended: the record found, or the table position to insert at.
    public struct Probe: Sendable {
        public var record: Int32
        @usableFromInline var position: Int
        @usableFromInline var fingerprint: UInt32
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
        let fingerprint = UInt32(truncatingIfNeeded: hash >> 56)
        var position = start(hash)
        while true {
            let entry = table[position]
            if entry == 0 { return Probe(record: -1, position: position, fingerprint: fingerprint) }
            if entry >> 24 == fingerprint {
                let record = Int32(bitPattern: entry & 0xFF_FFFF) - 1
                if records[record].cid == cid && records[record].broker == broker {
                    return Probe(record: record, position: position, fingerprint: fingerprint)
                }
            }
            position += 1
            if position == size { position = 0 }
        }
    }

    /// Starts loading the table entry for a lookup with `hash` (the first cache miss of a lookup).
    @inline(__always)
    public func prefetchEntry(hash: UInt64) {
        cuohe_prefetch(table.base + start(hash))
    }

    /// Starts loading the record the table entry points at (the second miss), once the entry
    /// itself is cached: only the first probe position is looked at.
    @inline(__always)
    public func prefetchRecord(hash: UInt64) {
        let entry = table[start(hash)]
        guard entry != 0, UInt64(entry >> 24) == hash >> 56 else { return }
        let record = Int(entry & 0xFF_FFFF) - 1
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
        table[probe.position] = probe.fingerprint << 24 | UInt32(index + 1)
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
