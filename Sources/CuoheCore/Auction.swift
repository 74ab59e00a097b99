/// The call auction: phase changes, the uncross at one price, and the indicative price the
/// gateway shows while orders are collected (`PROTOCOL.md`, "Call auction").
extension Matcher {
    /// `PHASE`: entering `AUCTION` starts keeping the auction index; leaving it uncrosses (unless
    /// halted: then `RESUME` does); `CLOSED` then expires `DAY` orders.
    mutating func changePhase(_ i: Int32, to phase: TradingPhase, ts: Int64, _ out: inout EventBuffer) {
        let was = instruments[i].phase
        instruments[i].phase = phase
        if phase == .auction && was != .auction {
            books[i].activateAuctionIndex()
            instruments[i].iop = 0
            instruments[i].iov = 0
            noteAuctionChange(i)
        } else if was == .auction && phase != .auction {
            instruments[i].iop = 0
            instruments[i].iov = 0
        }
        if !instruments[i].halted && phase != .auction && (was == .auction || phase == .open) && books[i].isCrossed {
            uncross(i, ts: ts, &out)
        }
        if was == .auction && phase != .auction { books[i].deactivateAuctionIndex() }
        if phase == .closed { expire(i, ts: ts, keep: { _ in true }, &out) }
    }

    /// `RESUME`: a book an auction left crossed while halted uncrosses as it opens again.
    mutating func resume(_ i: Int32, ts: Int64, _ out: inout EventBuffer) {
        instruments[i].halted = false
        if instruments[i].phase == .open && books[i].isCrossed { uncross(i, ts: ts, &out) }
    }

    /// Trades the crossed part of a book at the one price the protocol's rules choose: the best
    /// buy against the best sell, again and again, while the buy bids at least that price and
    /// the sell asks at most it. What is left does not cross (`docs/DESIGN.md`).
    mutating func uncross(_ i: Int32, ts: Int64, _ out: inout EventBuffer) {
        if !books[i].auction.active { books[i].activateAuctionIndex() }
        let found = books[i].indicative(reference: instruments[i].referencePrice)
        // The uncross changes levels the index would follow for nothing: the auction is over.
        books[i].deactivateAuctionIndex()
        guard let found else { return }
        var executed: Int64 = 0
        while true {
            let book = books[i]
            guard book.bestBid >= 0 && book.bestAsk >= 0, book.price(ofLevel: book.bestBid) >= found.price,
                  book.price(ofLevel: book.bestAsk) <= found.price else { break }
            let buy = book.level(.buy, book.bestBid).head
            let sell = book.level(.sell, book.bestAsk).head
            let qty = min(store[buy].leaves, store[sell].leaves)
            if store[buy].account == store[sell].account {
                selfMatch(buy: buy, sell: sell, qty: qty, ts: ts, &out)
            } else {
                auctionTrade(i, buy: buy, sell: sell, price: found.price, qty: qty, ts: ts, &out)
            }
            executed += qty
        }
        assert(executed == found.volume, "an uncross executes exactly its volume")
    }

    /// One pairing of the uncross: settled delivery versus payment at the auction price; the
    /// buy's `FILL`, the sell's `FILL` (both `liq=AUCTION`), then the public `TRADE`.
    mutating func auctionTrade(_ i: Int32, buy: Int32, sell: Int32, price: Int64, qty: Int64, ts: Int64,
                               _ out: inout EventBuffer) {
        let b = store[buy]
        let s = store[sell]
        let (fees, paid) = ledger.settle(buyer: b.account, buyerPosition: b.position, buyLimit: b.price,
                                         seller: s.account, sellerPosition: s.position, instrument: i, price: price,
                                         qty: qty)
        store[buy].frozen -= paid
        store[buy].leaves -= qty
        store[sell].leaves -= qty
        books[i].reduce(.buy, level: b.level, by: qty)
        books[i].reduce(.sell, level: s.level, by: qty)
        let tid = nextTid
        nextTid += 1
        counters.trades += 1
        auctionFill(store[buy], tid: tid, price: price, qty: qty, ts: ts, &out)
        auctionFill(store[sell], tid: tid, price: price, qty: qty, ts: ts, &out)
        let mdseq = instruments[i].mdseq + 1
        instruments[i].mdseq = mdseq
        instruments[i].lastTradePrice = price
        out.append(.trade, broker: b.broker, ts: ts) { print in
            print.instrument = i
            print.mdseq = mdseq
            print.tid = tid
            print.price = price
            print.qty = qty
            print.account = b.account
            print.counterAccount = s.account
            print.counterBroker = s.broker
            print.side = .buy
            print.tradeKind = .auction
            print.buyerFee = fees.buyerFee
            print.sellerFee = fees.sellerFee
            print.stampDuty = fees.stampDuty
        }
        if store[buy].leaves == 0 { finishFilled(buy) }
        if store[sell].leaves == 0 { finishFilled(sell) }
    }

