/// Capacities fixed at start-up: the matcher allocates all its storage once.
public struct EngineLimits: Sendable {
    /// Live (resting) orders across all instruments.
    public var ordersLiveMax: Int
    /// Cids used in one trading day across all brokers (every `NEW` uses one, accepted or not).
    public var cidsPerDayMax: Int
    /// Lines of the shareholder register: (account, instrument) pairs ever held or bought. At
    /// least the configured holdings get room, whatever this says.
    public var positionsMax: Int
    /// Holding-period lock lots: one per position that bought on a day, kept until the shares
    /// become sellable.
    public var lockLotsMax: Int
    /// Quotes a trading day may post across the market. Each is remembered for the day (so an
    /// `ACCEPT` of one that finished gets `ORDER_DONE`); a regional market posts a few thousand.
    public var quotesPerDayMax: Int = 1 << 16
    /// Crosses waiting for their counterparty's side at once, across the market: each is a
    /// transfer agreed off the exchange, entered by hand.
    public var crossesWaitingMax: Int = 1 << 14
    /// Touch all storage at start instead of as the market grows into it (benchmarks: no page
    /// faults while timing). Off by default: start-up is then immediate and memory follows use.
    public var prefaultsMemory: Bool = false

    public init(ordersLiveMax: Int = 1 << 20, cidsPerDayMax: Int = 1 << 22, positionsMax: Int = 1 << 20,
                lockLotsMax: Int = 1 << 20) {
        self.ordersLiveMax = ordersLiveMax
        self.cidsPerDayMax = cidsPerDayMax
        self.positionsMax = positionsMax
        self.lockLotsMax = lockLotsMax
    }
}

/// Per-instrument trading state the matcher keeps beside the book.
public struct InstrumentState: Sendable, BitwiseCopyable {
    public var tick: Int64
    public var lot: Int64
    public var referencePrice: Int64
    public var bandPercent: Int64
    public var bandLow: Int64
    public var bandHigh: Int64
    /// The most ticks the book may span (`InstrumentConfig.bookTicksMax`); fixed at start.
    public var bookTicksMax: Int64
    /// The price of today's last trade, or 0 if it has not traded today.
    public var lastTradePrice: Int64
    /// The last market-data sequence number used.
    public var mdseq: Int64
    public var phase: TradingPhase
    public var halted: Bool
    /// Negotiated transfer only: the book's verbs and `PHASE AUCTION` are refused. (Beside the
    /// two flags, in their padding: a larger record is copied with memcpy on every order.)
    public var mode: InstrumentMode = .continuous
    /// The indicative uncross last published while in `AUCTION` (price 0: nothing would trade).
    /// Always what the book gives after a command, so it is derived again on restore.
    public var iop: Int64 = 0
    public var iov: Int64 = 0

    /// The reference price a `ROLL` now would give the next day: today's last trade price, or
    /// the same reference if there was none (`roll` uses it; the end-of-day files report it for a
    /// day still open).
    public var nextReferencePrice: Int64 { lastTradePrice != 0 ? lastTradePrice : referencePrice }
}

/// Counters for `STATS`.
public struct MatcherCounters: Sendable, Equatable {
    public var commands: Int64 = 0
    public var ordersAccepted: Int64 = 0
    public var trades: Int64 = 0
    public var rejects: Int64 = 0
}

/// The deterministic matching core: `(state, command) -> (state, events)`.
///
/// It owns every order book, the live orders and the day's cids, and nothing else: no clock, thread,
/// file or socket. Given the same commands (with their timestamps) it produces the same events and
/// the same state, bit for bit. It is `~Copyable` because it is the single owner of its storage.
public struct Matcher: ~Copyable, Sendable {
    /// Owns every array below; they live exactly as long as the matcher.
    let arena: Arena
    public let instruments: FixedArray<InstrumentState>
    let books: FixedArray<OrderBook>
    /// The owning broker of each account.
    @usableFromInline let accountBroker: FixedArray<Int32>
    @usableFromInline let brokerIsOperator: FixedArray<Bool>
    /// The last `seq` sent to each broker.
    @usableFromInline let brokerSeq: FixedArray<Int64>
    @usableFromInline var store: OrderStore
    @usableFromInline var cids: CidIndex
    /// Scratch for the batch loop: cid hashes of the commands between prefetch and use.
    let hashRing: FixedArray<UInt64>
    public internal(set) var tradingDate: CivilDate
    public internal(set) var nextOid: Int64 = 1
    public internal(set) var nextTid: Int64 = 1
    public internal(set) var counters = MatcherCounters()
    /// Accounts, the shareholder register and the money rules.
    public internal(set) var ledger: Ledger
    /// Instruments in `AUCTION` whose book changed during the current command (each once,
    /// `auctionChanged` marking it), so only their indicative uncross is looked at afterwards.
    let changedAuctions: FixedArray<Int32>
    let auctionChanged: FixedArray<Bool>
    var changedAuctionCount = 0
    /// Negotiated transfer: each instrument's quotes and waiting crosses, in entry order (linked
    /// through the orders' `next`/`prev`), the waiting crosses by (broker, ref), and the day's
    /// quotes by oid.
    let negotiatedHead: FixedArray<Int32>
    let negotiatedTail: FixedArray<Int32>
    var crosses: CrossTable
    var quotes: QuoteIndex

