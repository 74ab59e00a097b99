import CuoheCore

/// A deliberately simple second implementation of the matching core, written from the contract
/// (`shared/PROTOCOL.md`, "Orders" and the operator verbs) and the project's own choices
/// (`docs/PROTOCOL.md`), not from `Matcher.swift`. Plain arrays and linear scans: each side of a
/// book is one array in priority order (a new order goes in after every order at its price or
/// better), which is slow, but easy to check by reading.
///
/// `process(_:)` returns exactly the events the engine must produce for a command, in order, with
/// every field the engine fills (`Event.swift` lists them by kind).
struct ReferenceModel {
    /// Known differences between the engine and the documents, each a bug report. By default the
    /// model follows the documents; a test that must keep running past a known engine bug names it
    /// here, so the model imitates the engine in that one respect and nothing else.
    struct Deviations: OptionSet {
        let rawValue: Int
        /// `PHASE CLOSED` also expires `GTC` orders (the documents: only `DAY` orders; `GTC` stay).
        /// Seen at 55c1cae, fixed in b06809b; kept so `testKnownDeviations` guards it.
        static let phaseClosedExpiresGTC = Deviations(rawValue: 1 << 0)
    }

    struct Order {
        var oid: Int64
        var cid: ClientOrderID
        var broker: Int32
        var account: Int32
        var instrument: Int32
        var side: Side
        var type: OrderType
        /// As acknowledged: a market order's `DAY`/`GTC`/`IOC` is `IOC`.
        var tif: TimeInForce
        /// As acknowledged: a market order's price is the band edge it may trade to.
        var price: Int64
        /// Total quantity (a `REPLACE` sets a new total).
        var qty: Int64
        var cum: Int64 = 0
        /// Resting in the book.
        var live = false

        var leaves: Int64 { live ? qty - cum : 0 }
        /// The quantity not yet filled (while the order is taking, before it rests).
        var open: Int64 { qty - cum }
    }

    /// What a broker's cid names today.
    enum CidState {
        /// The order (index into `orders`) this cid currently names.
        case order(Int)
        /// The cid's `NEW` was rejected: the cid is used but names no order.
        case rejected
        /// The cid named an order that was since replaced: it names nothing now.
        case replaced
    }

    struct Instrument {
        var tick: Int64
        var lot: Int64
        var referencePrice: Int64
        var bandPercent: Int64
        var bandLow: Int64
        var bandHigh: Int64
        var lastTradePrice: Int64 = 0
        var mdseq: Int64 = 0
        var phase: TradingPhase
        var halted = false
        /// The indicative uncross last published (price 0: nothing would trade).
        var iop: Int64 = 0
        var iov: Int64 = 0
    }

    var instruments: [Instrument]
    var accountBroker: [Int32]
    var brokerIsOperator: [Bool]
    var brokerSeq: [Int64]
    /// Every accepted order, by `oid - 1`.
    var orders: [Order] = []
    /// Indices of resting orders, per `instrument * 2 + side`, in priority order: best price first,
    /// then oldest first.
    var book: [[Int]]
    /// Per broker: the day's cids.
    var cids: [[ClientOrderID: CidState]]
    var tradingDate: CivilDate
    var nextTid: Int64 = 1
    /// The events of the command being processed.
    private var out: [Event] = []

    let deviations: Deviations

    init(config: MarketConfig, deviations: Deviations = []) {
        self.deviations = deviations
        instruments = config.instruments.map { spec in
            let band = InstrumentConfig.band(referencePrice: spec.referencePrice, tick: spec.tick,
                                             bandPercent: spec.bandPercent)
            return Instrument(tick: spec.tick, lot: spec.lot, referencePrice: spec.referencePrice,
                              bandPercent: spec.bandPercent, bandLow: band.low, bandHigh: band.high,
                              phase: spec.phase)
        }
        accountBroker = config.accounts.map { account in
            Int32(config.brokers.firstIndex { $0.id == account.broker } ?? -1)
        }
        brokerIsOperator = config.brokers.map(\.isOperator)
        brokerSeq = Array(repeating: 0, count: config.brokers.count)
        book = Array(repeating: [], count: config.instruments.count * 2)
        cids = Array(repeating: [:], count: config.brokers.count)
        tradingDate = config.tradingDate
    }

