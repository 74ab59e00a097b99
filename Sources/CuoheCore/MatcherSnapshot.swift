/// The matcher's whole state as bytes, and back: what a snapshot file holds. Orders are written in
/// priority order and re-linked on restore, so every book, FIFO and index comes back the same;
/// `stateDigest()` after a restore equals the digest before it.
///
/// Format: little-endian, field by field, versioned. The caller adds the file's checksum.
extension Matcher {
    public static let snapshotMagic: [UInt8] = Array("CUOHESNP".utf8)
    /// 2: positions carry their open sells and last sell roll (the two-way rule).
    /// 3: quotes and waiting crosses, and the day's quotes by oid (negotiated transfer).
    public static let snapshotVersion: UInt32 = 3

    /// The state as bytes, section by section in a fixed order; `restore` reads them back in it.
    public func snapshot() -> [UInt8] {
        var w = SnapshotWriter()
        w.bytes.append(contentsOf: Matcher.snapshotMagic)
        w.u32(Matcher.snapshotVersion)
        w.i64(Int64(tradingDate.daysSinceEpoch))
        for v in [nextOid, nextTid, counters.commands, counters.ordersAccepted, counters.trades, counters.rejects] { w.i64(v) }
        writeInstruments(&w)
        w.u32(UInt32(brokerSeq.count))
        for b in 0..<brokerSeq.count { w.i64(brokerSeq[b]) }
        writeCids(&w)
        writeOrders(&w)
        writeNegotiated(&w)
        w.u32(UInt32(ledger.accounts.count))
        for a in 0..<ledger.accounts.count {
            let x = ledger.accounts[a]
            for v in [x.cash, x.frozenCash, x.boughtThisYear, x.openBuyValue, x.annualBuyCap, Int64(x.qualifiedUntil),
                      Int64(x.broker)] { w.i64(v) }
        }
        ledger.register.write(&w)
        for v in [ledger.feesCollected, ledger.netDeposits, Int64(ledger.register.rollCount)] { w.i64(v) }
        return w.bytes
    }

    func writeInstruments(_ w: inout SnapshotWriter) {
        w.u32(UInt32(instruments.count))
        for i in 0..<instruments.count {
            let s = instruments[i]
            for v in [s.referencePrice, s.bandLow, s.bandHigh, s.lastTradePrice, s.mdseq,
                      Int64(s.phase.rawValue), s.halted ? 1 : 0] { w.i64(v) }
        }
    }

    func writeCids(_ w: inout SnapshotWriter) {
        w.u32(UInt32(cids.count))
        w.bytes.reserveCapacity(Int(cids.count) * 80 + 256)
        for r in 0..<cids.count {
            let record = cids[r]
            // Field by field, no array per record: a busy day has millions of them.
            w.cid(record.cid)
            w.i64(record.oid)
            w.i64(record.qty)
            w.i64(record.price)
            w.i64(record.cum)
            w.i64(Int64(record.broker))
            w.i64(Int64(record.state.rawValue))
        }
    }

    /// Resting orders in priority order (each book, buys then sells, best level first, FIFO).
    func writeOrders(_ w: inout SnapshotWriter) {
        var orders: [RestingOrder] = []
        for i in 0..<Int32(instruments.count) {
            for side in [Side.buy, Side.sell] { orders += restingOrders(instrument: i, side: side) }
        }
        w.u32(UInt32(orders.count))
        w.bytes.reserveCapacity(w.bytes.count + orders.count * 128 + ledger.accounts.count * 56
                                + Int(ledger.register.positionCount) * 56 + 4096)
        for o in orders {
            w.cid(o.cid)
            w.i64(o.oid)
            w.i64(o.price)
            w.i64(o.qty)
            w.i64(o.leaves)
            w.i64(Int64(o.account))
            w.i64(Int64(o.broker))
            w.i64(Int64(o.instrument))
            w.i64(Int64(o.cidRecord))
            w.i64(Int64(o.side.rawValue))
            w.i64(Int64(o.tif.rawValue))
            w.i64(o.frozen)
            w.i64(Int64(o.position))
        }
    }