    public init(config: MarketConfig, limits: EngineLimits = EngineLimits()) {
        // A level's quantity sums the leaves of every order resting on it.
        precondition(Int64(limits.ordersLiveMax) <= Int64.max / Bounds.quantityMax, "order capacity too large")
        // A cid record keeps its broker in 16 bits.
        precondition(config.brokers.count <= Int(Int16.max), "more than \(Int16.max) brokers")
        arena = Arena(prefaults: limits.prefaultsMemory)
        tradingDate = config.tradingDate
        instruments = arena.make(count: config.instruments.count, repeating: InstrumentState(
            tick: 1, lot: 1, referencePrice: 1, bandPercent: 0, bandLow: 1, bandHigh: 1, bookTicksMax: 1,
            lastTradePrice: 0, mdseq: 0, phase: .open, halted: false))
        var bookList: [OrderBook] = []
        for (i, spec) in config.instruments.enumerated() {
            let ticksMax = spec.bookTicksMax
            let band = InstrumentConfig.band(referencePrice: spec.referencePrice, tick: spec.tick,
                                             bandPercent: spec.bandPercent, ticksMax: ticksMax)
            instruments[i] = InstrumentState(
                tick: spec.tick, lot: spec.lot, referencePrice: spec.referencePrice,
                bandPercent: spec.bandPercent, bandLow: band.low, bandHigh: band.high, bookTicksMax: ticksMax,
                lastTradePrice: 0, mdseq: 0, phase: spec.phase, halted: false, mode: spec.mode)
            bookList.append(OrderBook(lowPrice: band.low, highPrice: band.high, tick: spec.tick, arena: arena))
        }
        books = arena.make(count: bookList.count, repeating: bookList.first ?? OrderBook(lowPrice: 1, highPrice: 1, tick: 1, arena: arena))
        for (i, book) in bookList.enumerated() { books[i] = book }
        var brokerIndex: [String: Int32] = [:]
        brokerIsOperator = arena.make(count: config.brokers.count, repeating: false)
        for (i, broker) in config.brokers.enumerated() {
            brokerIndex[broker.id] = Int32(i)
            brokerIsOperator[i] = broker.isOperator
        }
        brokerSeq = arena.make(count: config.brokers.count, repeating: 0)
        accountBroker = arena.make(count: config.accounts.count, repeating: -1)
        for (i, account) in config.accounts.enumerated() {
            accountBroker[i] = brokerIndex[account.broker] ?? -1
        }
        store = OrderStore(capacity: limits.ordersLiveMax, arena: arena)
        cids = CidIndex(capacity: limits.cidsPerDayMax, arena: arena)
        hashRing = arena.make(count: 2 * Matcher.hashRingSize, repeating: 0)
        ledger = Ledger(config: config, limits: limits, arena: arena)
        changedAuctions = arena.make(count: max(config.instruments.count, 1), repeating: -1)
        auctionChanged = arena.make(count: max(config.instruments.count, 1), repeating: false)
        negotiatedHead = arena.make(count: max(config.instruments.count, 1), repeating: -1)
        negotiatedTail = arena.make(count: max(config.instruments.count, 1), repeating: -1)
        crosses = CrossTable(capacity: limits.crossesWaitingMax, arena: arena)
        quotes = QuoteIndex(capacity: limits.quotesPerDayMax, arena: arena)
        for i in 0..<Int32(config.instruments.count) where instruments[i].phase == .auction {
            books[i].activateAuctionIndex()
        }
    }

    // MARK: - The one entry point

    /// Applies one sequenced command, appending its events to `out` in the order they happen.
    public mutating func process(_ command: Command, into out: inout EventBuffer) {
        let hash = CidIndex.hash(broker: command.broker, cid: command.cid)
        let newHash = command.kind == .replace ? CidIndex.hash(broker: command.broker, cid: command.newCid) : 0
        apply(command, hash: hash, newHash: newHash, &out)
    }

    /// Applies one command whose cid hashes (`newHash` for a `REPLACE`'s new cid) are known.
    @inline(__always)
    mutating func apply(_ command: Command, hash: UInt64, newHash: UInt64, _ out: inout EventBuffer) {
        counters.commands += 1
        switch command.kind {
        case .new: newOrder(command, hash: hash, &out)
        case .cancel: cancel(command, hash: hash, &out)
        case .replace: replace(command, hash: hash, newHash: newHash, &out)
        case .status: status(command, hash: hash, &out)
        case .halt, .resume, .phase, .roll, .stats, .deposit, .withdraw: operatorCommand(command, &out)
        case .cancelOnDisconnect: cancelOnDisconnect(command, &out)
        case .quote: quote(command, hash: hash, &out)
        case .accept: accept(command, hash: hash, &out)
        case .cross: cross(command, hash: hash, &out)
        }
        if changedAuctionCount != 0 { publishIndicatives(ts: command.ts, &out) }
    }

    /// How many commands ahead a batch starts loading cid-table entries, and records.
    static let prefetchEntryDistance = 8
    static let prefetchRecordDistance = 4
    /// `hashRing` holds (cid, newcid) hash pairs for this many commands; a power of two larger
    /// than `prefetchEntryDistance`.
    static let hashRingSize = 16
    static let hashRingMask = hashRingSize - 1

    /// Applies a batch of sequenced commands in order, exactly as one `process` call per command
    /// would, appending all their events to `out`. While one command runs, the cid-index entries
    /// of the next few are already being loaded, hiding most cache misses on a large day. Each
    /// cid is hashed once, when its entry is prefetched; the hashes wait in `hashRing` until use.
    public mutating func process(_ commands: UnsafeBufferPointer<Command>, into out: inout EventBuffer) {
        let count = commands.count
        let ring = hashRing
        let mask = Matcher.hashRingMask
        for i in 0..<min(count, Matcher.prefetchEntryDistance) { hashAndPrefetch(commands[i], ring, i & mask) }
        for i in 0..<count {
            if i + Matcher.prefetchEntryDistance < count {
                let ahead = i + Matcher.prefetchEntryDistance
                hashAndPrefetch(commands[ahead], ring, ahead & mask)
            }
            if i + Matcher.prefetchRecordDistance < count {
                let ahead = i + Matcher.prefetchRecordDistance
                if commands[ahead].kind != .new { cids.prefetchRecord(hash: ring[2 * (ahead & mask)]) }
            }
            let at = 2 * (i & mask)
            apply(commands[i], hash: ring[at], newHash: ring[at + 1], &out)
        }
    }

    /// Hashes a command's cids into `ring` at `position` and starts loading their table entries.
    @inline(__always)
    func hashAndPrefetch(_ c: Command, _ ring: FixedArray<UInt64>, _ position: Int) {
        let hash = CidIndex.hash(broker: c.broker, cid: c.cid)
        ring[2 * position] = hash
        switch c.kind {
        case .new, .cancel, .status, .quote, .accept, .cross:
            cids.prefetchEntry(hash: hash)
        case .replace:
            let newHash = CidIndex.hash(broker: c.broker, cid: c.newCid)
            ring[2 * position + 1] = newHash
            cids.prefetchEntry(hash: hash)
            cids.prefetchEntry(hash: newHash)
        default:
            break
        }
    }