    var nextOid: Int64 { Int64(orders.count) + 1 }
    var liveOrderCount: Int { book.reduce(0) { $0 + $1.count } }

    // MARK: - Views

    /// The resting orders of one side, in priority order: best price first, then oldest first.
    func restingOrders(instrument: Int32, side: Side) -> [Order] {
        sortedBook(instrument, side).map { orders[$0] }
    }

    /// Indices of one side's resting orders, in priority order.
    func sortedBook(_ instrument: Int32, _ side: Side) -> [Int] {
        book[Int(instrument) * 2 + Int(side.rawValue)]
    }

    /// Puts an order at the back of its price level: after every order at its price or better.
    private mutating func rest(_ index: Int) {
        let o = orders[index]
        let k = Int(o.instrument) * 2 + Int(o.side.rawValue)
        var position = 0
        while position < book[k].count {
            let p = orders[book[k][position]].price
            if o.side == .buy ? p < o.price : p > o.price { break }
            position += 1
        }
        book[k].insert(index, at: position)
        orders[index].live = true
    }

    /// The order a broker's cid names today, if it names one.
    func order(broker: Int32, cid: ClientOrderID) -> Order? {
        if case .order(let index)? = cids[Int(broker)][cid] { return orders[index] }
        return nil
    }

    // MARK: - The one entry point

    mutating func process(_ c: Command) -> [Event] {
        out = []
        switch c.kind {
        case .new: newOrder(c)
        case .cancel: cancel(c)
        case .replace: replace(c)
        case .status: status(c)
        case .halt, .resume, .phase, .roll, .stats, .deposit, .withdraw: operatorVerb(c)
        case .cancelOnDisconnect: cancelOnDisconnect(c)
        case .quote, .accept, .cross: preconditionFailure("the reference model has no negotiated transfer")
        }
        publishIndicatives(ts: c.ts)
        return out
    }

    /// Every open DAY order of the broker, canceled ADMIN: instruments in order, bids then asks,
    /// each side in priority order.
    private mutating func cancelOnDisconnect(_ c: Command) {
        guard c.broker >= 0 && Int(c.broker) < cids.count else { return }
        for i in 0..<instruments.count {
            for side in [Side.buy, .sell] {
                for index in sortedBook(Int32(i), side) where orders[index].tif == .day && orders[index].broker == c.broker {
                    removeFromBook(index)
                    canceled(index, .admin, ts: c.ts)
                }
            }
        }
    }

    // MARK: - Events

    private mutating func nextSeq(_ broker: Int32) -> Int64 {
        brokerSeq[Int(broker)] += 1
        return brokerSeq[Int(broker)]
    }

    /// An order-related message to `broker`: carries the next `seq` and the cid.
    private mutating func orderEvent(_ kind: EventKind, broker: Int32, ts: Int64, cid: ClientOrderID) -> Event {
        var e = Event(kind: kind, broker: broker, ts: ts)
        e.seq = nextSeq(broker)
        e.cid = cid
        return e
    }

    private mutating func reject(_ c: Command, _ reason: RejectReason, _ detail: RejectDetail = .none) {
        var e = orderEvent(.reject, broker: c.broker, ts: c.ts, cid: c.cid)
        e.reason = reason.rawValue
        e.detail = detail
        out.append(e)
    }

    /// A refusal of an operator verb: no `seq`, no cid.
    private mutating func operatorReject(_ c: Command, _ reason: RejectReason, _ detail: RejectDetail = .none) {
        var e = Event(kind: .reject, broker: c.broker, ts: c.ts)
        e.reason = reason.rawValue
        e.detail = detail
        out.append(e)
    }

    private mutating func canceled(_ index: Int, _ reason: CancelReason, ts: Int64, cid: ClientOrderID? = nil) {
        let o = orders[index]
        var e = orderEvent(.canceled, broker: o.broker, ts: ts, cid: cid ?? o.cid)
        e.oid = o.oid
        e.reason = reason.rawValue
        out.append(e)
    }

    // MARK: - NEW