    /// Rebuilds a matcher for `config` from `snapshot()` bytes; nil if the bytes are not a snapshot
    /// of this market (wrong magic, version or sizes, truncated, or inconsistent once rebuilt).
    /// Every id and count is checked before it is used to index anything: a snapshot that passed
    /// its checksum but holds values the engine never writes is refused, not trusted.
    public static func restore(_ bytes: [UInt8], config: MarketConfig, limits: EngineLimits = EngineLimits()) -> Matcher? {
        var r = SnapshotReader(bytes: bytes)
        guard r.take(8) == Matcher.snapshotMagic, r.u32() == Matcher.snapshotVersion else { return nil }
        var m = Matcher(config: config, limits: limits)
        guard let date = r.i64(), date >= 0, date <= Int64(CivilDate.lastTradingDate.daysSinceEpoch) else { return nil }
        m.tradingDate = CivilDate(daysSinceEpoch: Int32(truncatingIfNeeded: date))
        guard let oid = r.i64(), let tid = r.i64(), let c1 = r.i64(), let c2 = r.i64(), let c3 = r.i64(),
              let c4 = r.i64(), oid >= 1, tid >= 1 else { return nil }
        m.nextOid = oid
        m.nextTid = tid
        m.counters = MatcherCounters(commands: c1, ordersAccepted: c2, trades: c3, rejects: c4)
        guard m.readInstruments(&r) else { return nil }
        guard r.u32() == UInt32(m.brokerSeq.count) else { return nil }
        for b in 0..<m.brokerSeq.count {
            guard let v = r.i64(), v >= 0 else { return nil }
            m.brokerSeq[b] = v
        }
        let accountCount = m.ledger.accounts.count
        guard m.readCids(&r), m.readOrders(&r), m.readNegotiated(&r), m.readAccounts(&r),
              m.ledger.register.read(&r, accountCount: accountCount) else { return nil }
        guard let fees = r.i64(), let deposits = r.i64(), let rolls = r.i64(), r.atEnd else { return nil }
        m.ledger.feesCollected = fees
        m.ledger.netDeposits = deposits
        m.ledger.register.rollCount = Int32(truncatingIfNeeded: rolls)
        // Derived: conserved by trades. `verify` checks it is within its bound (a snapshot
        // passes its checksum first, so out-of-range values here mean a defect, not damage).
        guard let total = m.ledger.checkedMarketCash() else { return nil }
        m.ledger.marketCash = total
        m.restoreAuctions()
        if m.verify() != nil { return nil }
        return consume m
    }

    /// Each instrument's prices, phase and halt; a book whose band moved is rebuilt for it.
    mutating func readInstruments(_ r: inout SnapshotReader) -> Bool {
        guard r.u32() == UInt32(instruments.count) else { return false }
        for i in 0..<instruments.count {
            guard let v = r.i64s(7), let phase = TradingPhase(rawValue: UInt8(truncatingIfNeeded: v[5])) else { return false }
            var s = instruments[i]
            s.referencePrice = v[0]
            s.bandLow = v[1]
            s.bandHigh = v[2]
            s.lastTradePrice = v[3]
            s.mdseq = v[4]
            s.phase = phase
            s.halted = v[6] != 0
            guard s.bandLow > 0, s.bandHigh >= s.bandLow, s.bandHigh <= Bounds.priceMax,
                  (s.bandHigh - s.bandLow) % s.tick == 0, (s.bandHigh - s.bandLow) / s.tick < s.bookTicksMax else { return false }
            instruments[i] = s
            if books[i].lowPrice != s.bandLow || books[i].highPrice != s.bandHigh {
                books[i].free(in: arena)
                books[i] = OrderBook(lowPrice: s.bandLow, highPrice: s.bandHigh, tick: s.tick, arena: arena)
            }
        }
        return true
    }

    /// The day's cids, each inserted where the index would have put it (a repeat is refused).
    mutating func readCids(_ r: inout SnapshotReader) -> Bool {
        guard let cidCount = r.u32(), Int(cidCount) <= cids.capacity else { return false }
        for _ in 0..<cidCount {
            // Each value within the bound the record packs it in.
            guard let cid = r.cid(), let v = r.i64s(6), let state = CidState(rawValue: UInt8(truncatingIfNeeded: v[5])),
                  v[4] >= 0 && v[4] < Int64(brokerSeq.count), (0...CidRecord.oidMax).contains(v[0]),
                  (0...Bounds.quantityMax).contains(v[1]), (0...Bounds.priceMax).contains(v[2]), (0...v[1]).contains(v[3])
            else { return false }
            let broker = Int32(truncatingIfNeeded: v[4])
            let probe = cids.find(broker: broker, cid: cid)
            guard probe.record < 0 else { return false }
            _ = cids.insert(CidRecord(cid: cid, oid: v[0], qty: v[1], price: v[2], cum: v[3], broker: broker, slot: -1,
                                      state: state), at: probe)
        }
        return true
    }