    // MARK: - Events

    @inline(__always)
    mutating func nextSeq(_ broker: Int32) -> Int64 {
        let seq = brokerSeq[broker] + 1
        brokerSeq[broker] = seq
        return seq
    }

    /// The last `seq` sent to `broker`.
    public func lastSeq(broker: Int32) -> Int64 { brokerSeq[broker] }

    mutating func reject(_ c: Command, _ reason: RejectReason, _ detail: RejectDetail = .none,
                         _ out: inout EventBuffer) {
        let seq = nextSeq(c.broker)
        counters.rejects += 1
        out.append(.reject, broker: c.broker, ts: c.ts) { e in
            e.seq = seq
            e.cid = c.cid
            e.reason = reason.rawValue
            e.detail = detail
        }
    }

    /// A refusal of an operator verb: carries no broker `seq`.
    mutating func rejectOperator(_ c: Command, _ reason: RejectReason, _ detail: RejectDetail = .none,
                                 _ out: inout EventBuffer) {
        var e = Event(kind: .reject, broker: c.broker, ts: c.ts)
        e.reason = reason.rawValue
        e.detail = detail
        e.verb = c.kind
        counters.rejects += 1
        out.append(e)
    }

    mutating func emitCanceled(broker: Int32, cid: ClientOrderID, oid: Int64, reason: CancelReason,
                                          ts: Int64, _ out: inout EventBuffer) {
        let seq = nextSeq(broker)
        out.append(.canceled, broker: broker, ts: ts) { e in
            e.seq = seq
            e.cid = cid
            e.oid = oid
            e.reason = reason.rawValue
        }
    }

    // MARK: - NEW

    /// The order being matched: a `NEW`, or a `REPLACE` that lost priority.
    @usableFromInline struct Taker {
        var cid: ClientOrderID
        var oid: Int64
        var qty: Int64
        var leaves: Int64
        /// The worst price it may trade at.
        var limit: Int64
        var account: Int32
        var broker: Int32
        var side: Side
        /// A buy's cash still frozen (value + fee not yet paid); 0 for a sell.
        var frozen: Int64
        /// The account's register line in this instrument.
        var position: Int32
    }

    /// Why matching stopped with quantity left.
    @usableFromInline enum MatchStop { case done, exhausted, selfTrade }

    @inline(__always)
    func validateQuantity(_ qty: Int64, lot: Int64) -> RejectReason? {
        if qty <= 0 || qty > Bounds.quantityMax { return .badQty }
        if qty % lot != 0 { return .lotSize }
        return nil
    }

    @inline(__always)
    func validatePrice(_ price: Int64, _ s: InstrumentState) -> (RejectReason, RejectDetail)? {
        if price == Command.invalid || price > Bounds.priceMax { return (.badPrice, .none) }
        if price == 0 { return (.badPrice, .zero) }
        if price % s.tick != 0 { return (.tickSize, .none) }
        if price < s.bandLow || price > s.bandHigh { return (.priceBand, .none) }
        return nil
    }

    @inline(__always)
    func validateNew(_ c: Command) -> (RejectReason, RejectDetail)? {
        if c.account < 0 || Int(c.account) >= accountBroker.count { return (.unknownAccount, .none) }
        if accountBroker[c.account] != c.broker { return (.notYourAccount, .none) }
        if c.instrument < 0 || Int(c.instrument) >= instruments.count { return (.unknownSymbol, .none) }
        let s = instruments[c.instrument]
        if let reason = validateQuantity(c.qty, lot: s.lot) { return (reason, .none) }
        if c.type == .limit {
            if c.price == Command.absent { return (.badPrice, .missingPrice) }
            if let bad = validatePrice(c.price, s) { return bad }
        } else if c.price != Command.absent {
            return (.badPrice, .marketWithPrice)
        }
        if s.halted { return (.halted, .none) }
        if s.phase != .open {
            if s.phase == .closed { return (.marketClosed, .none) }
            // A call auction collects only orders that can wait for its one price.
            if c.type == .market || c.tif == .ioc || c.tif == .fok { return (.marketClosed, .auction) }
        }
        return nil
    }