    private mutating func newOrder(_ c: Command) {
        let b = Int(c.broker)
        if cids[b][c.cid] != nil { return reject(c, .duplicateCid) }
        guard c.account >= 0, Int(c.account) < accountBroker.count else { return refuseNew(c, .unknownAccount) }
        guard accountBroker[Int(c.account)] == c.broker else { return refuseNew(c, .notYourAccount) }
        guard c.instrument >= 0, Int(c.instrument) < instruments.count else { return refuseNew(c, .unknownSymbol) }
        let s = instruments[Int(c.instrument)]
        guard c.qty > 0, c.qty <= Bounds.quantityMax else { return refuseNew(c, .badQty) }
        guard c.qty % s.lot == 0 else { return refuseNew(c, .lotSize) }
        if c.type == .limit {
            if c.price == Command.absent { return refuseNew(c, .badPrice, .missingPrice) }
            if c.price == 0 { return refuseNew(c, .badPrice, .zero) }
            guard c.price > 0, c.price <= Bounds.priceMax else { return refuseNew(c, .badPrice) }
            guard c.price % s.tick == 0 else { return refuseNew(c, .tickSize) }
            guard c.price >= s.bandLow, c.price <= s.bandHigh else { return refuseNew(c, .priceBand) }
        } else if c.price != Command.absent {
            return refuseNew(c, .badPrice, .marketWithPrice)
        }
        if s.halted { return refuseNew(c, .halted) }
        if s.phase == .auction && (c.type == .market || c.tif == .ioc || c.tif == .fok) {
            return refuseNew(c, .marketClosed, .auction)
        }
        if s.phase == .closed { return refuseNew(c, .marketClosed) }

        let isMarket = c.type == .market
        let tif: TimeInForce = isMarket ? (c.tif == .fok ? .fok : .ioc) : c.tif
        let price = isMarket ? (c.side == .buy ? s.bandHigh : s.bandLow) : c.price
        let index = orders.count
        orders.append(Order(oid: Int64(index + 1), cid: c.cid, broker: c.broker, account: c.account,
                            instrument: c.instrument, side: c.side, type: c.type, tif: tif, price: price,
                            qty: c.qty))
        cids[b][c.cid] = .order(index)
        var ack = orderEvent(.ack, broker: c.broker, ts: c.ts, cid: c.cid)
        ack.oid = Int64(index + 1)
        ack.account = c.account
        ack.instrument = c.instrument
        ack.side = c.side
        ack.qty = c.qty
        ack.price = price
        ack.tif = tif
        ack.type = c.type
        out.append(ack)
        if s.phase == .auction { return rest(index) }
        take(index, ts: c.ts)
    }

    /// Refuses a `NEW` that is not a duplicate: its cid is used from now on, naming no order.
    private mutating func refuseNew(_ c: Command, _ reason: RejectReason, _ detail: RejectDetail = .none) {
        cids[Int(c.broker)][c.cid] = .rejected
        reject(c, reason, detail)
    }

    // MARK: - Matching

    private func crosses(_ taker: Order, _ makerPrice: Int64) -> Bool {
        taker.side == .buy ? makerPrice <= taker.price : makerPrice >= taker.price
    }

    /// Runs an order that is not in the book as the taker: trades it against the opposite side,
    /// then rests its remainder (`DAY`, `GTC`) or cancels it (`IOC`, `FOK`, self-trade).
    private mutating func take(_ index: Int, ts: Int64) {
        let taker = orders[index]
        let opposite = taker.side.opposite
        if taker.tif == .fok {
            // Count what could fill before the first own order; all or nothing.
            var available: Int64 = 0
            var blocked = false
            for m in sortedBook(taker.instrument, opposite) {
                let maker = orders[m]
                if !crosses(taker, maker.price) || available >= taker.open { break }
                if maker.account == taker.account { blocked = true; break }
                available += maker.leaves
            }
            if available < taker.open { return canceled(index, blocked ? .selfTrade : .fok, ts: ts) }
        }
        var selfTrade = false
        while orders[index].open > 0 {
            guard let m = sortedBook(taker.instrument, opposite).first, crosses(taker, orders[m].price) else { break }
            if orders[m].account == taker.account { selfTrade = true; break }
            trade(taker: index, maker: m, ts: ts)
        }
        if orders[index].open == 0 { return }
        if selfTrade { return canceled(index, .selfTrade, ts: ts) }
        switch taker.tif {
        case .ioc: canceled(index, .ioc, ts: ts)
        case .fok: canceled(index, .fok, ts: ts)  // never reached: the count above guarantees a full fill
        case .day, .gtc:
            rest(index)
        }
    }