    /// The resting orders, appended in the order written, which rebuilds every level's FIFO.
    mutating func readOrders(_ r: inout SnapshotReader) -> Bool {
        guard let orderCount = r.u32(), Int(orderCount) <= store.capacity else { return false }
        for _ in 0..<orderCount {
            guard let cid = r.cid(), let v = r.i64s(12), let side = Side(rawValue: UInt8(truncatingIfNeeded: v[8])),
                  let tif = TimeInForce(rawValue: UInt8(truncatingIfNeeded: v[9])) else { return false }
            let instrument = Int32(truncatingIfNeeded: v[6])
            let record = Int32(truncatingIfNeeded: v[7])
            let account = v[4]
            guard account >= 0, account < Int64(accountBroker.count), v[5] == Int64(accountBroker[Int(account)]),
                  v[2] >= 1, v[2] <= Bounds.quantityMax, v[3] >= 1, v[3] <= v[2], v[10] >= 0,
                  instrument >= 0, Int(instrument) < instruments.count, record >= 0, record < cids.count,
                  books[instrument].contains(price: v[1]), (v[1] - books[instrument].lowPrice) % instruments[instrument].tick == 0
            else { return false }
            let slot = store.allocate(RestingOrder(
                cid: cid, oid: v[0], price: v[1], qty: v[2], leaves: v[3], next: -1, prev: -1,
                account: Int32(truncatingIfNeeded: v[4]), broker: Int32(truncatingIfNeeded: v[5]), instrument: instrument,
                cidRecord: record, level: -1, side: side, tif: tif, frozen: v[10], position: Int32(truncatingIfNeeded: v[11])))
            books[instrument].append(slot, store: &store)
            cids[record].slot = slot
        }
        return true
    }

    /// Each instrument's quotes and waiting crosses in entry order (a cross with its ref and
    /// counterparty), then the day's quotes by oid in the order they were posted.
    func writeNegotiated(_ w: inout SnapshotWriter) {
        var slots: [Int32] = []
        for i in 0..<Int32(instruments.count) { slots += negotiatedSlots(i) }
        w.u32(UInt32(slots.count))
        for slot in slots {
            let o = store[slot]
            let entry = o.kind == .cross ? crosses[Int(o.level)] : CrossTable.empty
            w.cid(o.cid)
            for v in [o.oid, o.price, o.qty, o.leaves, Int64(o.account), Int64(o.broker), Int64(o.instrument),
                      Int64(o.cidRecord), Int64(o.side.rawValue), o.frozen, Int64(o.position), Int64(o.kind.rawValue),
                      Int64(bitPattern: entry.ref0), Int64(bitPattern: entry.ref1), Int64(entry.counterBroker)] {
                w.i64(v)
            }
        }
        w.u32(UInt32(quotes.count))
        for n in 0..<quotes.count {
            w.i64(quotes[n].oid)
            w.i64(Int64(quotes[n].record))
        }
    }