    /// A `NEW`: checked (validation, the market's rules, capacity, in the contract's order, nothing
    /// changed on a refusal), acknowledged and frozen, then matched, rested or ended. One function
    /// on purpose: split into admit / accept / execute it took 2% more instructions on the
    /// standard mix (callgrind), the value it passes between the parts not kept in registers.
    mutating func newOrder(_ c: Command, hash: UInt64, _ out: inout EventBuffer) {
        let probe = cids.find(broker: c.broker, cid: c.cid, hash: hash)
        if probe.record >= 0 {
            reject(c, .duplicateCid, .none, &out)
            return
        }
        if cids.isFull {
            // No room to remember the cid: refuse without using it.
            reject(c, .throttled, .capacity, &out)
            return
        }
        var refusal = validateNew(c)
        // Kept out of `validateNew`: one more refusal there costs every NEW some 40 instructions
        // (callgrind), the compiler no longer keeping the instrument's fields in registers.
        if refusal == nil && instruments[c.instrument].mode == .negotiated { refusal = (.notPermitted, .negotiatedOnly) }
        // The market's rules, checked before anything changes. The same as `checkRules` (which the
        // negotiated verbs call), written out here: the compiler does not inline that call, and
        // it cost every NEW some 19 instructions (callgrind, standard mix).
        var admission = Admission(refusal: nil, position: -1, value: 0, frozen: 0)
        if refusal == nil {
            admission.position = ledger.register.findPosition(account: c.account, instrument: c.instrument)
            if c.side == .buy {
                let limit = c.type == .market ? instruments[c.instrument].bandHigh : c.price
                switch ledger.checkBuy(account: c.account, instrument: c.instrument, position: admission.position,
                                       limit: limit, qty: c.qty, date: tradingDate) {
                case .failure(let refused):
                    refusal = (refused.reason, refused.detail)
                case .success(let cost):
                    admission.value = cost.value
                    admission.frozen = cost.frozen
                    if let twoWay = ledger.checkTwoWay(position: admission.position, instrument: c.instrument, side: .buy) {
                        refusal = (twoWay.reason, twoWay.detail)
                    } else if (admission.position < 0 && ledger.register.positionsFull)
                        || !ledger.register.canLock(position: admission.position, instrument: c.instrument) {
                        refusal = (.throttled, .capacity)
                    }
                }
            } else if let reason = ledger.checkSell(position: admission.position, qty: c.qty) {
                refusal = (reason, .none)
            } else if let twoWay = ledger.checkTwoWay(position: admission.position, instrument: c.instrument, side: .sell) {
                refusal = (twoWay.reason, twoWay.detail)
            }
        }
        // Only an order that may rest needs a slot: a full book must not stop IOC, FOK and
        // MARKET orders, which could otherwise drain it.
        let mayRest = c.type == .limit && (c.tif == .day || c.tif == .gtc)
        if refusal == nil && mayRest && store.isFull { refusal = (.throttled, .capacity) }
        if let (reason, detail) = refusal {
            // A refused NEW still uses its cid (the protocol: a REJ carrying seq uses it).
            _ = cids.insert(CidRecord(cid: c.cid, oid: 0, qty: 0, price: 0, cum: 0, broker: c.broker, slot: -1,
                                      state: .rejected), at: probe)
            reject(c, reason, detail, &out)
            return
        }
        let s = instruments[c.instrument]
        let limit = c.type == .market ? (c.side == .buy ? s.bandHigh : s.bandLow) : c.price
        let tif: TimeInForce = c.type == .market ? (c.tif == .fok ? .fok : .ioc) : c.tif
        let (oid, record) = acknowledge(c, at: probe, instrument: c.instrument, side: c.side, limit: limit, tif: tif,
                                        verb: .new, &out)
        var position = admission.position
        let frozen = admission.frozen
        freeze(account: c.account, instrument: c.instrument, side: c.side, position: &position, qty: c.qty,
               value: admission.value, frozen: frozen)
        var taker = Taker(cid: c.cid, oid: oid, qty: c.qty, leaves: c.qty, limit: limit, account: c.account,
                          broker: c.broker, side: c.side, frozen: frozen, position: position)
        if s.phase == .auction {
            // Collected for the uncross: it rests even where it crosses.
            rest(record, taker, instrument: c.instrument, tif: tif)
            noteAuctionChange(c.instrument)
            return
        }
        if tif == .fok {
            let (available, blockedBySelf) = fillable(c.instrument, taker)
            if available < taker.qty {
                finishTaker(record, taker, reason: blockedBySelf ? .selfTrade : .fok, ts: c.ts, &out)
                return
            }
        }
        let stop = match(c.instrument, &taker, ts: c.ts, &out)
        switch stop {
        case .done:
            finishTaker(record, taker, reason: nil, ts: c.ts, &out)
        case .selfTrade:
            finishTaker(record, taker, reason: .selfTrade, ts: c.ts, &out)
        case .exhausted:
            if tif == .ioc || tif == .fok {
                finishTaker(record, taker, reason: .ioc, ts: c.ts, &out)
            } else {
                rest(record, taker, instrument: c.instrument, tif: tif)
            }
        }
    }

    /// What the market's rules make of an order about to be accepted: a refusal, or the
    /// account's register line (-1 if it has none yet) and what a buy freezes.
    @usableFromInline struct Admission {
        var refusal: (RejectReason, RejectDetail)?
        var position: Int32
        var value: Int64
        var frozen: Int64
    }

    /// The market's rules for an order of `qty` on `side` (a buy at most at `limit`), checked
    /// before anything changes, in the contract's order: money and holders, the two-way rule,
    /// then the register's capacity. Shared by `NEW` and the negotiated verbs.
    @inline(__always)
    mutating func checkRules(account: Int32, instrument: Int32, side: Side, limit: Int64, qty: Int64) -> Admission {
        var a = Admission(refusal: nil, position: ledger.register.findPosition(account: account, instrument: instrument),
                          value: 0, frozen: 0)
        if side == .buy {
            switch ledger.checkBuy(account: account, instrument: instrument, position: a.position, limit: limit,
                                   qty: qty, date: tradingDate) {
            case .failure(let refused):
                a.refusal = (refused.reason, refused.detail)
            case .success(let cost):
                a.value = cost.value
                a.frozen = cost.frozen
                if let twoWay = ledger.checkTwoWay(position: a.position, instrument: instrument, side: .buy) {
                    a.refusal = (twoWay.reason, twoWay.detail)
                } else if (a.position < 0 && ledger.register.positionsFull)
                    || !ledger.register.canLock(position: a.position, instrument: instrument) {
                    a.refusal = (.throttled, .capacity)
                }
            }
        } else if let reason = ledger.checkSell(position: a.position, qty: qty) {
            a.refusal = (reason, .none)
        } else if let twoWay = ledger.checkTwoWay(position: a.position, instrument: instrument, side: .sell) {
            a.refusal = (twoWay.reason, twoWay.detail)
        }
        return a
    }

    /// Accepts an order that passed every check: a new oid, its live cid record (where `probe`
    /// said), and its `ACK` (`verb` names a negotiated verb's `type=`). Returns the oid and record.
    @inline(__always)
    mutating func acknowledge(_ c: Command, at probe: CidIndex.Probe, instrument: Int32, side: Side, limit: Int64,
                              tif: TimeInForce, verb: CommandKind, _ out: inout EventBuffer) -> (Int64, Int32) {
        let oid = nextOid
        nextOid += 1
        counters.ordersAccepted += 1
        let record = cids.insert(CidRecord(cid: c.cid, oid: oid, qty: c.qty, price: limit, cum: 0, broker: c.broker,
                                           slot: -1, state: .live), at: probe)
        let seq = nextSeq(c.broker)
        out.append(.ack, broker: c.broker, ts: c.ts) { ack in
            ack.seq = seq
            ack.cid = c.cid
            ack.oid = oid
            ack.account = c.account
            ack.instrument = instrument
            ack.side = side
            ack.qty = c.qty
            ack.price = limit
            ack.tif = tif
            ack.type = c.type
            ack.verb = verb
        }
        return (oid, record)
    }

