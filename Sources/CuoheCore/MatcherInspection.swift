/// Read-only views of the matcher's state, and a full consistency check, for tests, snapshots and
/// operators. None of this is on the matching path.
extension Matcher {
    /// The live orders on one side of an instrument's book, in priority order.
    public func restingOrders(instrument: Int32, side: Side) -> [RestingOrder] {
        var out: [RestingOrder] = []
        books[instrument].forEachOrder(side, store: store) { out.append(store[$0]) }
        return out
    }

    public func bestBid(instrument: Int32) -> Int64? { books[instrument].bestBidPrice }
    public func bestAsk(instrument: Int32) -> Int64? { books[instrument].bestAskPrice }

    public var liveOrderCount: Int { store.liveCount }

    /// Walks every structure and returns a description of the first inconsistency, or nil.
    /// Checks: links both ways, level counts and quantities, bitsets and best prices, the book
    /// never crossed while open, the auction index and indicative price, every order on its own instrument, side and price, `0 < leaves ≤ qty`, every
    /// live order's cid record pointing back at it, and the live count.
    public func verify() -> String? {
        var live = 0
        for i in 0..<Int32(instruments.count) {
            let book = books[i]
            let s = instruments[i]
            if book.lowPrice != s.bandLow || book.highPrice != s.bandHigh {
                return "instrument \(i): book range \(book.lowPrice)...\(book.highPrice) is not the band"
            }
            for side in [Side.buy, Side.sell] {
                let levels = book.levels(side)
                let bits = side == .buy ? book.bidBits : book.askBits
                var best: Int32 = -1
                for index in 0..<book.levelCount {
                    let level = levels[index]
                    let bit = bits[Int(index >> 6)] & (UInt64(1) << UInt64(index & 63)) != 0
                    if bit == level.isEmpty { return "instrument \(i) \(side) level \(index): bitset disagrees" }
                    if level.isEmpty {
                        if level.tail >= 0 || level.orderCount != 0 || level.qty != 0 {
                            return "instrument \(i) \(side) level \(index): empty level with residue"
                        }
                        continue
                    }
                    if side == .buy || best < 0 { best = index }  // bids: the highest; asks: the lowest
                    var count: Int32 = 0
                    var qty: Int64 = 0
                    var prev: Int32 = -1
                    var slot = level.head
                    while slot >= 0 {
                        let o = store[slot]
                        if o.prev != prev { return "order slot \(slot): prev link broken" }
                        if o.instrument != i || o.side != side || o.price != book.price(ofLevel: index) {
                            return "order \(o.oid): on the wrong book, side or level"
                        }
                        if o.leaves <= 0 || o.leaves > o.qty { return "order \(o.oid): leaves \(o.leaves) of \(o.qty)" }
                        if o.tif != .day && o.tif != .gtc { return "order \(o.oid): resting with tif \(o.tif)" }
                        let record = cids[o.cidRecord]
                        if record.slot != slot || record.state != .live || record.cid != o.cid || record.broker != o.broker {
                            return "order \(o.oid): cid record does not point back"
                        }
                        count += 1
                        qty += o.leaves
                        prev = slot
                        slot = o.next
                        if count > Int32(store.capacity) { return "level \(index): link cycle" }
                    }
                    if level.tail != prev { return "instrument \(i) \(side) level \(index): tail wrong" }
                    if count != level.orderCount || qty != level.qty {
                        return "instrument \(i) \(side) level \(index): count/qty \(level.orderCount)/\(level.qty), actual \(count)/\(qty)"
                    }
                    live += Int(count)
                }
                if book.best(side) != best { return "instrument \(i) \(side): best \(book.best(side)), actual \(best)" }
            }
            // Only a call auction crosses a book; one trading in the open never is.
            if book.isCrossed && s.phase == .open && !s.halted {
                return "instrument \(i): book crossed"
            }
            if let problem = verifyAuction(i) { return problem }
            switch verifyNegotiated(i) {
            case .failure(let problem): return problem.text
            case .success(let count): live += count
            }
        }
        if live != store.liveCount { return "live count \(store.liveCount), actual \(live)" }
        var waiting = 0
        for i in 0..<Int32(instruments.count) { waiting += negotiatedOrders(instrument: i).filter { $0.kind == .cross }.count }
        if waiting != crosses.count { return "cross table holds \(crosses.count), \(waiting) crosses wait" }
        // The day's quotes: each a cid record of its oid, and a live one a quote (an ACCEPT of a
        // listed oid must never reach a book order).
        for n in 0..<quotes.count {
            let e = quotes[n]
            guard e.record >= 0 && e.record < cids.count, cids[e.record].oid == e.oid else { return "quote \(e.oid): no cid record" }
            let record = cids[e.record]
            if record.state == .live && (store[record.slot].kind != .quote || store[record.slot].oid != e.oid) {
                return "quote \(e.oid): its record names an order that is not the quote"
            }
        }
        return verifyLedger()
    }