    /// What `writeNegotiated` wrote, each order checked as `readOrders` checks a book's and put
    /// back on its list, in its table or index.
    mutating func readNegotiated(_ r: inout SnapshotReader) -> Bool {
        guard let count = r.u32(), Int(count) <= store.capacity - store.liveCount else { return false }
        for _ in 0..<count {
            guard let cid = r.cid(), let v = r.i64s(15), let side = Side(rawValue: UInt8(truncatingIfNeeded: v[8])),
                  let kind = OrderKind(rawValue: UInt8(truncatingIfNeeded: v[11])), kind != .book else { return false }
            let account = v[4], instrument = Int32(truncatingIfNeeded: v[6]), record = Int32(truncatingIfNeeded: v[7])
            guard account >= 0, account < Int64(accountBroker.count), v[5] == Int64(accountBroker[Int(account)]),
                  v[2] >= 1, v[2] <= Bounds.quantityMax, v[3] >= 1, v[3] <= v[2], v[9] >= 0,
                  instrument >= 0, Int(instrument) < instruments.count, record >= 0, record < cids.count,
                  cids[record].slot < 0, v[1] >= instruments[instrument].bandLow, v[1] <= instruments[instrument].bandHigh
            else { return false }
            let ref = ClientOrderID(w0: UInt64(bitPattern: v[12]), w1: UInt64(bitPattern: v[13]), w2: 0, w3: 0)
            let cp = v[14]
            if kind == .cross {
                guard !ref.isNone, cp >= 0, cp < Int64(brokerSeq.count), !crosses.isFull,
                      crosses.find(broker: Int32(truncatingIfNeeded: v[5]), ref: ref) < 0 else { return false }
            }
            var order = RestingOrder(
                cid: cid, oid: v[0], price: v[1], qty: v[2], leaves: v[3], next: -1, prev: negotiatedTail[instrument],
                account: Int32(truncatingIfNeeded: account), broker: Int32(truncatingIfNeeded: v[5]), instrument: instrument,
                cidRecord: record, level: -1, side: side, tif: .day, frozen: v[9], position: Int32(truncatingIfNeeded: v[10]))
            order.kind = kind
            let slot = store.allocate(order)
            if order.prev >= 0 { store[order.prev].next = slot } else { negotiatedHead[instrument] = slot }
            negotiatedTail[instrument] = slot
            cids[record].slot = slot
            if kind == .cross {
                store[slot].level = Int32(crosses.insert(broker: order.broker, ref: ref,
                                                          counterBroker: Int32(truncatingIfNeeded: cp), slot: slot))
            }
        }
        guard let quoteCount = r.u32(), Int(quoteCount) <= quotes.capacity else { return false }
        for _ in 0..<quoteCount {
            guard let oid = r.i64(), let record = r.i64(), record >= 0, record < Int64(cids.count),
                  cids[Int32(record)].oid == oid, oid > 0, quotes.record(oid: oid) < 0 else { return false }
            quotes.insert(oid: oid, record: Int32(record))
        }
        return true
    }

    mutating func readAccounts(_ r: inout SnapshotReader) -> Bool {
        guard r.u32() == UInt32(ledger.accounts.count) else { return false }
        for a in 0..<ledger.accounts.count {
            guard let v = r.i64s(7), v[6] == Int64(accountBroker[a]) else { return false }
            ledger.accounts[a] = AccountBalance(cash: v[0], frozenCash: v[1], boughtThisYear: v[2], openBuyValue: v[3],
                                                annualBuyCap: v[4], qualifiedUntil: Int32(truncatingIfNeeded: v[5]),
                                                broker: Int32(truncatingIfNeeded: v[6]))
        }
        return true
    }
}

extension ShareRegister {
    /// Positions, then each instrument's holder and slot counts and its lock lots in FIFO order.
    /// Lots are written by their place in the instruments' FIFOs, not their pool index, so the
    /// bytes depend only on the state (a restored matcher snapshots to the same bytes).
    func write(_ w: inout SnapshotWriter) {
        var lotOrdinal: [Int32: Int64] = [:]
        for i in 0..<holders.count {
            var lot = holders[i].lotHead
            while lot >= 0 {
                lotOrdinal[lot] = Int64(lotOrdinal.count)
                lot = lots[lot].next
            }
        }
        w.u32(UInt32(positionCount))
        for p in 0..<Int(positionCount) {
            let x = positions[p]
            for v in [Int64(x.account), Int64(x.instrument), x.shares, x.frozenShares, x.lockedShares, Int64(x.openBuys),
                      x.lastLot >= 0 ? lotOrdinal[x.lastLot] ?? -1 : -1, Int64(x.openSells), Int64(x.lastSellRoll)] {
                w.i64(v)
            }
        }
        for i in 0..<holders.count {
            w.i64(holders[i].holders)
            w.i64(holders[i].slots)
            var fifo: [(Int32, LockLot)] = []
            var lot = holders[i].lotHead
            while lot >= 0 {
                fifo.append((lot, lots[lot]))
                lot = lots[lot].next
            }
            w.u32(UInt32(fifo.count))
            for (index, l) in fifo {
                for v in [lotOrdinal[index] ?? -1, Int64(l.position), Int64(l.releaseRoll), l.shares] { w.i64(v) }
            }
        }
    }