    /// Freezes what an accepted order needs: a buy's cash (and its register line and lock lot,
    /// created if this is the account's first buy of the instrument), a sell's shares.
    @inline(__always)
    mutating func freeze(account: Int32, instrument: Int32, side: Side, position: inout Int32, qty: Int64,
                         value: Int64, frozen: Int64) {
        if side == .buy {
            if position < 0 { position = ledger.register.findOrCreatePosition(account: account, instrument: instrument) }
            let locked = ledger.register.ensureLot(position: position, instrument: instrument)
            precondition(position >= 0 && locked, "accepted a buy without room in the register")
            ledger.freezeBuy(account: account, position: position, value: value, frozen: frozen)
        } else {
            ledger.freezeSell(position: position, qty: qty)
        }
    }

    /// Ends an order that will not rest: filled, or its remainder canceled for `reason`.
    mutating func finishTaker(_ record: Int32, _ taker: Taker, reason: CancelReason?, ts: Int64,
                                         _ out: inout EventBuffer) {
        cids[record].end(taker.leaves == 0 ? .filled : .canceled, qty: taker.qty, cum: taker.qty - taker.leaves,
                         price: taker.limit)
        release(side: taker.side, account: taker.account, position: taker.position, frozen: taker.frozen,
                limit: taker.limit, leaves: taker.leaves)
        if taker.leaves != 0 {
            emitCanceled(broker: taker.broker, cid: taker.cid, oid: taker.oid, reason: reason ?? .ioc, ts: ts, &out)
        }
    }

    /// An order ended: what it still held frozen goes back to its account.
    mutating func release(side: Side, account: Int32, position: Int32, frozen: Int64, limit: Int64, leaves: Int64) {
        if side == .buy {
            ledger.releaseBuy(account: account, position: position, frozen: frozen, limit: limit, leaves: leaves)
        } else {
            ledger.releaseSell(position: position, leaves: leaves)
        }
    }

    @inline(__always)
    mutating func rest(_ record: Int32, _ taker: Taker, instrument: Int32, tif: TimeInForce) {
        let slot = store.allocate(RestingOrder(
            cid: taker.cid, oid: taker.oid, price: taker.limit, qty: taker.qty, leaves: taker.leaves, next: -1,
            prev: -1, account: taker.account, broker: taker.broker, instrument: instrument, cidRecord: record,
            level: -1, side: taker.side, tif: tif, frozen: taker.frozen, position: taker.position))
        books[instrument].append(slot, store: &store)
        cids[record].slot = slot
    }

    /// Remembers that an instrument's book changed, if it is collecting an auction.
    @inline(__always)
    mutating func noteAuctionChange(_ instrument: Int32) {
        if instruments[instrument].phase == .auction && !auctionChanged[instrument] {
            auctionChanged[instrument] = true
            changedAuctions[changedAuctionCount] = instrument
            changedAuctionCount += 1
        }
    }

    /// How much a FOK could fill now: the opposite side within its limit, up to the first resting
    /// order of its own account (self-trade prevention stops there).
    mutating func fillable(_ instrument: Int32, _ taker: Taker) -> (Int64, Bool) {
        let book = books[instrument]
        let opposite = taker.side.opposite
        var available: Int64 = 0
        var blocked = false
        var index = book.best(opposite)
        let levels = book.levels(opposite)
        outer: while index >= 0 && available < taker.qty {
            let price = book.price(ofLevel: index)
            if taker.side == .buy ? price > taker.limit : price < taker.limit { break }
            var slot = levels[index].head
            while slot >= 0 {
                if store[slot].account == taker.account {
                    blocked = true
                    break outer
                }
                available += store[slot].leaves
                if available >= taker.qty { break outer }
                slot = store[slot].next
            }
            index = book.nextLevel(opposite, after: index)
        }
        return (available, blocked)
    }

    /// Trades `taker` against the opposite side in price-time priority while it crosses.
    mutating func match(_ instrument: Int32, _ taker: inout Taker, ts: Int64,
                                   _ out: inout EventBuffer) -> MatchStop {
        let opposite = taker.side.opposite
        let book = books[instrument]
        let levels = book.levels(opposite)
        // Local views: the storage they point at does not move while matching.
        let orders = store.slots
        let records = cids.records
        let takerBuys = taker.side == .buy
        while taker.leaves > 0 {
            let index = books[instrument].best(opposite)
            if index < 0 { return .exhausted }
            let price = book.price(ofLevel: index)
            if takerBuys ? price > taker.limit : price < taker.limit { return .exhausted }
            var slot = levels[index].head
            while slot >= 0 && taker.leaves > 0 {
                let resting = orders[slot]
                if resting.account == taker.account { return .selfTrade }
                let qty = min(taker.leaves, resting.leaves)
                let makerLeaves = resting.leaves - qty
                taker.leaves -= qty
                orders[slot].leaves = makerLeaves
                levels[index].qty -= qty
                var maker = resting
                maker.leaves = makerLeaves
                let (fees, paid) = settleFill(instrument, taker, resting, price: price, qty: qty)
                if takerBuys {
                    taker.frozen -= paid
                } else {
                    maker.frozen -= paid
                    orders[slot].frozen = maker.frozen
                }
                trade(instrument, taker, maker: maker, price: price, qty: qty, fees: fees, ts: ts, &out)
                let next = resting.next
                if makerLeaves == 0 {
                    release(side: maker.side, account: maker.account, position: maker.position,
                            frozen: maker.frozen, limit: maker.price, leaves: 0)
                    let record = resting.cidRecord
                    precondition(record >= 0 && record < cids.count, "cid record out of range")
                    records[record].end(.filled, qty: resting.qty, cum: resting.qty, price: resting.price)
                    assert(levels[index].head == slot, "a fill not at the head of its level")
                    books[instrument].removeFilledHead(opposite, level: index, next: next, store: &store)
                    store.free(slot)
                }
                slot = next
            }
        }
        return .done
    }

    /// Settles one fill, delivery versus payment; returns its fees and what the buy side paid
    /// from its own order's frozen cash (the taker's or the maker's), which drops by that much.
    @inline(__always)
    mutating func settleFill(_ instrument: Int32, _ taker: Taker, _ maker: RestingOrder, price: Int64,
                             qty: Int64) -> (FillFees, Int64) {
        taker.side == .buy
            ? ledger.settle(buyer: taker.account, buyerPosition: taker.position, buyLimit: taker.limit,
                            seller: maker.account, sellerPosition: maker.position, instrument: instrument, price: price,
                            qty: qty)
            : ledger.settle(buyer: maker.account, buyerPosition: maker.position, buyLimit: maker.price,
                            seller: taker.account, sellerPosition: taker.position, instrument: instrument, price: price,
                            qty: qty)
    }

