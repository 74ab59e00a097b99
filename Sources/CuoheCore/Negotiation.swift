/// Negotiated transfer (协议转让): `QUOTE`, `ACCEPT` and `CROSS`. Each passes every check of a
/// limit `NEW`, is acknowledged and frozen before anything trades, and settles exactly as a book
/// trade does; none ever meets the anonymous book.
///
/// Quotes and waiting crosses are orders in the `OrderStore`, with `kind` saying which, so
/// `CANCEL` and `STATUS` find them by cid like any order. They sit on their instrument's
/// negotiated list (entry order, through `next`/`prev`) instead of a book; a waiting cross is also
/// in the `CrossTable` (its position kept in `level`), a quote in the day's `QuoteIndex`.
extension Matcher {
    // MARK: - QUOTE

    /// A firm public quote: checked as a limit `DAY` order, acknowledged, frozen, and posted on the
    /// quote board (a `quote` event for the instrument's subscribers).
    mutating func quote(_ c: Command, hash: UInt64, _ out: inout EventBuffer) {
        guard let probe = usableCid(c, hash: hash, &out) else { return }
        var refusal = validateNew(c)
        var admission = Admission(refusal: refusal, position: -1, value: 0, frozen: 0)
        if refusal == nil {
            admission = checkRules(account: c.account, instrument: c.instrument, side: c.side, limit: c.price, qty: c.qty)
            refusal = admission.refusal
        }
        if refusal == nil && (store.isFull || quotes.isFull) { refusal = (.throttled, .capacity) }
        if let (reason, detail) = refusal {
            refuse(c, at: probe, reason, detail, &out)
            return
        }
        let (oid, record) = acknowledge(c, at: probe, instrument: c.instrument, side: c.side, limit: c.price, tif: .day,
                                        verb: .quote, &out)
        let slot = restNegotiated(c, admission, oid: oid, record: record, kind: .quote)
        quotes.insert(oid: oid, record: record)
        publishQuote(slot, ts: c.ts, &out)
    }

    /// The quote board's line for the quote at `slot`: its open quantity now (0 once it is gone).
    mutating func publishQuote(_ slot: Int32, ts: Int64, _ out: inout EventBuffer) {
        let q = store[slot]
        let mdseq = instruments[q.instrument].mdseq + 1
        instruments[q.instrument].mdseq = mdseq
        out.append(.quote, broker: q.broker, ts: ts) { e in
            e.instrument = q.instrument
            e.mdseq = mdseq
            e.oid = q.oid
            e.side = q.side
            e.qty = q.leaves
            e.price = q.price
        }
    }

    // MARK: - ACCEPT

    /// Takes `qty` of a quote at its price, at once: the `ACCEPT`'s `ACK`, its `FILL liq=TAKER`, the
    /// quote's `FILL liq=MAKER`, the `TRADE kind=QUOTE`, the quote board's new line.
    mutating func accept(_ c: Command, hash: UInt64, _ out: inout EventBuffer) {
        guard let probe = usableCid(c, hash: hash, &out) else { return }
        let (found, quoteSlot) = findQuote(c)
        var refusal = found
        var admission = Admission(refusal: refusal, position: -1, value: 0, frozen: 0)
        var q = RestingOrder.empty
        if refusal == nil {
            q = store[quoteSlot]
            admission = checkRules(account: c.account, instrument: q.instrument, side: q.side.opposite, limit: q.price,
                                   qty: c.qty)
            refusal = admission.refusal
        }
        if let (reason, detail) = refusal {
            refuse(c, at: probe, reason, detail, &out)
            return
        }
        let side = q.side.opposite
        let (oid, record) = acknowledge(c, at: probe, instrument: q.instrument, side: side, limit: q.price, tif: .day,
                                        verb: .accept, &out)
        var position = admission.position
        freeze(account: c.account, instrument: q.instrument, side: side, position: &position, qty: c.qty,
               value: admission.value, frozen: admission.frozen)
        var taker = Taker(cid: c.cid, oid: oid, qty: c.qty, leaves: c.qty, limit: q.price, account: c.account,
                          broker: c.broker, side: side, frozen: admission.frozen, position: position)
        negotiatedTrade(&taker, maker: quoteSlot, kind: .quote, ts: c.ts, &out)
        finishTaker(record, taker, reason: nil, ts: c.ts, &out)
    }

