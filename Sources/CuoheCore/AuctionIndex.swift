/// What a call auction's uncross would do now: its one price and the volume that trades at it.
public struct Indicative: Sendable, Equatable, BitwiseCopyable {
    public var price: Int64
    public var volume: Int64

    public init(price: Int64, volume: Int64) {
        self.price = price
        self.volume = volume
    }
}

/// Two Fenwick trees over a book's price levels, kept while the book collects a call auction, so
/// the indicative uncross is found in O(log levels) after every change instead of by a walk over
/// the band.
///
/// With `bid[i]`, `ask[i]` the quantity at level `i`, the demand at level `i` is
/// `D(i) = Σ_{j≥i} bid[j]` and the supply `S(i) = Σ_{j≤i} ask[j]`. `D − S` only falls as `i`
/// rises, so the levels split into those where demand covers supply and those where it does not;
/// the uncross lies at that boundary. `c[i] = bid[i−1] + ask[i]` has the prefix sum
/// `H(i) = Σ_{j<i} bid[j] + S(i) = totalBid − D(i) + S(i)`, so the boundary is the last level with
/// `H(i) ≤ totalBid`: one descent of the tree over `c`. The tree over `bid` gives `D` and `S`
/// there.
public struct AuctionIndex: Sendable, BitwiseCopyable {
    /// Both trees interleaved, 1-based: entry `k` of the tree over `c` at `2k`, of the tree over
    /// the bids at `2k + 1` (each covers levels `k − lowbit(k) ..< k`); slot 0 holds the total bid
    /// quantity. One array keeps the book small: the matcher copies a book's header on every order.
    var trees: FixedArray<Int64>
    /// True while the trees follow the book (the instrument is collecting an auction).
    public internal(set) var active = false

    init(levels: Int, arena: Arena) {
        trees = arena.makeZeroed(count: 2 * (levels + 1))
    }

    /// The price levels the trees cover.
    var count: Int { trees.count / 2 - 1 }

    public var totalBid: Int64 { trees[0] }

    /// The bytes the trees of a book of `levels` price levels take.
    static func bytes(levels: Int) -> Int { Arena.bytes(2 * (levels + 1), of: Int64.self) }

    func free(in arena: Arena) { arena.free(trees) }

    /// Adds `delta` at `level` to the tree whose entries sit at `2k + lane`.
    @inline(__always)
    func add(lane: Int, _ level: Int, _ delta: Int64) {
        let n = count
        var k = level + 1
        while k <= n {
            trees[2 * k + lane] += delta
            k += k & -k
        }
    }

    /// `Σ_{j≤level}` of one tree's values; 0 for level -1.
    @inline(__always)
    func prefix(lane: Int, _ level: Int) -> Int64 {
        var sum: Int64 = 0
        var k = level + 1
        while k > 0 {
            sum += trees[2 * k + lane]
            k -= k & -k
        }
        return sum
    }

    /// `delta` shares more (or fewer) at `level` on `side`.
    @inline(__always)
    func add(_ side: Side, level: Int32, _ delta: Int64) {
        let i = Int(level)
        if side == .buy {
            add(lane: 1, i, delta)
            if i + 1 < count { add(lane: 0, i + 1, delta) }
            trees[0] += delta
        } else {
            add(lane: 0, i, delta)
        }
    }

    /// Starts following a book whose level quantities are `bids` and `asks`: a linear build.
    mutating func build(bids: FixedArray<PriceLevel>, asks: FixedArray<PriceLevel>) {
        let n = count
        var total: Int64 = 0
        for k in 1...n {
            let i = k - 1
            trees[2 * k + 1] = bids[i].qty
            trees[2 * k] = asks[i].qty + (i > 0 ? bids[i - 1].qty : 0)
            total += bids[i].qty
        }
        // Each entry passes its sum up to its parent: O(levels).
        for k in 1...n {
            let parent = k + (k & -k)
            if parent <= n {
                trees[2 * parent] += trees[2 * k]
                trees[2 * parent + 1] += trees[2 * k + 1]
            }
        }
        trees[0] = total
        active = true
    }

    /// The boundary: the last level with `H(i) ≤ totalBid` (-1 if none) and `H` there.
    func boundary() -> (level: Int, h: Int64) {
        let n = count
        var position = 0
        var rest = totalBid
        var step = 1 << (Int.bitWidth - 1 - n.leadingZeroBitCount)
        while step > 0 {
            let next = position + step
            if next <= n && trees[2 * next] <= rest {
                position = next
                rest -= trees[2 * next]
            }
            step >>= 1
        }
        return (position - 1, totalBid - rest)
    }