    private mutating func trade(taker t: Int, maker m: Int, ts: Int64) {
        let qty = min(orders[t].open, orders[m].leaves)
        let price = orders[m].price
        let tid = nextTid
        nextTid += 1
        orders[t].cum += qty
        orders[m].cum += qty
        if orders[m].cum == orders[m].qty { removeFromBook(m) }
        let i = Int(orders[t].instrument)
        instruments[i].mdseq += 1
        instruments[i].lastTradePrice = price
        for (index, liquidity) in [(t, Liquidity.taker), (m, Liquidity.maker)] {
            let o = orders[index]
            var fill = orderEvent(.fill, broker: o.broker, ts: ts, cid: o.cid)
            fill.oid = o.oid
            fill.tid = tid
            fill.price = price
            fill.qty = qty
            fill.leaves = o.qty - o.cum
            fill.cum = o.cum
            fill.liquidity = liquidity
            out.append(fill)
        }
        let buyer = orders[t].side == .buy ? orders[t] : orders[m]
        let seller = orders[t].side == .buy ? orders[m] : orders[t]
        var e = Event(kind: .trade, broker: buyer.broker, ts: ts)
        e.counterBroker = seller.broker
        e.account = buyer.account
        e.counterAccount = seller.account
        e.instrument = Int32(i)
        e.mdseq = instruments[i].mdseq
        e.tid = tid
        e.price = price
        e.qty = qty
        out.append(e)
    }

    private mutating func removeFromBook(_ index: Int) {
        let o = orders[index]
        book[Int(o.instrument) * 2 + Int(o.side.rawValue)].removeAll { $0 == index }
        orders[index].live = false
    }

    // MARK: - CANCEL, STATUS, REPLACE

    /// Resolves the order a `CANCEL`/`STATUS`/`REPLACE` names, or rejects `UNKNOWN_ORDER`.
    private mutating func lookup(_ c: Command) -> Int? {
        switch cids[Int(c.broker)][c.cid] {
        case .order(let index)?: return index
        case .rejected?: reject(c, .unknownOrder, .rejectedOrder)
        case .replaced?: reject(c, .unknownOrder, .replaced)
        case nil: reject(c, .unknownOrder)
        }
        return nil
    }

    private mutating func cancel(_ c: Command) {
        guard let index = lookup(c) else { return }
        guard orders[index].live else { return reject(c, .orderDone) }
        removeFromBook(index)
        canceled(index, .user, ts: c.ts)
    }

    private mutating func status(_ c: Command) {
        guard let index = lookup(c) else { return }
        let o = orders[index]
        var e = orderEvent(.status, broker: c.broker, ts: c.ts, cid: c.cid)
        e.oid = o.oid
        e.state = o.live ? (o.cum == 0 ? .new : .partial) : (o.cum == o.qty ? .filled : .canceled)
        e.qty = o.qty
        e.price = o.price
        e.leaves = o.leaves
        e.cum = o.cum
        out.append(e)
    }

    private mutating func replace(_ c: Command) {
        guard let index = lookup(c) else { return }
        let o = orders[index]
        guard o.live else { return reject(c, .orderDone) }
        let b = Int(c.broker)
        if cids[b][c.newCid] != nil { return reject(c, .duplicateCid) }
        let s = instruments[Int(o.instrument)]
        var qty = o.qty
        if c.qty != Command.absent {
            guard c.qty > 0, c.qty <= Bounds.quantityMax else { return reject(c, .badQty) }
            guard c.qty % s.lot == 0 else { return reject(c, .lotSize) }
            qty = c.qty
        }
        var price = o.price
        if c.price != Command.absent {
            if c.price == 0 { return reject(c, .badPrice, .zero) }
            guard c.price > 0, c.price <= Bounds.priceMax else { return reject(c, .badPrice) }
            guard c.price % s.tick == 0 else { return reject(c, .tickSize) }
            guard c.price >= s.bandLow, c.price <= s.bandHigh else { return reject(c, .priceBand) }
            price = c.price
        }
        if s.halted { return reject(c, .halted) }
        if s.phase == .closed { return reject(c, .marketClosed) }
        if qty <= o.cum {
            // Not above what has filled: cancel instead; the newcid stays unused.
            removeFromBook(index)
            return canceled(index, .user, ts: c.ts)
        }
        cids[b][c.cid] = .replaced
        cids[b][c.newCid] = .order(index)
        let keepsPriority = price == o.price && qty <= o.qty
        orders[index].cid = c.newCid
        orders[index].qty = qty
        orders[index].price = price
        var e = orderEvent(.replaced, broker: c.broker, ts: c.ts, cid: c.cid)
        e.oid = o.oid
        e.newCid = c.newCid
        e.qty = qty
        e.price = price
        e.leaves = qty - o.cum
        out.append(e)
        if !keepsPriority {
            removeFromBook(index)
            if s.phase == .auction { return rest(index) }
            take(index, ts: c.ts)
        }
    }