    /// The quote an `ACCEPT` names and why it may not take it: the account (`UNKNOWN_ACCOUNT`,
    /// `NOT_YOUR_ACCOUNT`), the quote (`UNKNOWN_ORDER`, `ORDER_DONE`), the quantity (`BAD_QTY`,
    /// `LOT_SIZE`, `BAD_QTY detail=ABOVE_QUOTE`), the instrument (`HALTED`, `MARKET_CLOSED`), and
    /// the same account on both sides (`NOT_PERMITTED detail=SELF_TRADE`).
    mutating func findQuote(_ c: Command) -> ((RejectReason, RejectDetail)?, Int32) {
        if c.account < 0 || Int(c.account) >= accountBroker.count { return ((.unknownAccount, .none), -1) }
        if accountBroker[c.account] != c.broker { return ((.notYourAccount, .none), -1) }
        let found = c.quoteOid > 0 ? quotes.record(oid: c.quoteOid) : -1
        if found < 0 { return ((.unknownOrder, .none), -1) }
        let record = cids[found]
        if record.state != .live { return ((.orderDone, .none), -1) }
        let q = store[record.slot]
        let s = instruments[q.instrument]
        if let reason = validateQuantity(c.qty, lot: s.lot) { return ((reason, .none), -1) }
        if c.qty > q.leaves { return ((.badQty, .aboveQuote), -1) }
        if s.halted { return ((.halted, .none), -1) }
        if s.phase == .closed { return ((.marketClosed, .none), -1) }
        if q.account == c.account { return ((.notPermitted, .selfTrade), -1) }
        return (nil, record.slot)
    }

    // MARK: - CROSS

    /// One side of a transfer agreed beforehand. The first side waits, frozen and seen by nobody
    /// else; the counterparty's matching side completes it at once: its `ACK`, its `FILL
    /// liq=TAKER`, the waiting side's `FILL liq=MAKER`, the `TRADE kind=CROSS`.
    mutating func cross(_ c: Command, hash: UInt64, _ out: inout EventBuffer) {
        guard let probe = usableCid(c, hash: hash, &out) else { return }
        var refusal = validateNew(c)
        var waiting: Int32 = -1
        if refusal == nil { (refusal, waiting) = pairCross(c) }
        var admission = Admission(refusal: refusal, position: -1, value: 0, frozen: 0)
        if refusal == nil {
            admission = checkRules(account: c.account, instrument: c.instrument, side: c.side, limit: c.price, qty: c.qty)
            refusal = admission.refusal
        }
        if let (reason, detail) = refusal {
            refuse(c, at: probe, reason, detail, &out)
            return
        }
        let (oid, record) = acknowledge(c, at: probe, instrument: c.instrument, side: c.side, limit: c.price, tif: .day,
                                        verb: .cross, &out)
        if waiting < 0 {
            let slot = restNegotiated(c, admission, oid: oid, record: record, kind: .cross)
            store[slot].level = Int32(crosses.insert(broker: c.broker, ref: c.ref, counterBroker: c.counterBroker,
                                                      slot: slot))
            return
        }
        var position = admission.position
        freeze(account: c.account, instrument: c.instrument, side: c.side, position: &position, qty: c.qty,
               value: admission.value, frozen: admission.frozen)
        var taker = Taker(cid: c.cid, oid: oid, qty: c.qty, leaves: c.qty, limit: c.price, account: c.account,
                          broker: c.broker, side: c.side, frozen: admission.frozen, position: position)
        negotiatedTrade(&taker, maker: waiting, kind: .cross, ts: c.ts, &out)
        finishTaker(record, taker, reason: nil, ts: c.ts, &out)
    }

    /// The waiting side a `CROSS` completes (its slot, or -1 if it is the first side), or why it
    /// may not go ahead: an unknown `cp` (`NOT_PERMITTED detail=UNKNOWN_BROKER`); the same
    /// account on both sides (`NOT_PERMITTED detail=SELF_TRADE`); other terms than the waiting
    /// side's (`CROSS_MISMATCH`); a ref of the sender's already waiting (`CROSS_MISMATCH
    /// detail=REF_IN_USE`); no room to wait (`THROTTLED detail=CAPACITY`).
    mutating func pairCross(_ c: Command) -> ((RejectReason, RejectDetail)?, Int32) {
        if c.counterBroker < 0 || Int(c.counterBroker) >= brokerSeq.count { return ((.notPermitted, .unknownBroker), -1) }
        let found = crosses.find(broker: c.counterBroker, ref: c.ref)
        if found >= 0 && crosses[found].counterBroker == c.broker {
            let w = store[crosses[found].slot]
            if w.account == c.account { return ((.notPermitted, .selfTrade), -1) }
            if w.instrument != c.instrument || w.side == c.side || w.price != c.price || w.qty != c.qty {
                return ((.crossMismatch, .none), -1)
            }
            return (nil, crosses[found].slot)
        }
        if crosses.find(broker: c.broker, ref: c.ref) >= 0 { return ((.crossMismatch, .refInUse), -1) }
        if crosses.isFull || store.isFull { return ((.throttled, .capacity), -1) }
        return (nil, -1)
    }

    // MARK: - Shared

    /// The probe for a new cid, or nil after refusing a used one (`DUPLICATE_CID`) or a full
    /// index (`THROTTLED detail=CAPACITY`, the cid left unused).
    @inline(__always)
    mutating func usableCid(_ c: Command, hash: UInt64, _ out: inout EventBuffer) -> CidIndex.Probe? {
        let probe = cids.find(broker: c.broker, cid: c.cid, hash: hash)
        if probe.record >= 0 {
            reject(c, .duplicateCid, .none, &out)
            return nil
        }
        if cids.isFull {
            reject(c, .throttled, .capacity, &out)
            return nil
        }
        return probe
    }