    /// The quotes and waiting crosses of one instrument, in entry order.
    public func negotiatedOrders(instrument: Int32) -> [RestingOrder] { negotiatedSlots(instrument).map { store[$0] } }

    struct Problem: Error { let text: String }

    /// One instrument's negotiated list: links both ways, each a live `DAY` quote or cross of this
    /// instrument with `0 < leaves ≤ qty` (a waiting cross whole), its cid record pointing back,
    /// and its entry in the cross table or quote index. Returns how many there are.
    func verifyNegotiated(_ i: Int32) -> Result<Int, Problem> {
        var prev: Int32 = -1
        var count = 0
        var slot = negotiatedHead[i]
        while slot >= 0 {
            let o = store[slot]
            func fail(_ what: String) -> Result<Int, Problem> { .failure(Problem(text: "negotiated order \(o.oid): \(what)")) }
            if o.prev != prev { return fail("prev link broken") }
            if o.kind == .book || o.instrument != i || o.tif != .day { return fail("kind, instrument or tif wrong") }
            if o.leaves <= 0 || o.leaves > o.qty { return fail("leaves \(o.leaves) of \(o.qty)") }
            let record = cids[o.cidRecord]
            if record.slot != slot || record.state != .live || record.cid != o.cid || record.broker != o.broker {
                return fail("cid record does not point back")
            }
            if o.kind == .cross {
                guard o.level >= 0 && Int(o.level) < crosses.entries.count, crosses[Int(o.level)].slot == slot,
                      crosses[Int(o.level)].broker == o.broker, o.leaves == o.qty else { return fail("cross table entry wrong") }
            } else if quotes.record(oid: o.oid) != o.cidRecord {
                return fail("not in the quote index")
            }
            count += 1
            if count > store.capacity { return fail("link cycle") }
            prev = slot
            slot = o.next
        }
        if negotiatedTail[i] != prev { return .failure(Problem(text: "instrument \(i): negotiated tail wrong")) }
        return .success(count)
    }