    // MARK: - Operator verbs

    private mutating func operatorVerb(_ c: Command) {
        let scheduled = c.broker == Command.scheduleBroker && c.kind == .phase
        guard scheduled || (c.broker >= 0 && brokerIsOperator[Int(c.broker)]) else {
            return operatorReject(c, .notPermitted)
        }
        var ok = Event(kind: .ok, broker: c.broker, ts: c.ts)
        ok.verb = c.kind
        switch c.kind {
        case .halt, .resume, .phase:
            guard c.instrument >= 0, Int(c.instrument) < instruments.count else {
                return operatorReject(c, .unknownSymbol)
            }
            let i = Int(c.instrument)
            ok.instrument = c.instrument
            if c.kind == .phase { ok.phase = c.phase }
            out.append(ok)
            switch c.kind {
            case .halt: instruments[i].halted = true
            case .resume:
                instruments[i].halted = false
                if instruments[i].phase == .open && isCrossed(i) { uncross(i, ts: c.ts) }
            default:
                let was = instruments[i].phase
                instruments[i].phase = c.phase
                if was != c.phase {
                    instruments[i].iop = 0
                    instruments[i].iov = 0
                }
                if !instruments[i].halted && c.phase != .auction && (was == .auction || c.phase == .open)
                    && isCrossed(i) {
                    uncross(i, ts: c.ts)
                }
                if c.phase == .closed {
                    for side in [Side.buy, .sell] {
                        for index in sortedBook(c.instrument, side)
                        where orders[index].tif == .day || deviations.contains(.phaseClosedExpiresGTC) {
                            removeFromBook(index)
                            canceled(index, .expired, ts: c.ts)
                        }
                    }
                }
            }
        case .roll:
            guard tradingDate < c.date else { return operatorReject(c, .malformed, .dateNotLater) }
            ok.date = c.date
            out.append(ok)
            tradingDate = c.date
            for i in 0..<instruments.count {
                var s = instruments[i]
                if s.lastTradePrice > 0 { s.referencePrice = s.lastTradePrice }
                s.lastTradePrice = 0
                let band = InstrumentConfig.band(referencePrice: s.referencePrice, tick: s.tick,
                                                 bandPercent: s.bandPercent)
                s.bandLow = band.low
                s.bandHigh = band.high
                instruments[i] = s
                for side in [Side.buy, .sell] {
                    for index in sortedBook(Int32(i), side) {
                        let o = orders[index]
                        if o.tif == .day || o.price < s.bandLow || o.price > s.bandHigh {
                            removeFromBook(index)
                            canceled(index, .expired, ts: c.ts)
                        }
                    }
                }
            }
            // The day's cids are forgotten, except those naming orders still live.
            for b in 0..<cids.count {
                cids[b] = cids[b].filter { _, state in
                    if case .order(let index) = state { return orders[index].live }
                    return false
                }
            }
        default:
            // STATS, DEPOSIT, WITHDRAW: not modelled (the random streams send them only from
            // non-operators; money is `LedgerStreamTests`' business).
            break
        }
    }

    // MARK: - Call auction, the plain way

    func isCrossed(_ i: Int) -> Bool {
        guard let b = sortedBook(Int32(i), .buy).first, let a = sortedBook(Int32(i), .sell).first else { return false }
        return orders[b].price >= orders[a].price
    }

