/// One instrument's limit order book: a price level per tick across the day's price band on each
/// side, so a level is found by arithmetic in O(1); a bitset per side finds the next non-empty
/// level when the best one empties; the best bid and ask are kept incrementally.
///
/// The book links and unlinks orders that live in the shared `OrderStore`; it never allocates on
/// the matching path (only `rebase`, at the start of a trading day, allocates).
public struct OrderBook: Sendable, BitwiseCopyable {
    /// The price of level 0.
    public private(set) var lowPrice: Int64
    public private(set) var tick: Int64
    public private(set) var levelCount: Int32
    @usableFromInline var bids: FixedArray<PriceLevel>
    @usableFromInline var asks: FixedArray<PriceLevel>
    @usableFromInline var bidBits: FixedArray<UInt64>
    @usableFromInline var askBits: FixedArray<UInt64>
    /// The highest non-empty bid level, or -1.
    public private(set) var bestBid: Int32 = -1
    /// The lowest non-empty ask level, or -1.
    public private(set) var bestAsk: Int32 = -1
    /// The level sums a call auction's indicative price is found from, kept only while `active`.
    public internal(set) var auction: AuctionIndex

    /// A book covering `lowPrice ... highPrice` in steps of `tick`.
    public init(lowPrice: Int64, highPrice: Int64, tick: Int64, arena: Arena) {
        precondition(tick > 0 && lowPrice > 0 && highPrice >= lowPrice, "bad book range")
        precondition((highPrice - lowPrice) % tick == 0, "book range not on the tick")
        let count = Int((highPrice - lowPrice) / tick) + 1
        precondition(count < Int(Int32.max), "book range too wide")
        self.lowPrice = lowPrice
        self.tick = tick
        self.levelCount = Int32(count)
        bids = arena.make(count: count, repeating: .empty)
        asks = arena.make(count: count, repeating: .empty)
        bidBits = arena.make(count: (count + 63) / 64, repeating: 0)
        askBits = arena.make(count: (count + 63) / 64, repeating: 0)
        auction = AuctionIndex(levels: count, arena: arena)
    }

    public var highPrice: Int64 { lowPrice + Int64(levelCount - 1) * tick }

    public func contains(price: Int64) -> Bool {
        price >= lowPrice && price <= lowPrice + Int64(levelCount - 1) * tick
    }

    public func level(of price: Int64) -> Int32 { Int32((price - lowPrice) / tick) }

    public func price(ofLevel level: Int32) -> Int64 { lowPrice + Int64(level) * tick }

    func levels(_ side: Side) -> FixedArray<PriceLevel> { side == .buy ? bids : asks }

    /// The level at `index` on `side` (read-only view for queries and checks).
    public func level(_ side: Side, _ index: Int32) -> PriceLevel { levels(side)[index] }

    public var bestBidPrice: Int64? { bestBid >= 0 ? price(ofLevel: bestBid) : nil }
    public var bestAskPrice: Int64? { bestAsk >= 0 ? price(ofLevel: bestAsk) : nil }

    /// The best level on `side`, or -1.
    public func best(_ side: Side) -> Int32 { side == .buy ? bestBid : bestAsk }

    // MARK: - Linking orders

    /// Appends the order in `slot` to the back of its price level (it loses or never had priority).
    public mutating func append(_ slot: Int32, store: inout OrderStore) {
        // A local view: the slots do not move, and reading through it spares a reload of the
        // store's base after every write.
        let orders = store.slots
        let side = orders[slot].side
        let index = level(of: orders[slot].price)
        let levels = self.levels(side)
        let tail = levels[index].tail
        orders[slot].prev = tail
        orders[slot].next = -1
        orders[slot].level = index
        if tail >= 0 {
            orders[tail].next = slot
        } else {
            levels[index].head = slot
            setBit(side, index)
            if side == .buy {
                if index > bestBid { bestBid = index }
            } else if bestAsk < 0 || index < bestAsk {
                bestAsk = index
            }
        }
        levels[index].tail = slot
        levels[index].orderCount += 1
        levels[index].qty += orders[slot].leaves
        if auction.active { auction.add(side, level: index, orders[slot].leaves) }
    }

    /// Unlinks the order in `slot` from its level; its `leaves` must still be counted in the level.
    public mutating func remove(_ slot: Int32, store: inout OrderStore) {
        let orders = store.slots
        let side = orders[slot].side
        let index = orders[slot].level
        assert(index == level(of: orders[slot].price), "stored level disagrees with the price")
        let levels = self.levels(side)
        let prev = orders[slot].prev
        let next = orders[slot].next
        if prev >= 0 { orders[prev].next = next } else { levels[index].head = next }
        if next >= 0 { orders[next].prev = prev } else { levels[index].tail = prev }
        orders[slot].prev = -1
        orders[slot].next = -1
        levels[index].orderCount -= 1
        levels[index].qty -= orders[slot].leaves
        if auction.active { auction.add(side, level: index, -orders[slot].leaves) }
        if levels[index].head < 0 { levelEmptied(side, index) }
    }