    /// The ledger against the open orders: every account's frozen cash and open buy value equal
    /// what its live buys hold; every position's frozen shares equal its live sells' leaves and its
    /// open-buy count its live buys; nothing negative; holder and slot counts match the register
    /// and never pass the cap; the market's cash within its bound and equal to its running count.
    func verifyLedger() -> String? {
        var frozenCash = [Int64](repeating: 0, count: ledger.accounts.count)
        var openValue = [Int64](repeating: 0, count: ledger.accounts.count)
        var frozenShares = [Int64](repeating: 0, count: Int(ledger.register.positionCount))
        var openBuys = [Int32](repeating: 0, count: Int(ledger.register.positionCount))
        var openSells = [Int32](repeating: 0, count: Int(ledger.register.positionCount))
        for i in 0..<Int32(instruments.count) {
            let open = restingOrders(instrument: i, side: .buy) + restingOrders(instrument: i, side: .sell)
                + negotiatedOrders(instrument: i)
            for o in open {
                guard o.position >= 0 && o.position < ledger.register.positionCount,
                      ledger.register.positions[o.position].account == o.account,
                      ledger.register.positions[o.position].instrument == i else {
                    return "order \(o.oid): register line does not match"
                }
                if o.side == .buy {
                    if o.frozen < 0 { return "order \(o.oid): frozen \(o.frozen)" }
                    frozenCash[Int(o.account)] += o.frozen
                    openValue[Int(o.account)] += o.price * o.leaves
                    openBuys[Int(o.position)] += 1
                } else {
                    if o.frozen != 0 { return "sell order \(o.oid) holds cash" }
                    frozenShares[Int(o.position)] += o.leaves
                    openSells[Int(o.position)] += 1
                }
            }
        }
        for a in 0..<ledger.accounts.count {
            let acct = ledger.accounts[a]
            if acct.frozenCash != frozenCash[a] { return "account \(a): frozen cash \(acct.frozenCash), orders hold \(frozenCash[a])" }
            if acct.openBuyValue != openValue[a] { return "account \(a): open buy value \(acct.openBuyValue), orders \(openValue[a])" }
            if acct.cash < acct.frozenCash || acct.frozenCash < 0 { return "account \(a): cash \(acct.cash) below frozen \(acct.frozenCash)" }
            if acct.boughtThisYear < 0 || acct.boughtThisYear + acct.openBuyValue > Bounds.annualBuyMax {
                return "account \(a): bought \(acct.boughtThisYear) and open \(acct.openBuyValue) pass the annual bound"
            }
        }
        // The bound every money total rests on (`Bounds.marketCashMax`), and its running count.
        guard let marketCash = ledger.checkedMarketCash(), marketCash == ledger.marketCash else {
            return "market cash \(ledger.marketCash) is not the accounts' cash plus fees within the bound"
        }
        var holders = [Int64](repeating: 0, count: instruments.count)
        var slots = [Int64](repeating: 0, count: instruments.count)
        for p in 0..<Int(ledger.register.positionCount) {
            let position = ledger.register.positions[p]
            if position.frozenShares != frozenShares[p] {
                return "position \(p): frozen shares \(position.frozenShares), sells hold \(frozenShares[p])"
            }
            if position.openBuys != openBuys[p] { return "position \(p): open buys \(position.openBuys), actual \(openBuys[p])" }
            if position.openSells != openSells[p] { return "position \(p): open sells \(position.openSells), actual \(openSells[p])" }
            let rebuyDays = ledger.register.holders[Int(position.instrument)].rebuyDays
            if rebuyDays > 0 && position.openBuys > 0 && position.openSells > 0 {
                return "position \(p): a buy and a sell open under the two-way rule"
            }
            if position.shares < 0 || position.lockedShares < 0 || position.lockedShares > position.shares
                || position.frozenShares + position.lockedShares > position.shares {
                return "position \(p): shares \(position.shares), frozen \(position.frozenShares), locked \(position.lockedShares)"
            }
            let weight = ledger.register.weights[position.account]
            switch position.status {
            case .holder: holders[Int(position.instrument)] += weight
            case .slot: slots[Int(position.instrument)] += weight
            case .none: break
            }
        }
        for i in 0..<instruments.count {
            let h = ledger.register.holders[i]
            if h.holders != holders[i] || h.slots != slots[i] {
                return "instrument \(i): holders/slots \(h.holders)/\(h.slots), register says \(holders[i])/\(slots[i])"
            }
            if h.holders + h.slots > h.holderCap { return "instrument \(i): \(h.holders + h.slots) holders and slots over cap \(h.holderCap)" }
        }
        return nil
    }