    /// Reads what `write` wrote (for a market of `accountCount` accounts); false if it does not
    /// fit this register.
    mutating func read(_ r: inout SnapshotReader, accountCount: Int) -> Bool {
        guard let count = r.u32(), Int(count) <= positions.count else { return false }
        var list: [Position] = []
        for _ in 0..<count {
            guard let v = r.i64s(9), v[8] >= -1, v[8] <= Int64(Int32.max) else { return false }
            list.append(Position(account: Int32(truncatingIfNeeded: v[0]), instrument: Int32(truncatingIfNeeded: v[1]),
                                 shares: v[2], frozenShares: v[3], lockedShares: v[4],
                                 openBuys: Int32(truncatingIfNeeded: v[5]), lastLot: Int32(truncatingIfNeeded: v[6]),
                                 openSells: Int32(truncatingIfNeeded: v[7]), lastSellRoll: Int32(v[8])))
        }
        guard restorePositions(list, accountCount: accountCount) else { return false }
        var lotMap: [Int32: Int32] = [:]
        for i in 0..<holders.count {
            guard let holderCount = r.i64(), let slots = r.i64(), let lotCount = r.u32() else { return false }
            holders[i].holders = holderCount
            holders[i].slots = slots
            for _ in 0..<lotCount {
                guard let v = r.i64s(4),
                      let index = restoreLot(instrument: Int32(i), position: Int32(truncatingIfNeeded: v[1]),
                                             releaseRoll: Int32(truncatingIfNeeded: v[2]), shares: v[3]) else {
                    return false
                }
                lotMap[Int32(truncatingIfNeeded: v[0])] = index
            }
        }
        for p in 0..<Int(positionCount) where positions[p].lastLot >= 0 {
            positions[p].lastLot = lotMap[positions[p].lastLot] ?? -1
        }
        return true
    }

    /// Replaces the register with `list` (a snapshot's, in creation order, of a market with
    /// `accountCount` accounts); false if it does not fit.
    mutating func restorePositions(_ list: [Position], accountCount: Int) -> Bool {
        positionTable.fill(with: 0)
        positionCount = 0
        for (i, p) in list.enumerated() {
            guard p.account >= 0, Int(p.account) < accountCount, p.instrument >= 0, Int(p.instrument) < holders.count
            else { return false }
            let index = findOrCreatePosition(account: p.account, instrument: p.instrument)
            guard index == Int32(i) else { return false }
            positions[index] = p
        }
        // Every lot starts free again; `restoreLot` takes them back in FIFO order.
        lotFree = -1
        lotHighWater = 0
        for i in 0..<holders.count {
            holders[i].lotHead = -1
            holders[i].lotTail = -1
        }
        return true
    }

    /// Appends a lot to an instrument's FIFO (restore only); its new index, or nil if none is free.
    mutating func restoreLot(instrument: Int32, position: Int32, releaseRoll: Int32, shares: Int64) -> Int32? {
        guard lotAvailable, position >= 0, position < positionCount else { return nil }
        return appendLot(position: position, instrument: instrument, releaseRoll: releaseRoll, shares: shares)
    }
}

/// Appends little-endian fields; a whole field per append (a snapshot of a busy day holds
/// millions of them, written on the matcher's thread).
struct SnapshotWriter {
    var bytes: [UInt8] = []

    @inline(__always)
    mutating func u32(_ v: UInt32) { bytes.appendLittleEndian(v) }
    @inline(__always)
    mutating func i64(_ v: Int64) { bytes.appendLittleEndian(v) }
    @inline(__always)
    mutating func cid(_ c: ClientOrderID) {
        i64(Int64(bitPattern: c.w0))
        i64(Int64(bitPattern: c.w1))
        i64(Int64(bitPattern: c.w2))
        i64(Int64(bitPattern: c.w3))
    }
}

struct SnapshotReader {
    let bytes: [UInt8]
    var at = 0

    var atEnd: Bool { at == bytes.count }

    mutating func take(_ n: Int) -> [UInt8]? {
        guard bytes.count - at >= n else { return nil }
        defer { at += n }
        return Array(bytes[at..<(at + n)])
    }
    mutating func u32() -> UInt32? {
        guard bytes.count - at >= 4 else { return nil }
        defer { at += 4 }
        return bytes.littleEndian(at: at)
    }
    mutating func i64() -> Int64? {
        guard bytes.count - at >= 8 else { return nil }
        defer { at += 8 }
        return bytes.littleEndian(at: at)
    }
    mutating func i64s(_ n: Int) -> [Int64]? {
        var out: [Int64] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            guard let v = i64() else { return nil }
            out.append(v)
        }
        return out
    }
    mutating func cid() -> ClientOrderID? {
        guard let a = i64(), let b = i64(), let c = i64(), let d = i64() else { return nil }
        return ClientOrderID(w0: UInt64(bitPattern: a), w1: UInt64(bitPattern: b), w2: UInt64(bitPattern: c),
                             w3: UInt64(bitPattern: d))
    }
}