    /// Unlinks the first order of a level, just filled to nothing by a taker, whose successor is
    /// `next`: the matching loop's removal. It skips what `remove` does in general: the order has
    /// no predecessor, no quantity left in the level, and matching never runs in an auction. Its
    /// own links are left for `OrderStore.free`, which rewrites them.
    @inline(__always)
    public mutating func removeFilledHead(_ side: Side, level index: Int32, next: Int32, store: inout OrderStore) {
        assert(!auction.active, "matching in an auction")
        let levels = self.levels(side)
        levels[index].head = next
        levels[index].orderCount -= 1
        if next >= 0 {
            store.slots[next].prev = -1
        } else {
            levels[index].tail = -1
            levelEmptied(side, index)
        }
    }

    /// Records that `qty` of a resting order at `index` traded or was reduced in place.
    public mutating func reduce(_ side: Side, level index: Int32, by qty: Int64) {
        levels(side)[index].qty -= qty
        if auction.active { auction.add(side, level: index, -qty) }
    }

    mutating func levelEmptied(_ side: Side, _ index: Int32) {
        clearBit(side, index)
        if side == .buy {
            if index == bestBid { bestBid = nextLevel(.buy, after: index) }
        } else if index == bestAsk {
            bestAsk = nextLevel(.sell, after: index)
        }
    }

    /// The next non-empty level on `side` after `index`, going away from the best (down for
    /// bids, up for asks), or -1.
    @inline(__always)
    public func nextLevel(_ side: Side, after index: Int32) -> Int32 {
        side == .buy ? highestSet(bidBits, atOrBelow: index - 1) : lowestSet(askBits, atOrAbove: index + 1)
    }

    // MARK: - Bitsets

    func setBit(_ side: Side, _ index: Int32) {
        let bits = side == .buy ? bidBits : askBits
        bits[Int(index >> 6)] |= UInt64(1) << UInt64(index & 63)
    }

    func clearBit(_ side: Side, _ index: Int32) {
        let bits = side == .buy ? bidBits : askBits
        bits[Int(index >> 6)] &= ~(UInt64(1) << UInt64(index & 63))
    }

    func highestSet(_ bits: FixedArray<UInt64>, atOrBelow index: Int32) -> Int32 {
        if index < 0 { return -1 }
        var word = Int(index >> 6)
        var w = bits[word] & (UInt64.max >> UInt64(63 - (index & 63)))
        while true {
            if w != 0 { return Int32(word * 64 + 63 - w.leadingZeroBitCount) }
            word -= 1
            if word < 0 { return -1 }
            w = bits[word]
        }
    }

    func lowestSet(_ bits: FixedArray<UInt64>, atOrAbove index: Int32) -> Int32 {
        if index >= levelCount { return -1 }
        var word = Int(index >> 6)
        var w = bits[word] & (UInt64.max << UInt64(index & 63))
        while true {
            if w != 0 { return Int32(word * 64 + w.trailingZeroBitCount) }
            word += 1
            if word >= bits.count { return -1 }
            w = bits[word]
        }
    }

    // MARK: - Whole-book operations (not on the matching path)

    /// Moves the book to a new price range (a new trading day's band). Every resting order must
    /// already lie inside the new range. Allocates.
    public mutating func rebase(lowPrice newLow: Int64, highPrice newHigh: Int64, store: inout OrderStore,
                                arena: Arena) {
        if newLow == lowPrice && newHigh == highPrice { return }
        var resting: [Int32] = []
        for side in [Side.buy, Side.sell] {
            forEachOrder(side, store: store) { resting.append($0) }
        }
        var fresh = OrderBook(lowPrice: newLow, highPrice: newHigh, tick: tick, arena: arena)
        // Re-appending in priority order (side by side, best level first, FIFO within) keeps time
        // priority exactly.
        for slot in resting {
            precondition(fresh.contains(price: store[slot].price), "rebase would drop a resting order")
            fresh.append(slot, store: &store)
        }
        if auction.active { fresh.activateAuctionIndex() }
        free(in: arena)
        self = fresh
    }

    /// Returns the book's storage to `arena`; the book must not be used afterwards.
    public func free(in arena: Arena) {
        arena.free(bids)
        arena.free(asks)
        arena.free(bidBits)
        arena.free(askBits)
        auction.free(in: arena)
    }

    /// The bytes a book of `ticks` price levels takes (both sides, their levels and bitsets).
    public static func bytes(ticks: Int64) -> Int {
        let count = Int(ticks)
        return 2 * Arena.bytes(count, of: PriceLevel.self) + 2 * Arena.bytes((count + 63) / 64, of: UInt64.self)
            + AuctionIndex.bytes(levels: count)
    }

    /// Visits every order on `side` in priority order: best level first, oldest first within it.
    public func forEachOrder(_ side: Side, store: OrderStore, _ body: (Int32) -> Void) {
        let levels = self.levels(side)
        var index = best(side)
        while index >= 0 {
            var slot = levels[index].head
            while slot >= 0 {
                // Read the link before the visit, so the body may unlink the order.
                let next = store[slot].next
                body(slot)
                slot = next
            }
            index = nextLevel(side, after: index)
        }
    }
}