    /// A digest of everything that determines future behaviour: instrument state, every book in
    /// priority order, every broker's sequence, the id counters and the date. Equal digests after
    /// two runs mean equal states.
    public func stateDigest() -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ v: UInt64) {
            h ^= v
            h = h &* 0x0000_0100_0000_01B3
            h ^= h >> 29
        }
        func mix(_ v: Int64) { mix(UInt64(bitPattern: v)) }
        mix(Int64(tradingDate.daysSinceEpoch))
        mix(nextOid)
        mix(nextTid)
        for b in 0..<brokerSeq.count { mix(brokerSeq[b]) }
        mix(ledger.feesCollected)
        mix(ledger.netDeposits)
        mix(Int64(ledger.register.rollCount))
        for a in 0..<ledger.accounts.count {
            let acct = ledger.accounts[a]
            for v in [acct.cash, acct.frozenCash, acct.boughtThisYear, acct.openBuyValue] { mix(v) }
        }
        for p in 0..<Int(ledger.register.positionCount) {
            let position = ledger.register.positions[p]
            for v in [Int64(position.account), Int64(position.instrument), position.shares, position.frozenShares,
                      position.lockedShares, Int64(position.openBuys), Int64(position.openSells),
                      Int64(position.lastSellRoll)] { mix(v) }
        }
        for i in 0..<Int32(instruments.count) {
            let s = instruments[i]
            for v in [s.referencePrice, s.bandLow, s.bandHigh, s.lastTradePrice, s.mdseq,
                      Int64(s.phase.rawValue), s.halted ? 1 : 0] { mix(v) }
            for side in [Side.buy, Side.sell] {
                for o in restingOrders(instrument: i, side: side) {
                    for v in [o.oid, o.price, o.qty, o.leaves, Int64(o.account), Int64(o.broker),
                              Int64(o.tif.rawValue), o.frozen] { mix(v) }
                    for w in [o.cid.w0, o.cid.w1, o.cid.w2, o.cid.w3] { mix(w) }
                }
                mix(UInt64(0xFFFF))
            }
            for slot in negotiatedSlots(i) {
                let o = store[slot]
                for v in [Int64(o.kind.rawValue), o.oid, o.price, o.qty, o.leaves, Int64(o.account), Int64(o.broker),
                          Int64(o.side.rawValue), o.frozen] { mix(v) }
                for w in [o.cid.w0, o.cid.w1, o.cid.w2, o.cid.w3] { mix(w) }
                if o.kind == .cross {
                    let e = crosses[Int(o.level)]
                    for w in [e.ref0, e.ref1, UInt64(UInt32(bitPattern: e.counterBroker))] { mix(w) }
                }
            }
            mix(UInt64(0xFFFE))
        }
        for n in 0..<quotes.count {
            mix(quotes[n].oid)
            mix(Int64(quotes[n].record))
        }
        return h
    }
}

extension Matcher {
    /// While an instrument collects an auction: its index sums the levels exactly, and its
    /// published indicative price is what the book gives now.
    func verifyAuction(_ i: Int32) -> String? {
        let book = books[i]
        let s = instruments[i]
        guard s.phase == .auction else {
            return s.iop == 0 && s.iov == 0 ? nil : "instrument \(i): indicative price outside an auction"
        }
        guard book.auction.active else { return "instrument \(i): in AUCTION without its index" }
        var bids: Int64 = 0
        var asks: Int64 = 0
        for level in 0..<Int(book.levelCount) {
            let below = bids
            bids += book.level(.buy, Int32(level)).qty
            asks += book.level(.sell, Int32(level)).qty
            if book.auction.bidPrefix(level) != bids || book.auction.combinedPrefix(level) != below + asks {
                return "instrument \(i): auction index disagrees with level \(level)"
            }
        }
        if book.auction.totalBid != bids { return "instrument \(i): auction index total \(book.auction.totalBid), actual \(bids)" }
        let now = book.indicative(reference: s.referencePrice)
        if (now?.price ?? 0) != s.iop || (now?.volume ?? 0) != s.iov {
            return "instrument \(i): published indicative \(s.iop)/\(s.iov), book gives \(now?.price ?? 0)/\(now?.volume ?? 0)"
        }
        return nil
    }

    /// After a restore: the auction index of each instrument in `AUCTION`, and its indicative
    /// price, derived again from the book (both are functions of it).
    mutating func restoreAuctions() {
        for i in 0..<Int32(instruments.count) {
            guard instruments[i].phase == .auction else {
                books[i].deactivateAuctionIndex()
                continue
            }
            books[i].activateAuctionIndex()
            let now = books[i].indicative(reference: instruments[i].referencePrice)
            instruments[i].iop = now?.price ?? 0
            instruments[i].iov = now?.volume ?? 0
        }
    }
}