    /// Emits one trade: the taker's FILL, the maker's FILL, then the public TRADE.
    @inline(__always)
    mutating func trade(_ instrument: Int32, _ taker: Taker, maker: RestingOrder, price: Int64,
                        qty: Int64, fees: FillFees, kind: TradeKind = .book, ts: Int64, _ out: inout EventBuffer) {
        let tid = nextTid
        nextTid += 1
        counters.trades += 1
        let takerSeq = nextSeq(taker.broker)
        out.append(.fill, broker: taker.broker, ts: ts) { fill in
            fill.seq = takerSeq
            fill.cid = taker.cid
            fill.oid = taker.oid
            fill.tid = tid
            fill.price = price
            fill.qty = qty
            fill.leaves = taker.leaves
            fill.cum = taker.qty - taker.leaves
            fill.liquidity = .taker
            fill.side = taker.side
        }
        let makerSeq = nextSeq(maker.broker)
        out.append(.fill, broker: maker.broker, ts: ts) { fill in
            fill.seq = makerSeq
            fill.cid = maker.cid
            fill.oid = maker.oid
            fill.tid = tid
            fill.price = price
            fill.qty = qty
            fill.leaves = maker.leaves
            fill.cum = maker.qty - maker.leaves
            fill.liquidity = .maker
            fill.side = maker.side
        }
        let mdseq = instruments[instrument].mdseq + 1
        instruments[instrument].mdseq = mdseq
        // A negotiated trade sets the next reference price only where nothing else trades.
        if kind == .book || instruments[instrument].mode == .negotiated { instruments[instrument].lastTradePrice = price }
        let takerBuys = taker.side == .buy
        out.append(.trade, broker: takerBuys ? taker.broker : maker.broker, ts: ts) { print in
            print.instrument = instrument
            print.mdseq = mdseq
            print.tid = tid
            print.price = price
            print.qty = qty
            print.account = takerBuys ? taker.account : maker.account
            print.counterAccount = takerBuys ? maker.account : taker.account
            print.counterBroker = takerBuys ? maker.broker : taker.broker
            print.side = taker.side
            print.buyerFee = fees.buyerFee
            print.sellerFee = fees.sellerFee
            print.stampDuty = fees.stampDuty
            print.tradeKind = kind
        }
    }

    // MARK: - CANCEL, REPLACE, STATUS

    /// Finds the live order a cid names, or rejects the command and returns nil.
    mutating func liveOrder(_ c: Command, hash: UInt64, _ out: inout EventBuffer) -> (record: Int32, slot: Int32)? {
        let probe = cids.find(broker: c.broker, cid: c.cid, hash: hash)
        if probe.record < 0 {
            reject(c, .unknownOrder, .none, &out)
            return nil
        }
        let record = cids[probe.record]
        switch record.state {
        case .live: return (probe.record, record.slot)
        case .rejected: reject(c, .unknownOrder, .rejectedOrder, &out)
        case .replaced: reject(c, .unknownOrder, .replaced, &out)
        case .filled, .canceled: reject(c, .orderDone, .none, &out)
        }
        return nil
    }

    mutating func cancel(_ c: Command, hash: UInt64, _ out: inout EventBuffer) {
        guard let (record, slot) = liveOrder(c, hash: hash, &out) else { return }
        cancelResting(record: record, slot: slot, reason: .user, ts: c.ts, &out)
    }

    /// Takes a resting order off the book and tells its broker.
    mutating func cancelResting(record: Int32, slot: Int32, reason: CancelReason, ts: Int64,
                                _ out: inout EventBuffer) {
        let order = store[slot]
        if order.kind != .book {
            cancelNegotiated(record: record, slot: slot, reason: reason, ts: ts, &out)
            return
        }
        books[order.instrument].remove(slot, store: &store)
        noteAuctionChange(order.instrument)
        release(side: order.side, account: order.account, position: order.position, frozen: order.frozen,
                limit: order.price, leaves: order.leaves)
        recordEnded(record, order, .canceled)
        store.free(slot)
        emitCanceled(broker: order.broker, cid: order.cid, oid: order.oid, reason: reason, ts: ts, &out)
    }

    /// An order's cid record once it is done: its final quantities, and no slot.
    @inline(__always)
    mutating func recordEnded(_ record: Int32, _ order: RestingOrder, _ state: CidState) {
        cids[record].end(state, qty: order.qty, cum: order.qty - order.leaves, price: order.price)
    }