    /// One side's `FILL liq=AUCTION`, built in the event buffer (no copy of a whole event).
    mutating func auctionFill(_ o: RestingOrder, tid: Int64, price: Int64, qty: Int64, ts: Int64,
                              _ out: inout EventBuffer) {
        let seq = nextSeq(o.broker)
        out.append(.fill, broker: o.broker, ts: ts) { fill in
            fill.seq = seq
            fill.cid = o.cid
            fill.oid = o.oid
            fill.tid = tid
            fill.price = price
            fill.qty = qty
            fill.leaves = o.leaves
            fill.cum = o.qty - o.leaves
            fill.liquidity = .auction
            fill.side = o.side
        }
    }

    /// A resting order that has filled: what it still froze goes back, its cid is done, it leaves
    /// the book.
    mutating func finishFilled(_ slot: Int32) {
        let o = store[slot]
        release(side: o.side, account: o.account, position: o.position, frozen: o.frozen, limit: o.price, leaves: 0)
        cids[o.cidRecord].end(.filled, qty: o.qty, cum: o.qty, price: o.price)
        books[o.instrument].remove(slot, store: &store)
        store.free(slot)
    }

    /// The best buy and best sell of an uncross are one account's: no trade (an account may not
    /// trade with itself). Both lose `qty`, exactly as a trade would take it, so the uncross keeps
    /// its one price and leaves the book uncrossed: the order left with nothing is canceled
    /// (`SELF_TRADE`), the other reduced (`REPLACED reason=SELF_TRADE`, same cid). Buy first.
    mutating func selfMatch(buy: Int32, sell: Int32, qty: Int64, ts: Int64, _ out: inout EventBuffer) {
        takeOffForSelfMatch(buy, qty: qty, ts: ts, &out)
        takeOffForSelfMatch(sell, qty: qty, ts: ts, &out)
    }

    /// One side of a self-match: canceled if `qty` is all it has left, else reduced by it.
    mutating func takeOffForSelfMatch(_ slot: Int32, qty: Int64, ts: Int64, _ out: inout EventBuffer) {
        if store[slot].leaves == qty {
            cancelResting(record: store[slot].cidRecord, slot: slot, reason: .selfTrade, ts: ts, &out)
        } else {
            reduceForSelfMatch(slot, by: qty, ts: ts, &out)
        }
    }

    mutating func reduceForSelfMatch(_ slot: Int32, by qty: Int64, ts: Int64, _ out: inout EventBuffer) {
        let o = store[slot]
        let leaves = o.leaves - qty
        books[o.instrument].reduce(o.side, level: o.level, by: qty)
        store[slot].leaves = leaves
        store[slot].qty = o.qty - qty
        if o.side == .buy {
            // What the smaller order may still cost at its limit; never more than it holds.
            let keep = ledger.buyCost(limit: o.price, qty: leaves)?.frozen ?? o.frozen
            let frozen = min(o.frozen, keep)
            ledger.adjustBuy(account: o.account, frozenDelta: frozen - o.frozen, valueDelta: -o.price * qty)
            store[slot].frozen = frozen
        } else {
            ledger.adjustSell(position: o.position, by: -qty)
        }
        let seq = nextSeq(o.broker)
        out.append(.replaced, broker: o.broker, ts: ts) { e in
            e.seq = seq
            e.cid = o.cid
            e.newCid = o.cid
            e.oid = o.oid
            e.qty = o.qty - qty
            e.price = o.price
            e.leaves = leaves
            e.reason = CancelReason.selfTrade.rawValue
        }
    }

    /// After a command: each instrument in `AUCTION` whose book changed and whose indicative
    /// uncross moved gets an `indicative` event, in instrument order.
    mutating func publishIndicatives(ts: Int64, _ out: inout EventBuffer) {
        let count = changedAuctionCount
        changedAuctionCount = 0
        // Insertion sort: almost always one instrument, a few at a ROLL.
        for k in 1..<max(count, 1) {
            let v = changedAuctions[k]
            var j = k - 1
            while j >= 0 && changedAuctions[j] > v {
                changedAuctions[j + 1] = changedAuctions[j]
                j -= 1
            }
            changedAuctions[j + 1] = v
        }
        for k in 0..<count {
            let i = changedAuctions[k]
            auctionChanged[i] = false
            guard instruments[i].phase == .auction else { continue }
            let now = books[i].indicative(reference: instruments[i].referencePrice)
            let price = now?.price ?? 0
            let volume = now?.volume ?? 0
            if price == instruments[i].iop && volume == instruments[i].iov { continue }
            instruments[i].iop = price
            instruments[i].iov = volume
            out.append(.indicative, broker: Command.scheduleBroker, ts: ts) { e in
                e.instrument = i
                e.price = price
                e.qty = volume
            }
        }
    }

    /// The indicative uncross of an instrument in `AUCTION` now (nil when nothing would trade, or
    /// when it is not in `AUCTION`).
    public func indicative(_ i: Int32) -> Indicative? {
        guard instruments[i].phase == .auction else { return nil }
        return books[i].indicative(reference: instruments[i].referencePrice)
    }
}
