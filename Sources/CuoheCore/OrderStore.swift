/// One resting order. Everything the matching loop reads about a maker sits in this one record
/// (112 bytes, within two cache lines), so a fill touches one place.
public struct RestingOrder: Sendable, BitwiseCopyable {
    public var cid: ClientOrderID
    public var oid: Int64
    public var price: Int64
    /// The order's total quantity (changed by `REPLACE`).
    public var qty: Int64
    /// What is still open: `qty - leaves` has filled.
    public var leaves: Int64
    /// The next order in the same price level (time priority), or -1; also the free-list link.
    public var next: Int32
    /// The previous order in the same price level, or -1.
    public var prev: Int32
    public var account: Int32
    public var broker: Int32
    public var instrument: Int32
    /// The order's entry in the day's cid index.
    public var cidRecord: Int32
    /// The order's price level in its book, kept by the book (saves a division per unlink).
    public var level: Int32
    public var side: Side
    public var tif: TimeInForce
    /// The book, or a negotiated quote or waiting cross (which use `next`/`prev` for their
    /// instrument's negotiated list and, for a cross, `level` for its place in the cross table).
    public var kind: OrderKind = .book
    /// A buy's cash still frozen (its value and fee not yet paid by fills); 0 for a sell.
    public var frozen: Int64
    /// The account's line in the shareholder register for this instrument.
    public var position: Int32

    public var cum: Int64 { qty - leaves }

    public init(cid: ClientOrderID, oid: Int64, price: Int64, qty: Int64, leaves: Int64, next: Int32, prev: Int32,
                account: Int32, broker: Int32, instrument: Int32, cidRecord: Int32, level: Int32, side: Side,
                tif: TimeInForce, frozen: Int64, position: Int32) {
        self.cid = cid
        self.oid = oid
        self.price = price
        self.qty = qty
        self.leaves = leaves
        self.next = next
        self.prev = prev
        self.account = account
        self.broker = broker
        self.instrument = instrument
        self.cidRecord = cidRecord
        self.level = level
        self.side = side
        self.tif = tif
        self.frozen = frozen
        self.position = position
        self.kind = .book
    }

    static let empty = RestingOrder(cid: .none, oid: 0, price: 0, qty: 0, leaves: 0, next: -1, prev: -1,
                                    account: -1, broker: -1, instrument: -1, cidRecord: -1, level: -1, side: .buy,
                                    tif: .day, frozen: 0, position: -1)
}

/// Preallocated storage for live orders, addressed by integer slot. Slots are recycled through a
/// free list threaded through `next`, so placing and removing an order allocates nothing.
public struct OrderStore: Sendable, BitwiseCopyable {
    @usableFromInline var slots: FixedArray<RestingOrder>
    /// Slots freed since start, linked through `next`; -1 when none.
    @usableFromInline var freeHead: Int32 = -1
    /// Slots at or above this were never used (still untouched zero pages).
    @usableFromInline var highWater: Int32 = 0
    public private(set) var liveCount: Int = 0

    public var capacity: Int { slots.count }

    public init(capacity: Int, arena: Arena) {
        precondition(capacity > 0 && capacity < Int(Int32.max), "order capacity out of range")
        slots = arena.makeZeroed(count: capacity)
    }

    public var isFull: Bool { freeHead < 0 && Int(highWater) >= slots.count }

    /// Takes a free slot for `order` (a recycled one first); the caller checked `isFull` first.
    @inline(__always)
    public mutating func allocate(_ order: RestingOrder) -> Int32 {
        let slot: Int32
        if freeHead >= 0 {
            slot = freeHead
            freeHead = slots[slot].next
        } else {
            precondition(Int(highWater) < slots.count, "order store full")
            slot = highWater
            highWater += 1
        }
        slots[slot] = order
        liveCount += 1
        return slot
    }

    public mutating func free(_ slot: Int32) {
        slots[slot].oid = 0
        slots[slot].leaves = 0
        slots[slot].prev = -1
        slots[slot].next = freeHead
        freeHead = slot
        liveCount -= 1
    }

    public subscript(slot: Int32) -> RestingOrder {
        unsafeAddress {
            precondition(slot >= 0 && Int(slot) < slots.count, "order slot out of range")
            return UnsafePointer(slots.base + Int(slot))
        }
        nonmutating unsafeMutableAddress {
            precondition(slot >= 0 && Int(slot) < slots.count, "order slot out of range")
            return slots.base + Int(slot)
        }
    }
}