    /// `Σ_{j≤level} bid[j]`.
    func bidPrefix(_ level: Int) -> Int64 { prefix(lane: 1, level) }

    /// `H(level) = Σ_{j≤level} c[j]`.
    func combinedPrefix(_ level: Int) -> Int64 { prefix(lane: 0, level) }
}

extension OrderBook {
    /// The uncross a call auction would make now, by the protocol's rules: among the book's
    /// ticks the price with (1) the largest executable volume, (2) the smallest imbalance, (3)
    /// the nearest to `reference`, (4) the higher; nil when nothing would trade. Needs the
    /// auction index (`activateAuctionIndex`).
    ///
    /// `D` and `S` only change at levels holding orders, so around the boundary level `i0`
    /// (`D ≥ S` at and below it, `D < S` above) the candidates are two runs of ticks: left of
    /// the boundary the volume is `S(i0)`, right of it `D(i0+1)`; each run is cut where the
    /// nearest bid or ask level would change the volume or the imbalance. (`docs/DESIGN.md`,
    /// "Call auctions", gives the argument.)
    public func indicative(reference: Int64) -> Indicative? {
        precondition(auction.active, "the auction index is not kept")
        let n = Int(levelCount)
        let (i0, h) = auction.boundary()
        let total = auction.totalBid
        // Left of the boundary: volume S(i0), imbalance D(i0) − S(i0) ≥ 0.
        var left: (volume: Int64, imbalance: Int64, low: Int, high: Int)?
        if i0 >= 0 {
            let belowBids = auction.bidPrefix(i0 - 1)
            let supply = h - belowBids
            let demand = total - belowBids
            let ask = Int(highestSet(askBits, atOrBelow: Int32(i0)))
            if supply > 0 && ask >= 0 {
                let bidBelow = Int(highestSet(bidBits, atOrBelow: Int32(i0 - 1)))
                left = (supply, demand - supply, max(ask, bidBelow + 1), i0)
            }
        }
        // Right of it: volume D(i1), imbalance S(i1) − D(i1) > 0.
        var right: (volume: Int64, imbalance: Int64, low: Int, high: Int)?
        let i1 = i0 + 1
        if i1 < n {
            let demand = total - auction.bidPrefix(i0)
            let supply = h - auction.bidPrefix(i0 - 1) + asks[i1].qty
            let bid = Int(lowestSet(bidBits, atOrAbove: Int32(i1)))
            if demand > 0 && bid >= 0 {
                let askAbove = Int(lowestSet(askBits, atOrAbove: Int32(i1 + 1)))
                right = (demand, supply - demand, i1, min(bid, askAbove < 0 ? n - 1 : askAbove - 1))
            }
        }
        let chosen: (volume: Int64, low: Int, high: Int)
        switch (left, right) {
        case (nil, nil): return nil
        case (let l?, nil): chosen = (l.volume, l.low, l.high)
        case (nil, let r?): chosen = (r.volume, r.low, r.high)
        case (let l?, let r?):
            if l.volume != r.volume {
                chosen = l.volume > r.volume ? (l.volume, l.low, l.high) : (r.volume, r.low, r.high)
            } else if l.imbalance != r.imbalance {
                chosen = l.imbalance < r.imbalance ? (l.volume, l.low, l.high) : (r.volume, r.low, r.high)
            } else {
                chosen = (l.volume, l.low, r.high)
            }
        }
        let price = OrderBook.nearest(to: reference, low: price(ofLevel: Int32(chosen.low)),
                                      high: price(ofLevel: Int32(chosen.high)), tick: tick)
        return Indicative(price: price, volume: chosen.volume)
    }

    /// The tick in `low ... high` nearest to `reference`, the higher of two equally near.
    public static func nearest(to reference: Int64, low: Int64, high: Int64, tick: Int64) -> Int64 {
        if reference <= low { return low }
        if reference >= high { return high }
        let below = low + (reference - low) / tick * tick
        if below == reference { return below }
        let above = below + tick
        return reference - below < above - reference ? below : above
    }

    /// Starts keeping the auction index (entering `AUCTION`, or an uncross needs one): built
    /// from the levels in O(levels).
    public mutating func activateAuctionIndex() {
        auction.build(bids: bids, asks: asks)
    }

    /// Stops keeping it (the auction ended); the trees go stale until the next activation.
    public mutating func deactivateAuctionIndex() {
        auction.active = false
    }

    /// True if the best bid reaches the best ask (only a call auction leaves a book so).
    public var isCrossed: Bool { bestBid >= 0 && bestAsk >= 0 && bestBid >= bestAsk }
}