    /// A refusal that uses the cid (a `REJ` carrying `seq`).
    mutating func refuse(_ c: Command, at probe: CidIndex.Probe, _ reason: RejectReason, _ detail: RejectDetail,
                         _ out: inout EventBuffer) {
        _ = cids.insert(CidRecord(cid: c.cid, oid: 0, qty: 0, price: 0, cum: 0, broker: c.broker, slot: -1,
                                  state: .rejected), at: probe)
        reject(c, reason, detail, &out)
    }

    /// Freezes an accepted quote or first cross side and puts it at the end of its instrument's
    /// negotiated list; returns its slot.
    mutating func restNegotiated(_ c: Command, _ admission: Admission, oid: Int64, record: Int32,
                                 kind: OrderKind) -> Int32 {
        var position = admission.position
        freeze(account: c.account, instrument: c.instrument, side: c.side, position: &position, qty: c.qty,
               value: admission.value, frozen: admission.frozen)
        var order = RestingOrder(cid: c.cid, oid: oid, price: c.price, qty: c.qty, leaves: c.qty, next: -1,
                                 prev: negotiatedTail[c.instrument], account: c.account, broker: c.broker,
                                 instrument: c.instrument, cidRecord: record, level: -1, side: c.side, tif: .day,
                                 frozen: admission.frozen, position: position)
        order.kind = kind
        let slot = store.allocate(order)
        if order.prev >= 0 { store[order.prev].next = slot } else { negotiatedHead[c.instrument] = slot }
        negotiatedTail[c.instrument] = slot
        cids[record].slot = slot
        return slot
    }

    /// Trades `taker` in full against the quote or waiting cross at `maker`, at its price: settled
    /// delivery versus payment, the two `FILL`s and the `TRADE`; a maker left with nothing leaves
    /// the board (a quote's new quantity is published either way).
    mutating func negotiatedTrade(_ taker: inout Taker, maker slot: Int32, kind: TradeKind, ts: Int64,
                                  _ out: inout EventBuffer) {
        let resting = store[slot]
        let qty = taker.leaves
        let price = resting.price
        taker.leaves = 0
        store[slot].leaves = resting.leaves - qty
        let (fees, paid) = settleFill(resting.instrument, taker, resting, price: price, qty: qty)
        if taker.side == .buy { taker.frozen -= paid } else { store[slot].frozen -= paid }
        let maker = store[slot]
        trade(resting.instrument, taker, maker: maker, price: price, qty: qty, fees: fees, kind: kind, ts: ts, &out)
        if maker.leaves == 0 {
            release(side: maker.side, account: maker.account, position: maker.position, frozen: maker.frozen,
                    limit: maker.price, leaves: 0)
            recordEnded(maker.cidRecord, maker, .filled)
        }
        if kind == .quote { publishQuote(slot, ts: ts, &out) }
        if maker.leaves == 0 { removeNegotiated(slot) }
    }

    /// Ends a quote or waiting cross (`CANCEL`, expiry, a disconnect): what it froze goes back,
    /// its broker is told, then (a quote) the board.
    mutating func cancelNegotiated(record: Int32, slot: Int32, reason: CancelReason, ts: Int64,
                                   _ out: inout EventBuffer) {
        let order = store[slot]
        release(side: order.side, account: order.account, position: order.position, frozen: order.frozen,
                limit: order.price, leaves: order.leaves)
        recordEnded(record, order, .canceled)
        emitCanceled(broker: order.broker, cid: order.cid, oid: order.oid, reason: reason, ts: ts, &out)
        if order.kind == .quote {
            store[slot].leaves = 0
            publishQuote(slot, ts: ts, &out)
        }
        removeNegotiated(slot)
    }

    /// Takes a quote or waiting cross off its list (and a cross out of the table) and frees its slot.
    mutating func removeNegotiated(_ slot: Int32) {
        let o = store[slot]
        if o.prev >= 0 { store[o.prev].next = o.next } else { negotiatedHead[o.instrument] = o.next }
        if o.next >= 0 { store[o.next].prev = o.prev } else { negotiatedTail[o.instrument] = o.prev }
        if o.kind == .cross {
            let orders = store.slots
            crosses.remove(at: Int(o.level)) { moved, position in orders[moved].level = Int32(position) }
        }
        store.free(slot)
    }

    /// The slots of an instrument's quotes and waiting crosses, in entry order.
    func negotiatedSlots(_ instrument: Int32) -> [Int32] {
        var out: [Int32] = []
        var slot = negotiatedHead[instrument]
        while slot >= 0 {
            out.append(slot)
            slot = store[slot].next
        }
        return out
    }
}