    mutating func replace(_ c: Command, hash: UInt64, newHash: UInt64, _ out: inout EventBuffer) {
        guard let (record, slot) = liveOrder(c, hash: hash, &out) else { return }
        if store[slot].kind != .book {
            // A quote or cross is firm as entered: cancel it and enter another.
            reject(c, .notPermitted, .none, &out)
            return
        }
        let newProbe = cids.find(broker: c.broker, cid: c.newCid, hash: newHash)
        if newProbe.record >= 0 {
            reject(c, .duplicateCid, .none, &out)
            return
        }
        let order = store[slot]
        if let (reason, detail) = validateReplace(c, instruments[order.instrument]) {
            reject(c, reason, detail, &out)
            return
        }
        let newQty = c.qty == Command.absent ? order.qty : c.qty
        let newPrice = c.price == Command.absent ? order.price : c.price
        let cum = order.qty - order.leaves
        if newQty <= cum {
            // Nothing left to trade at the new size: the order is canceled and newcid stays unused.
            cancelResting(record: record, slot: slot, reason: .user, ts: c.ts, &out)
            return
        }
        let newLeaves = newQty - cum
        // The market's rules for the new size and price, checked before anything changes.
        var newFrozen: Int64 = 0
        var valueDelta: Int64 = 0
        if order.side == .buy {
            let held = (frozen: order.frozen, value: order.price * order.leaves)
            switch ledger.checkBuy(account: order.account, instrument: order.instrument, position: order.position,
                                   limit: newPrice, qty: newLeaves, date: tradingDate, held: held) {
            case .failure(let refused):
                reject(c, refused.reason, refused.detail, &out)
                return
            case .success(let cost):
                newFrozen = cost.frozen
                valueDelta = cost.value - held.value
            }
        } else if newLeaves > order.leaves,
                  let reason = ledger.checkSell(position: order.position, qty: newLeaves - order.leaves) {
            reject(c, reason, .none, &out)
            return
        }
        if cids.isFull {
            reject(c, .throttled, .capacity, &out)
            return
        }
        if order.side == .buy {
            ledger.adjustBuy(account: order.account, frozenDelta: newFrozen - order.frozen, valueDelta: valueDelta)
        } else {
            ledger.adjustSell(position: order.position, by: newLeaves - order.leaves)
        }
        let keepsPriority = newPrice == order.price && newQty <= order.qty
        let newRecord = recordReplace(c, order, record: record, slot: slot, newQty: newQty, newPrice: newPrice,
                                      at: newProbe, &out)
        if keepsPriority {
            books[order.instrument].reduce(order.side, level: order.level,
                                           by: order.leaves - newLeaves)
            noteAuctionChange(order.instrument)
            store[slot].qty = newQty
            store[slot].leaves = newLeaves
            store[slot].cid = c.newCid
            store[slot].cidRecord = newRecord
            store[slot].frozen = newFrozen
            return
        }
        // Loses priority: off the book, and in again as if new (it may now cross).
        books[order.instrument].remove(slot, store: &store)
        store.free(slot)
        var taker = Taker(cid: c.newCid, oid: order.oid, qty: newQty, leaves: newLeaves, limit: newPrice,
                          account: order.account, broker: order.broker, side: order.side, frozen: newFrozen,
                          position: order.position)
        if instruments[order.instrument].phase == .auction {
            // A replace never trades during the auction: it waits for the uncross like the rest.
            rest(newRecord, taker, instrument: order.instrument, tif: order.tif)
            noteAuctionChange(order.instrument)
            return
        }
        switch match(order.instrument, &taker, ts: c.ts, &out) {
        case .done: finishTaker(newRecord, taker, reason: nil, ts: c.ts, &out)
        case .selfTrade: finishTaker(newRecord, taker, reason: .selfTrade, ts: c.ts, &out)
        case .exhausted: rest(newRecord, taker, instrument: order.instrument, tif: order.tif)
        }
    }

    /// Why a `REPLACE` of an order on `s` may not go ahead before the market's rules: its values
    /// (`BAD_QTY`, `LOT_SIZE`, `BAD_PRICE`, `TICK_SIZE`, `PRICE_BAND`), a halt, a closed phase.
    func validateReplace(_ c: Command, _ s: InstrumentState) -> (RejectReason, RejectDetail)? {
        if c.qty != Command.absent, let reason = validateQuantity(c.qty == Command.invalid ? -1 : c.qty, lot: s.lot) {
            return (reason, .none)
        }
        if c.price != Command.absent, let refusal = validatePrice(c.price, s) { return refusal }
        if s.halted { return (.halted, .none) }
        if s.phase == .closed { return (.marketClosed, .none) }
        if s.mode == .negotiated { return (.notPermitted, .negotiatedOnly) }
        return nil
    }

    /// The cid records of a replace (the old one done, the new one live on the same slot) and its
    /// `REPLACED`; returns the new record.
    mutating func recordReplace(_ c: Command, _ order: RestingOrder, record: Int32, slot: Int32, newQty: Int64,
                                newPrice: Int64, at newProbe: CidIndex.Probe, _ out: inout EventBuffer) -> Int32 {
        let cum = order.qty - order.leaves
        cids[record].end(.replaced, qty: order.qty, cum: cum, price: order.price)
        let newRecord = cids.insert(CidRecord(cid: c.newCid, oid: order.oid, qty: newQty, price: newPrice, cum: cum,
                                              broker: c.broker, slot: slot, state: .live), at: newProbe)
        let seq = nextSeq(c.broker)
        out.append(.replaced, broker: c.broker, ts: c.ts) { e in
            e.seq = seq
            e.cid = c.cid
            e.newCid = c.newCid
            e.oid = order.oid
            e.qty = newQty
            e.price = newPrice
            e.leaves = newQty - cum
        }
        return newRecord
    }

    mutating func status(_ c: Command, hash: UInt64, _ out: inout EventBuffer) {
        let probe = cids.find(broker: c.broker, cid: c.cid, hash: hash)
        var e = Event(kind: .status, broker: c.broker, ts: c.ts)
        e.cid = c.cid
        guard probe.record >= 0 else {
            reject(c, .unknownOrder, .none, &out)
            return
        }
        let record = cids[probe.record]
        switch record.state {
        case .rejected:
            reject(c, .unknownOrder, .rejectedOrder, &out)
            return
        case .replaced:
            reject(c, .unknownOrder, .replaced, &out)
            return
        case .live:
            let order = store[record.slot]
            e.oid = order.oid
            e.qty = order.qty
            e.price = order.price
            e.leaves = order.leaves
            e.cum = order.qty - order.leaves
            e.state = e.cum > 0 ? .partial : .new
        case .filled, .canceled:
            e.oid = record.oid
            e.qty = record.qty
            e.price = record.price
            e.leaves = 0
            e.cum = record.cum
            e.state = record.state == .filled ? .filled : .canceled
        }
        e.seq = nextSeq(c.broker)
        out.append(e)
    }

    // MARK: - Operator verbs