    /// The uncross price and volume by the protocol's four rules, trying every tick of the band.
    func plainIndicative(_ i: Int) -> (price: Int64, volume: Int64)? {
        let s = instruments[i]
        let bids = sortedBook(Int32(i), .buy).map { orders[$0] }
        let asks = sortedBook(Int32(i), .sell).map { orders[$0] }
        var best: (volume: Int64, imbalance: Int64, distance: Int64, price: Int64)?
        var p = s.bandLow
        while p <= s.bandHigh {
            let demand = bids.filter { $0.price >= p }.reduce(0) { $0 + $1.leaves }
            let supply = asks.filter { $0.price <= p }.reduce(0) { $0 + $1.leaves }
            let here = (volume: min(demand, supply), imbalance: abs(demand - supply),
                        distance: abs(p - s.referencePrice), price: p)
            if let b = best {
                let better = here.volume != b.volume ? here.volume > b.volume
                    : here.imbalance != b.imbalance ? here.imbalance < b.imbalance
                    : here.distance != b.distance ? here.distance < b.distance
                    : here.price > b.price
                if better { best = here }
            } else {
                best = here
            }
            p += s.tick
        }
        guard let best, best.volume > 0 else { return nil }
        return (best.price, best.volume)
    }

    /// Best buy against best sell at the one price while both reach it; one account's pair is
    /// not traded but taken off both (the smaller canceled, the larger reduced), buy first.
    private mutating func uncross(_ i: Int, ts: Int64) {
        guard let (price, _) = plainIndicative(i) else { return }
        while let b = sortedBook(Int32(i), .buy).first, let a = sortedBook(Int32(i), .sell).first,
              orders[b].price >= price, orders[a].price <= price {
            let qty = min(orders[b].leaves, orders[a].leaves)
            if orders[b].account == orders[a].account {
                for index in [b, a] { selfMatch(index, qty: qty, ts: ts) }
                continue
            }
            let tid = nextTid
            nextTid += 1
            instruments[i].mdseq += 1
            instruments[i].lastTradePrice = price
            for index in [b, a] {
                orders[index].cum += qty
                let o = orders[index]
                var fill = orderEvent(.fill, broker: o.broker, ts: ts, cid: o.cid)
                fill.oid = o.oid
                fill.tid = tid
                fill.price = price
                fill.qty = qty
                fill.leaves = o.qty - o.cum
                fill.cum = o.cum
                fill.liquidity = .auction
                fill.side = o.side
                out.append(fill)
            }
            var e = Event(kind: .trade, broker: orders[b].broker, ts: ts)
            e.counterBroker = orders[a].broker
            e.account = orders[b].account
            e.counterAccount = orders[a].account
            e.instrument = Int32(i)
            e.mdseq = instruments[i].mdseq
            e.tid = tid
            e.price = price
            e.qty = qty
            e.tradeKind = .auction
            out.append(e)
            for index in [b, a] where orders[index].cum == orders[index].qty { removeFromBook(index) }
        }
    }

    private mutating func selfMatch(_ index: Int, qty: Int64, ts: Int64) {
        if orders[index].leaves == qty {
            removeFromBook(index)
            return canceled(index, .selfTrade, ts: ts)
        }
        orders[index].qty -= qty
        let o = orders[index]
        var e = orderEvent(.replaced, broker: o.broker, ts: ts, cid: o.cid)
        e.oid = o.oid
        e.newCid = o.cid
        e.qty = o.qty
        e.price = o.price
        e.leaves = o.leaves
        e.reason = CancelReason.selfTrade.rawValue
        out.append(e)
    }

    /// After every command: each instrument in `AUCTION` whose indicative uncross differs from
    /// the one last published gets an `indicative` event, in instrument order.
    private mutating func publishIndicatives(ts: Int64) {
        for i in instruments.indices where instruments[i].phase == .auction {
            let now = plainIndicative(i)
            let price = now?.price ?? 0
            let volume = now?.volume ?? 0
            if price == instruments[i].iop && volume == instruments[i].iov { continue }
            instruments[i].iop = price
            instruments[i].iov = volume
            var e = Event(kind: .indicative, broker: Command.scheduleBroker, ts: ts)
            e.instrument = Int32(i)
            e.price = price
            e.qty = volume
            out.append(e)
        }
    }
}