    mutating func operatorCommand(_ c: Command, _ out: inout EventBuffer) {
        let scheduled = c.broker == Command.scheduleBroker && c.kind == .phase
        guard scheduled || (c.broker >= 0 && Int(c.broker) < brokerIsOperator.count && brokerIsOperator[c.broker]) else {
            rejectOperator(c, .notPermitted, .none, &out)
            return
        }
        var ok = Event(kind: .ok, broker: c.broker, ts: c.ts)
        ok.verb = c.kind
        ok.instrument = c.instrument
        switch c.kind {
        case .halt, .resume, .phase:
            guard c.instrument >= 0 && Int(c.instrument) < instruments.count else {
                rejectOperator(c, .unknownSymbol, .none, &out)
                return
            }
            if c.kind == .phase && c.phase == .auction && instruments[c.instrument].mode == .negotiated {
                rejectOperator(c, .notPermitted, .negotiatedOnly, &out)
                return
            }
            if c.kind == .phase { ok.phase = c.phase }
            out.append(ok)
            switch c.kind {
            case .halt: instruments[c.instrument].halted = true
            case .resume: resume(c.instrument, ts: c.ts, &out)
            default: changePhase(c.instrument, to: c.phase, ts: c.ts, &out)
            }
        case .roll:
            guard c.date > tradingDate else {
                rejectOperator(c, .malformed, .dateNotLater, &out)
                return
            }
            ok.date = c.date
            out.append(ok)
            roll(to: c.date, ts: c.ts, &out)
        case .deposit, .withdraw:
            guard c.account >= 0 && Int(c.account) < ledger.accounts.count else {
                rejectOperator(c, .unknownAccount, .none, &out)
                return
            }
            guard c.price > 0 else {
                rejectOperator(c, .malformed, .badAmount, &out)
                return
            }
            if c.kind == .deposit {
                if !ledger.deposit(account: c.account, amount: c.price) {
                    rejectOperator(c, .malformed, .cashLimit, &out)
                    return
                }
            } else if !ledger.withdraw(account: c.account, amount: c.price) {
                rejectOperator(c, .insufficientCash, .none, &out)
                return
            }
            ok.account = c.account
            ok.price = c.price
            ok.qty = ledger.accounts[c.account].cash
            out.append(ok)
        case .stats:
            var e = Event(kind: .stats, broker: c.broker, ts: c.ts)
            e.qty = counters.commands
            e.oid = counters.ordersAccepted
            e.tid = counters.trades
            e.leaves = Int64(store.liveCount)
            e.cum = counters.rejects
            out.append(e)
        case .new, .cancel, .replace, .status, .cancelOnDisconnect, .quote, .accept, .cross:
            preconditionFailure("not an operator verb")
        }
    }

    /// Every open `DAY` order of the command's broker, canceled `reason=ADMIN`: instrument by
    /// instrument (configuration order), bids then asks, in priority order. No other answer.
    mutating func cancelOnDisconnect(_ c: Command, _ out: inout EventBuffer) {
        guard c.broker >= 0 && Int(c.broker) < brokerIsOperator.count else { return }
        for i in 0..<Int32(instruments.count) {
            var doomed: [Int32] = []
            for side in [Side.buy, Side.sell] {
                books[i].forEachOrder(side, store: store) { slot in
                    let order = store[slot]
                    if order.broker == c.broker && order.tif == .day { doomed.append(slot) }
                }
            }
            // Quotes and waiting crosses are DAY orders too.
            for slot in negotiatedSlots(i) where store[slot].broker == c.broker { doomed.append(slot) }
            for slot in doomed {
                cancelResting(record: store[slot].cidRecord, slot: slot, reason: .admin, ts: c.ts, &out)
            }
        }
    }

    /// Cancels, with reason EXPIRED, every DAY order of `instrument` (quotes and waiting crosses
    /// last), and every GTC order for which `keep` says false.
    mutating func expire(_ instrument: Int32, ts: Int64, keep: (RestingOrder) -> Bool, _ out: inout EventBuffer) {
        var doomed: [Int32] = []
        for side in [Side.buy, Side.sell] {
            books[instrument].forEachOrder(side, store: store) { slot in
                let order = store[slot]
                if order.tif == .day || !keep(order) { doomed.append(slot) }
            }
        }
        // Then its quotes and waiting crosses, in entry order: they expire like DAY orders.
        doomed += negotiatedSlots(instrument)
        for slot in doomed {
            cancelResting(record: store[slot].cidRecord, slot: slot, reason: .expired, ts: ts, &out)
        }
    }

    /// Ends the trading day: DAY orders expire; each instrument's last trade price becomes its
    /// reference price and the band moves with it; GTC orders outside the new band expire; the
    /// day's cids are forgotten (live orders keep theirs).
    mutating func roll(to date: CivilDate, ts: Int64, _ out: inout EventBuffer) {
        for i in 0..<Int32(instruments.count) {
            var s = instruments[i]
            s.referencePrice = s.nextReferencePrice
            let band = InstrumentConfig.band(referencePrice: s.referencePrice, tick: s.tick, bandPercent: s.bandPercent,
                                             ticksMax: s.bookTicksMax)
            s.bandLow = band.low
            s.bandHigh = band.high
            s.lastTradePrice = 0
            instruments[i] = s
            expire(i, ts: ts, keep: { $0.price >= band.low && $0.price <= band.high }, &out)
            books[i].rebase(lowPrice: band.low, highPrice: band.high, store: &store, arena: arena)
            // The reference price, and so perhaps the indicative price, moved.
            noteAuctionChange(i)
        }
        ledger.roll(from: tradingDate, to: date)
        tradingDate = date
        // Open buys (GTC) must still be lawful on the new day: an account whose qualification has
        // expired may no longer buy, and every open buy in an instrument with a holding period needs
        // the new day's lock lot before it can fill. An order that fails either is canceled
        // (reason ADMIN) rather than let it trade unlawfully.
        for i in 0..<Int32(instruments.count) {
            var unlockable: [Int32] = []
            books[i].forEachOrder(.buy, store: store) { slot in
                let order = store[slot]
                if !ledger.isQualified(order.account, on: date)
                    || !ledger.register.ensureLot(position: order.position, instrument: i) {
                    unlockable.append(slot)
                }
            }
            for slot in unlockable {
                cancelResting(record: store[slot].cidRecord, slot: slot, reason: .admin, ts: ts, &out)
            }
        }
        cids.removeAll()
        // Every quote expired above; their oids are forgotten with the day's cids.
        quotes.removeAll()
        for i in 0..<Int32(instruments.count) {
            for side in [Side.buy, Side.sell] {
                books[i].forEachOrder(side, store: store) { slot in
                    let order = store[slot]
                    let probe = cids.find(broker: order.broker, cid: order.cid)
                    let record = cids.insert(CidRecord(cid: order.cid, oid: order.oid, qty: order.qty,
                                                       price: order.price, cum: order.qty - order.leaves,
                                                       broker: order.broker, slot: slot, state: .live), at: probe)
                    store[slot].cidRecord = record
                }
            }
        }
    }
}
