import CuoheCore

// Negotiated transfer in the ledger streams (`shared/PROTOCOL.md`, "Negotiated transfer" and "Two-way
// holding rule and actual holders"): what the checker knows of quotes, waiting crosses and their
// cids, kept from the commands and events alone; the answer each command should get from it; and
// the stream's share of `QUOTE`, `ACCEPT` and `CROSS` traffic.

/// What the streams with negotiated transfer do besides the others.
struct LedgerNegotiationSetup: Sendable {
    /// Commands in a thousand that are negotiated verbs (or cancels, statuses and replaces of
    /// quotes and crosses).
    var perMille = 400
    /// ZL000003 traded by negotiated transfer only.
    var negotiatedOnly = false
    /// Snapshots restored beside the live matcher, each then run beside it for `restoreWindow`
    /// commands.
    var restores = 5
    var restoreWindow = 300
}

struct CidKey: Hashable {
    var broker: Int32
    var cid: ClientOrderID
}

/// A quote or a waiting cross, as the checker knows it.
struct NegotiatedOrder {
    var kind: OrderKind
    var oid: Int64
    var cid: ClientOrderID
    var broker: Int32
    var account: Int32
    var instrument: Int32
    var side: Side
    var price: Int64
    var qty: Int64
    var leaves: Int64
    /// A cross's ref and counterparty broker.
    var ref: ClientOrderID
    var counterBroker: Int32

    var key: CidKey { CidKey(broker: broker, cid: cid) }
}

/// What became of a cid a negotiated verb used today.
enum CidFate {
    case rejected
    case live(Int64)
    case done(oid: Int64, qty: Int64, price: Int64, cum: Int64, filled: Bool)
}

/// The checker's own record of negotiated transfer: the open quotes and waiting crosses, the day's
/// quotes (an `ACCEPT` of a finished one is `ORDER_DONE`), the cids the negotiated verbs used today
/// and yesterday's, and the market data they move (each instrument's `mdseq`, and the price that
/// sets its next reference).
struct NegotiationModel {
    var open: [Int64: NegotiatedOrder] = [:]
    var quotesToday: Set<Int64> = []
    /// Today's quotes in the order they were posted, and some of the day before's.
    var quoteOids: [Int64] = []
    var previousQuoteOids: [Int64] = []
    var cids: [CidKey: CidFate] = [:]
    /// Today's negotiated cids in the order they were used, and some of the days before's.
    var cidOrder: [CidKey] = []
    var previousCids: [CidKey] = []
    var previousCidSet: Set<CidKey> = []
    var mdseq: [Int64]
    /// Today's last trade price that sets the next reference (0: none yet).
    var lastPrice: [Int64]
    /// Today's last negotiated trade price (0: none).
    var negotiatedPrice: [Int64]

    init(instruments: Int) {
        mdseq = Array(repeating: 0, count: instruments)
        lastPrice = Array(repeating: 0, count: instruments)
        negotiatedPrice = Array(repeating: 0, count: instruments)
    }

    /// The cross `broker` has waiting under `ref` (at most one).
    func waiting(broker: Int32, ref: ClientOrderID) -> NegotiatedOrder? {
        open.values.first { $0.kind == .cross && $0.broker == broker && $0.ref == ref }
    }

    var waitingCount: Int { open.values.reduce(0) { $0 + ($1.kind == .cross ? 1 : 0) } }
    var hasQuote: Bool { open.values.contains { $0.kind == .quote } }
    var hasCross: Bool { open.values.contains { $0.kind == .cross } }

    /// The open quotes and crosses (of one instrument, or all), in the order they expire: by
    /// instrument, then entry.
    func expiring(instrument: Int32?) -> [NegotiatedOrder] {
        open.values.filter { instrument == nil || $0.instrument == instrument }
            .sorted { ($0.instrument, $0.oid) < ($1.instrument, $1.oid) }
    }

    mutating func remember(_ key: CidKey, _ fate: CidFate) {
        if cids[key] == nil { cidOrder.append(key) }
        cids[key] = fate
    }

    mutating func finish(_ o: NegotiatedOrder, filled: Bool) {
        open[o.oid] = nil
        remember(o.key, .done(oid: o.oid, qty: o.qty, price: o.price, cum: filled ? o.qty : o.qty - o.leaves,
                              filled: filled))
    }

    /// A ROLL: the day's cids and quotes are forgotten (the engine answers `UNKNOWN_ORDER`).
    mutating func endDay() {
        previousCids = Array((previousCids + cidOrder).suffix(400))
        previousCidSet = Set(previousCids)
        previousQuoteOids = Array(quoteOids.suffix(60))
        cids = [:]
        cidOrder = []
        quoteOids = []
        quotesToday = []
        for i in lastPrice.indices {
            lastPrice[i] = 0
            negotiatedPrice[i] = 0
        }
    }
}

/// The answer a command should get, as far as negotiated transfer goes.
enum NegotiatedExpectation {
    /// Nothing about quotes or crosses.
    case untouched
    /// One `REJ` with this reason and detail, nothing else.
    case refused(RejectReason, RejectDetail)
    case quotePosted
    /// An `ACCEPT` of this quote trades at once.
    case accepted(NegotiatedOrder)
    case crossWaits
    /// A `CROSS` completes this waiting one.
    case crossCompletes(NegotiatedOrder)
    /// A `CANCEL` of this quote or cross.
    case canceled(NegotiatedOrder)
    case status(oid: Int64, state: OrderState, qty: Int64, price: Int64, leaves: Int64, cum: Int64)
    /// `PHASE CLOSED` or `ROLL`: these expire, in this order.
    case expiries([NegotiatedOrder], roll: Bool)
}

extension LedgerChecker {
    func isOperator(_ broker: Int32) -> Bool {
        broker >= 0 && Int(broker) < config.brokers.count && config.brokers[Int(broker)].isOperator
    }

    static func quantityRefusal(_ qty: Int64, lot: Int64) -> RejectReason? {
        if qty <= 0 || qty > Bounds.quantityMax { return .badQty }
        if qty % lot != 0 { return .lotSize }
        return nil
    }

    /// A `NEW`'s (or a `QUOTE`'s or `CROSS`'s, which are limit `DAY` orders) refusal before the
    /// market's rules, in the contract's order: ids, quantity, price, halt, phase.
    func expectedValidation(_ c: Command) -> (RejectReason, RejectDetail)? {
        guard c.account >= 0, Int(c.account) < accountCount else { return (.unknownAccount, .none) }
        if accountBrokers[Int(c.account)] != c.broker { return (.notYourAccount, .none) }
        guard c.instrument >= 0, Int(c.instrument) < instrumentCount else { return (.unknownSymbol, .none) }
        let s = matcher.instruments[c.instrument]
        if let reason = LedgerChecker.quantityRefusal(c.qty, lot: s.lot) { return (reason, .none) }
        if c.type == .limit {
            if c.price == Command.absent { return (.badPrice, .missingPrice) }
            if c.price == Command.invalid || c.price > Bounds.priceMax { return (.badPrice, .none) }
            if c.price == 0 { return (.badPrice, .zero) }
            if c.price % s.tick != 0 { return (.tickSize, .none) }
            if c.price < s.bandLow || c.price > s.bandHigh { return (.priceBand, .none) }
        } else if c.price != Command.absent {
            return (.badPrice, .marketWithPrice)
        }
        if s.halted { return (.halted, .none) }
        if s.phase == .closed { return (.marketClosed, .none) }
        if s.phase == .auction && (c.type == .market || c.tif == .ioc || c.tif == .fok) {
            return (.marketClosed, .auction)
        }
        return nil
    }

    // MARK: The expected answer

    /// What `c` should do to quotes and crosses, from the model and the ledger before it.
    func expectNegotiated(_ c: Command, _ before: LedgerSnapshot, _ live: [RestingOrder]) -> NegotiatedExpectation {
        let model = negotiation
        switch c.kind {
        case .quote:
            if let r = expectedValidation(c) { return .refused(r.0, r.1) }
            if let r = expectedRules(account: c.account, instrument: c.instrument, side: c.side, limit: c.price,
                                     qty: c.qty, before, live) { return .refused(r.0, r.1) }
            if live.count >= limits.ordersLiveMax || model.quoteOids.count >= limits.quotesPerDayMax {
                return .refused(.throttled, .capacity)
            }
            return .quotePosted
        case .accept:
            guard c.account >= 0, Int(c.account) < accountCount else { return .refused(.unknownAccount, .none) }
            if accountBrokers[Int(c.account)] != c.broker { return .refused(.notYourAccount, .none) }
            guard c.quoteOid > 0, model.quotesToday.contains(c.quoteOid) else { return .refused(.unknownOrder, .none) }
            guard let q = model.open[c.quoteOid] else { return .refused(.orderDone, .none) }
            let s = matcher.instruments[q.instrument]
            if let reason = LedgerChecker.quantityRefusal(c.qty, lot: s.lot) { return .refused(reason, .none) }
            if c.qty > q.leaves { return .refused(.badQty, .aboveQuote) }
            if s.halted { return .refused(.halted, .none) }
            if s.phase == .closed { return .refused(.marketClosed, .none) }
            if q.account == c.account { return .refused(.notPermitted, .selfTrade) }
            if let r = expectedRules(account: c.account, instrument: q.instrument, side: q.side.opposite,
                                     limit: q.price, qty: c.qty, before, live) { return .refused(r.0, r.1) }
            return .accepted(q)
        case .cross:
            if let r = expectedValidation(c) { return .refused(r.0, r.1) }
            if c.counterBroker < 0 || Int(c.counterBroker) >= config.brokers.count {
                return .refused(.notPermitted, .unknownBroker)
            }
            let sameRef = model.open.values.filter { $0.kind == .cross && $0.ref == c.ref }.count
            if let w = model.waiting(broker: c.counterBroker, ref: c.ref), w.counterBroker == c.broker {
                if w.account == c.account { return .refused(.notPermitted, .selfTrade) }
                var differs: [String] = []
                if w.instrument != c.instrument { differs.append("instrument") }
                if w.side == c.side { differs.append("side") }
                if w.price != c.price { differs.append("price") }
                if w.qty != c.qty { differs.append("qty") }
                if !differs.isEmpty {
                    saw("CROSS_MISMATCH on " + differs.joined(separator: "+"))
                    return .refused(.crossMismatch, .none)
                }
                if let r = expectedRules(account: c.account, instrument: c.instrument, side: c.side, limit: c.price,
                                         qty: c.qty, before, live) { return .refused(r.0, r.1) }
                if sameRef > 1 { saw("CROSS completes beside another pair's cross under the same ref") }
                return .crossCompletes(w)
            }
            if model.waiting(broker: c.broker, ref: c.ref) != nil { return .refused(.crossMismatch, .refInUse) }
            if model.waitingCount >= limits.crossesWaitingMax || live.count >= limits.ordersLiveMax {
                return .refused(.throttled, .capacity)
            }
            if let r = expectedRules(account: c.account, instrument: c.instrument, side: c.side, limit: c.price,
                                     qty: c.qty, before, live) { return .refused(r.0, r.1) }
            if sameRef > 0 { saw("CROSS waits beside another broker's cross under the same ref") }
            return .crossWaits
        case .cancel, .status, .replace:
            let key = CidKey(broker: c.broker, cid: c.cid)
            guard let fate = model.cids[key] else {
                // A cid of a day before: forgotten at the ROLL.
                return model.previousCidSet.contains(key) ? .refused(.unknownOrder, .none) : .untouched
            }
            switch fate {
            case .rejected:
                return .refused(.unknownOrder, .rejectedOrder)
            case let .done(oid, qty, price, cum, filled):
                if c.kind == .status {
                    return .status(oid: oid, state: filled ? .filled : .canceled, qty: qty, price: price, leaves: 0,
                                   cum: cum)
                }
                return .refused(.orderDone, .none)
            case .live(let oid):
                guard let o = model.open[oid] else { return .untouched }
                switch c.kind {
                case .cancel: return .canceled(o)
                case .replace: return .refused(.notPermitted, .none)
                default:
                    let cum = o.qty - o.leaves
                    return .status(oid: oid, state: cum > 0 ? .partial : .new, qty: o.qty, price: o.price,
                                   leaves: o.leaves, cum: cum)
                }
            }
        case .phase:
            guard isOperator(c.broker), c.instrument >= 0, Int(c.instrument) < instrumentCount else {
                return .untouched
            }
            if c.phase == .auction && config.instruments[Int(c.instrument)].mode == .negotiated {
                return .refused(.notPermitted, .negotiatedOnly)
            }
            return c.phase == .closed ? .expiries(model.expiring(instrument: c.instrument), roll: false) : .untouched
        case .roll:
            guard isOperator(c.broker), c.date > matcher.tradingDate else { return .untouched }
            return .expiries(model.expiring(instrument: nil), roll: true)
        case .new:
            guard c.instrument >= 0, Int(c.instrument) < instrumentCount,
                  config.instruments[Int(c.instrument)].mode == .negotiated else { return .untouched }
            let r = expectedValidation(c) ?? (.notPermitted, .negotiatedOnly)
            return .refused(r.0, r.1)
        default:
            return .untouched
        }
    }

    // MARK: The answer checked

    /// The first way `events` differ from what `x` says `c` should do, or nil.
    func checkNegotiated(_ c: Command, _ x: NegotiatedExpectation, _ events: [Event]) -> String? {
        let model = negotiation
        func about(_ e: Event) -> Bool {
            switch e.kind {
            case .quote: return true
            case .trade: return e.tradeKind == .quote || e.tradeKind == .cross
            case .ack: return e.verb.isNegotiated
            case .fill, .canceled: return model.open[e.oid] != nil
            default: return false
            }
        }
        func count(_ n: Int, _ what: String) -> String? {
            events.count == n ? nil : "expected \(n) events (\(what)), got \(events.count)"
        }
        func ack(_ e: Event, verb: CommandKind, instrument: Int32, side: Side, price: Int64) -> String? {
            guard e.kind == .ack, e.cid == c.cid, e.broker == c.broker, e.account == c.account,
                  e.instrument == instrument, e.side == side, e.qty == c.qty, e.price == price, e.tif == .day,
                  e.type == .limit, e.verb == verb, e.oid > 0 else {
                return "expected ACK type=\(verb) acct \(c.account) inst \(instrument) \(side) \(c.qty) @ \(price)"
            }
            return nil
        }
        func fill(_ e: Event, broker: Int32, cid: ClientOrderID, oid: Int64, price: Int64, qty: Int64, leaves: Int64,
                  cum: Int64, _ liquidity: Liquidity, side: Side) -> String? {
            guard e.kind == .fill, e.broker == broker, e.cid == cid, e.oid == oid, e.price == price, e.qty == qty,
                  e.leaves == leaves, e.cum == cum, e.liquidity == liquidity, e.side == side else {
                return "expected FILL oid \(oid) \(qty) @ \(price) leaves \(leaves) cum \(cum) liq \(liquidity)"
            }
            return nil
        }
        func trade(_ e: Event, kind: TradeKind, instrument: Int32, price: Int64, qty: Int64, takerSide: Side,
                   taker: (Int32, Int32), maker: (Int32, Int32), tid: Int64) -> String? {
            let (buyer, seller) = takerSide == .buy ? (taker, maker) : (maker, taker)
            guard e.kind == .trade, e.tradeKind == kind, e.instrument == instrument, e.price == price, e.qty == qty,
                  e.side == takerSide, e.account == buyer.0, e.broker == buyer.1, e.counterAccount == seller.0,
                  e.counterBroker == seller.1, e.tid == tid else {
                return "expected TRADE kind=\(kind) \(qty) @ \(price) buyer \(buyer.0)@\(buyer.1) "
                    + "seller \(seller.0)@\(seller.1) tid \(tid)"
            }
            return nil
        }
        func board(_ e: Event, _ o: NegotiatedOrder, qty: Int64) -> String? {
            guard e.kind == .quote, e.oid == o.oid, e.instrument == o.instrument, e.side == o.side, e.price == o.price,
                  e.qty == qty, e.broker == o.broker else {
                return "expected the quote line qid=\(o.oid) qty=\(qty)"
            }
            return nil
        }

        switch x {
        case .untouched:
            if let e = events.first(where: about) {
                return "an event about quotes or crosses: \(RandomStreamText.describe(e))"
            }
        case let .refused(reason, detail):
            guard events.count == 1, events[0].kind == .reject, events[0].reason == reason.rawValue,
                  events[0].detail == detail else { return "expected only REJ \(reason) detail=\(detail)" }
        case .quotePosted:
            if let p = count(2, "ACK, quote line") { return p }
            if let p = ack(events[0], verb: .quote, instrument: c.instrument, side: c.side, price: c.price) { return p }
            let posted = NegotiatedOrder(kind: .quote, oid: events[0].oid, cid: c.cid, broker: c.broker,
                                         account: c.account, instrument: c.instrument, side: c.side, price: c.price,
                                         qty: c.qty, leaves: c.qty, ref: .none, counterBroker: -1)
            if let p = board(events[1], posted, qty: c.qty) { return p }
        case .accepted(let q):
            let side = q.side.opposite
            let leaves = q.leaves - c.qty
            if let p = count(5, "ACK, two FILLs, TRADE, quote line") { return p }
            if let p = ack(events[0], verb: .accept, instrument: q.instrument, side: side, price: q.price) { return p }
            if let p = fill(events[1], broker: c.broker, cid: c.cid, oid: events[0].oid, price: q.price, qty: c.qty,
                            leaves: 0, cum: c.qty, .taker, side: side) { return p }
            if let p = fill(events[2], broker: q.broker, cid: q.cid, oid: q.oid, price: q.price, qty: c.qty,
                            leaves: leaves, cum: q.qty - leaves, .maker, side: q.side) { return p }
            if events[1].tid != events[2].tid { return "the two FILLs carry different tids" }
            if let p = trade(events[3], kind: .quote, instrument: q.instrument, price: q.price, qty: c.qty,
                             takerSide: side, taker: (c.account, c.broker), maker: (q.account, q.broker),
                             tid: events[1].tid) { return p }
            if let p = board(events[4], q, qty: leaves) { return p }
        case .crossWaits:
            if let p = count(1, "ACK") { return p }
            if let p = ack(events[0], verb: .cross, instrument: c.instrument, side: c.side, price: c.price) { return p }
        case .crossCompletes(let w):
            if let p = count(4, "ACK, two FILLs, TRADE") { return p }
            if let p = ack(events[0], verb: .cross, instrument: c.instrument, side: c.side, price: c.price) { return p }
            if let p = fill(events[1], broker: c.broker, cid: c.cid, oid: events[0].oid, price: w.price, qty: c.qty,
                            leaves: 0, cum: c.qty, .taker, side: c.side) { return p }
            if let p = fill(events[2], broker: w.broker, cid: w.cid, oid: w.oid, price: w.price, qty: w.qty,
                            leaves: 0, cum: w.qty, .maker, side: w.side) { return p }
            if events[1].tid != events[2].tid { return "the two FILLs carry different tids" }
            if let p = trade(events[3], kind: .cross, instrument: w.instrument, price: w.price, qty: w.qty,
                             takerSide: c.side, taker: (c.account, c.broker), maker: (w.account, w.broker),
                             tid: events[1].tid) { return p }
        case .canceled(let o):
            if let p = count(o.kind == .quote ? 2 : 1, o.kind == .quote ? "CANCELED, quote line" : "CANCELED") {
                return p
            }
            let e = events[0]
            guard e.kind == .canceled, e.broker == o.broker, e.cid == o.cid, e.oid == o.oid, e.cancelReason == .user
            else {
                return "expected CANCELED oid \(o.oid) reason=USER"
            }
            if o.kind == .quote, let p = board(events[1], o, qty: 0) { return p }
        case let .status(oid, state, qty, price, leaves, cum):
            guard events.count == 1, let e = events.first, e.kind == .status, e.cid == c.cid, e.oid == oid,
                  e.state == state, e.qty == qty, e.price == price, e.leaves == leaves, e.cum == cum else {
                return "expected STATUS oid \(oid) \(state) qty \(qty) px \(price) leaves \(leaves) cum \(cum)"
            }
        case let .expiries(list, _):
            let canceled = events.filter { $0.kind == .canceled && model.open[$0.oid] != nil }
            if canceled.map(\.oid) != list.map(\.oid) {
                return "expired quotes and crosses \(canceled.map(\.oid)), expected \(list.map(\.oid))"
            }
            var lines = 0
            for (k, e) in events.enumerated() where e.kind == .canceled {
                guard let o = model.open[e.oid] else { continue }
                if e.cancelReason != .expired || e.cid != o.cid || e.broker != o.broker {
                    return "oid \(o.oid) should expire (CANCELED reason=EXPIRED)"
                }
                if o.kind == .quote {
                    guard k + 1 < events.count else { return "no quote line after quote \(o.oid) expired" }
                    if let p = board(events[k + 1], o, qty: 0) { return p }
                    lines += 1
                }
            }
            if events.filter(about).count != canceled.count + lines {
                return "events about quotes or crosses other than their expiry"
            }
        }
        return nil
    }

    // MARK: The model follows

    /// Takes a checked command's events into the model and tallies them; then checks what follows
    /// from every command: the engine's quotes and crosses are the model's, field by field and in
    /// entry order; every `TRADE` and quote line carries its instrument's next `mdseq`; each
    /// instrument's last trade price (any kind where it trades by negotiation only, `BOOK` and
    /// `AUCTION` elsewhere) is the engine's, and a ROLL makes it the reference; no account sold
    /// shares that were not yet sellable (bought within the holding period).
    func absorbNegotiated(_ c: Command, _ x: NegotiatedExpectation, _ events: [Event], _ before: LedgerSnapshot,
                          _ referencesBefore: [Int64]) -> String? {
        let verb = "\(c.kind)".uppercased()
        switch x {
        case .untouched:
            break
        case let .refused(reason, detail):
            let text = "\(reason)" + (detail == .none ? "" : " \(detail)")
            switch c.kind {
            case .quote, .accept, .cross:
                negotiation.remember(CidKey(broker: c.broker, cid: c.cid), .rejected)
                saw("\(verb) refused \(text)")
                if reason == .holdingPeriod && detail == .rebuy { saw("REBUY refused \(verb)") }
                if reason == .holdingPeriod && detail == .openOpposite { saw("OPEN_OPPOSITE refused \(verb)") }
                if reason == .holderLimit && c.kind == .accept && config.accounts[Int(c.account)].beneficialOwners > 1 {
                    saw("HOLDER_LIMIT for a trust via ACCEPT")
                }
            case .cancel, .status, .replace: saw("\(verb) of a negotiated cid refused \(text)")
            default: saw("\(verb) refused \(text)")
            }
        case .quotePosted:
            let oid = events[0].oid
            negotiation.open[oid] = NegotiatedOrder(kind: .quote, oid: oid, cid: c.cid, broker: c.broker,
                                                    account: c.account, instrument: c.instrument, side: c.side,
                                                    price: c.price, qty: c.qty, leaves: c.qty, ref: .none,
                                                    counterBroker: -1)
            negotiation.quotesToday.insert(oid)
            negotiation.quoteOids.append(oid)
            negotiation.remember(CidKey(broker: c.broker, cid: c.cid), .live(oid))
            saw("QUOTE posted \(c.side)")
        case .accepted(var q):
            q.leaves -= c.qty
            if q.leaves == 0 {
                negotiation.finish(q, filled: true)
                saw(q.qty == c.qty ? "ACCEPT takes a whole quote" : "ACCEPT takes the rest of a quote")
                if c.qty == matcher.instruments[q.instrument].lot && q.qty > c.qty {
                    saw("ACCEPT takes the last lot of a quote")
                }
            } else {
                negotiation.open[q.oid] = q
                saw("ACCEPT takes part of a quote")
            }
            negotiation.remember(CidKey(broker: c.broker, cid: c.cid),
                                 .done(oid: events[0].oid, qty: c.qty, price: q.price, cum: c.qty, filled: true))
            saw("ACCEPT \(q.side.opposite)s")
            if matcher.instruments[q.instrument].phase == .auction { saw("a quote accepted during a call auction") }
            if q.side == .sell && config.accounts[Int(c.account)].beneficialOwners > 1 { saw("a trust accepts") }
        case .crossWaits:
            let oid = events[0].oid
            negotiation.open[oid] = NegotiatedOrder(kind: .cross, oid: oid, cid: c.cid, broker: c.broker,
                                                    account: c.account, instrument: c.instrument, side: c.side,
                                                    price: c.price, qty: c.qty, leaves: c.qty, ref: c.ref,
                                                    counterBroker: c.counterBroker)
            negotiation.remember(CidKey(broker: c.broker, cid: c.cid), .live(oid))
            saw("CROSS waits")
        case .crossCompletes(let w):
            negotiation.finish(w, filled: true)
            negotiation.remember(CidKey(broker: c.broker, cid: c.cid),
                                 .done(oid: events[0].oid, qty: c.qty, price: c.price, cum: c.qty, filled: true))
            saw("CROSS completed")
            if matcher.instruments[w.instrument].phase == .auction { saw("a cross completed during a call auction") }
            if w.broker == c.broker { saw("CROSS completed between two accounts of one broker") }
        case .canceled(let o):
            negotiation.finish(o, filled: false)
            saw(o.kind == .quote ? "CANCEL of a quote" : "CANCEL of a waiting cross")
        case .status:
            saw("STATUS of a negotiated cid")
        case let .expiries(list, roll):
            for o in list {
                negotiation.finish(o, filled: false)
                saw("\(o.kind == .quote ? "quote" : "cross") expired at \(roll ? "ROLL" : "CLOSED")")
            }
        }

        // Market data, the next reference price, and the holding period on every trade.
        var sold: [Int: Int64] = [:]
        for e in events where e.kind == .trade || e.kind == .quote {
            let i = Int(e.instrument)
            if e.mdseq != negotiation.mdseq[i] + 1 {
                return "\(e.kind) on instrument \(i) carries mdseq \(e.mdseq), expected \(negotiation.mdseq[i] + 1)"
            }
            negotiation.mdseq[i] = e.mdseq
            guard e.kind == .trade else { continue }
            let negotiated = e.tradeKind == .quote || e.tradeKind == .cross
            if !negotiated || config.instruments[i].mode == .negotiated { negotiation.lastPrice[i] = e.price }
            if negotiated { negotiation.negotiatedPrice[i] = e.price }
            sold[LedgerChecker.key(e.counterAccount, e.instrument), default: 0] += e.qty
        }
        for (key, qty) in sold.sorted(by: { $0.key < $1.key }) {
            let account = Int32(key >> 20), instrument = Int32(key & 0xF_FFFF)
            let p = before.position(account: account, instrument: instrument)
            let sellable = p.map { $0.shares - $0.lockedShares } ?? 0
            if qty > sellable {
                return "account \(account) sold \(qty) of instrument \(instrument), only \(sellable) were past "
                    + "their holding period"
            }
        }
        if events.contains(where: { $0.kind == .ok && $0.verb == .roll }) {
            for i in 0..<instrumentCount {
                let last = negotiation.lastPrice[i]
                let expected = last != 0 ? last : referencesBefore[i]
                let now = matcher.instruments[Int32(i)].referencePrice
                if now != expected {
                    return "instrument \(i): reference \(now) after the ROLL, expected \(expected)"
                }
                if config.instruments[i].mode == .negotiated && last != 0 {
                    saw("a negotiated trade sets the next reference price")
                }
                if config.instruments[i].mode != .negotiated && negotiation.negotiatedPrice[i] != 0
                    && negotiation.negotiatedPrice[i] != now {
                    saw("a negotiated trade leaves the reference price")
                }
            }
            negotiation.endDay()
        }
        for i in 0..<instrumentCount where matcher.instruments[Int32(i)].lastTradePrice != negotiation.lastPrice[i] {
            return "instrument \(i): last trade price \(matcher.instruments[Int32(i)].lastTradePrice), "
                + "expected \(negotiation.lastPrice[i])"
        }

        // The engine's quotes and waiting crosses are the model's.
        var open = 0
        for i in 0..<Int32(instrumentCount) {
            var last: Int64 = 0
            for o in matcher.negotiatedOrders(instrument: i) {
                guard let m = negotiation.open[o.oid] else { return "negotiated order \(o.oid) is open, unexpected" }
                guard o.oid > last, o.kind == m.kind, o.cid == m.cid, o.broker == m.broker, o.account == m.account,
                      o.instrument == m.instrument, o.side == m.side, o.price == m.price, o.qty == m.qty,
                      o.leaves == m.leaves, o.tif == .day else {
                    return "negotiated order \(o.oid) (\(o.kind), acct \(o.account) \(o.side) \(o.leaves)/\(o.qty) @ "
                        + "\(o.price)) differs from what its commands and events say (\(m.kind), acct \(m.account) "
                        + "\(m.side) \(m.leaves)/\(m.qty) @ \(m.price)), or is out of entry order"
                }
                last = o.oid
                open += 1
            }
        }
        if open != negotiation.open.count {
            return "\(open) quotes and crosses open, expected \(negotiation.open.count)"
        }
        return nil
    }
}

// MARK: - Snapshots restored beside the live matcher

/// At a few random steps with quotes and waiting crosses open, restores the live matcher's
/// snapshot (the same state digest, the same bytes), then feeds the restored matcher the same
/// commands for a while: every event equal field by field, the digests equal after each, and the
/// snapshots equal at the end.
final class SnapshotRestorer {
    final class Shadow {
        var matcher: Matcher
        let from: Int
        var remaining: Int

        init(_ matcher: consuming Matcher, from: Int, remaining: Int) {
            self.matcher = matcher
            self.from = from
            self.remaining = remaining
        }
    }

    var rng: RandomStreamRNG
    let setup: LedgerNegotiationSetup
    let limits: EngineLimits
    let steps: Int
    var nextAt: Int
    var restores = 0
    var shadow: Shadow?
    var buffer = EventBuffer()

    init(seed: UInt64, steps: Int, setup: LedgerNegotiationSetup, limits: EngineLimits) {
        rng = RandomStreamRNG(seed: seed ^ 0x5A45_A000_0000_0000)
        self.setup = setup
        self.limits = limits
        self.steps = steps
        nextAt = 500 + rng.int(max(1, steps / (2 * max(1, setup.restores))))
    }

    func after(step: Int, _ c: Command, checker: LedgerChecker) -> String? {
        if let shadow {
            buffer.removeAll()
            shadow.matcher.process(c, into: &buffer)
            if let problem = RandomStreamTests.compare(expected: checker.lastEvents, actual: buffer.array) {
                return "restored at step \(shadow.from), the matcher answers differently: \(problem)\n  command: "
                    + "\(RandomStreamText.describe(c))\n  live:\n\(RandomStreamText.list(checker.lastEvents))\n"
                    + "  restored:\n\(RandomStreamText.list(buffer.array))"
            }
            if shadow.matcher.stateDigest() != checker.matcher.stateDigest() {
                return "restored at step \(shadow.from), the state digests differ after \(RandomStreamText.describe(c))"
            }
            shadow.remaining -= 1
            if shadow.remaining == 0 {
                if shadow.matcher.snapshot() != checker.matcher.snapshot() {
                    return "restored at step \(shadow.from), the snapshots differ \(setup.restoreWindow) commands on"
                }
                self.shadow = nil
                checker.saw("a restored matcher ran beside the live one")
            }
            return nil
        }
        guard restores < setup.restores, step >= nextAt, checker.negotiation.hasQuote, checker.negotiation.hasCross
        else { return nil }
        let bytes = checker.matcher.snapshot()
        guard let restored = Matcher.restore(bytes, config: checker.config, limits: limits) else {
            return "the snapshot with quotes and crosses open does not restore"
        }
        if restored.stateDigest() != checker.matcher.stateDigest() { return "the restored state digest differs" }
        if restored.snapshot() != bytes { return "the restored matcher's snapshot differs" }
        if let problem = restored.verify() { return "the restored matcher: \(problem)" }
        shadow = Shadow(restored, from: step, remaining: setup.restoreWindow)
        restores += 1
        nextAt = step + setup.restoreWindow + 200 + rng.int(max(1, steps / (2 * max(1, setup.restores))))
        checker.saw("snapshot restored with quotes and crosses open")
        return nil
    }
}

// MARK: - The traffic

/// The negotiated share of a ledger stream: second sides of crosses agreed earlier, waiting to be
/// sent (some on other terms than the first side's), and the refs used so far.
struct NegotiationTraffic {
    var perMille: Int
    var plans: [Command] = []
    var refNumber = 0
}

extension LedgerStreamGenerator {
    /// A negotiated command, `negotiation.perMille` times in a thousand: a planned second side of
    /// a cross, a `QUOTE`, an `ACCEPT`, a first side of a `CROSS` (and its second side planned), a
    /// `CROSS` under a ref its broker already has waiting, a `CANCEL`/`STATUS`/`REPLACE` of a quote
    /// or cross (live, done, or of a day before), or a refusal before the rules.
    mutating func negotiatedCommand(_ m: borrowing Matcher, live: [RestingOrder], ledger l: LedgerSnapshot,
                                    model: NegotiationModel, _ ts: Int64) -> Command? {
        guard let traffic = negotiation, rng.int(1000) < traffic.perMille else { return nil }
        var c: Command
        if !traffic.plans.isEmpty && rng.int(100) < 30 {
            c = negotiation!.plans.remove(at: rng.int(traffic.plans.count))
            c.cid = cid(c.broker)
        } else {
            switch rng.int(100) {
            case ..<26: c = quoteCommand(m, live, l)
            case ..<54: c = acceptCommand(m, live, l, model)
            case ..<76: c = crossCommand(m, live, l, model)
            case ..<82: c = reusedRefCross(m, live, l, model) ?? crossCommand(m, live, l, model)
            case ..<95: c = manageNegotiated(m, live, model) ?? quoteCommand(m, live, l)
            default: c = oddNegotiated(m, live, l)
            }
        }
        c.ts = ts
        return c
    }

    /// Where it trades by negotiation only, nearly half the time.
    mutating func negotiatedInstrument() -> Int32 {
        if let only = config.instruments.firstIndex(where: { $0.mode == .negotiated }), rng.int(100) < 45 {
            return Int32(only)
        }
        return Int32(rng.int(config.instruments.count))
    }

    /// Near the reference price, now and then anywhere in the band.
    mutating func negotiatedPrice(_ m: borrowing Matcher, _ i: Int32) -> Int64 {
        let s = m.instruments[i]
        if rng.oneIn(8) { return s.bandLow + s.tick * rng.int64((s.bandHigh - s.bandLow) / s.tick + 1) }
        return min(max(s.referencePrice + s.tick * (Int64(rng.int(9)) - 4), s.bandLow), s.bandHigh)
    }

    /// A buyer of `i`: a trust, an account that sold lately (the two-way rule's `REBUY`) or long
    /// enough ago, one that has a sell open (`OPEN_OPPOSITE`), one engaged in it, or any.
    mutating func negotiatedBuyer(_ l: LedgerSnapshot, _ i: Int32, _ live: [RestingOrder]) -> Int32 {
        let rebuyDays = Int32(config.instruments[Int(i)].rebuyDays)
        switch rng.int(100) {
        case ..<10:
            let trusts = config.accounts.indices.filter { config.accounts[$0].beneficialOwners > 1 }.map { Int32($0) }
            if !trusts.isEmpty { return rng.pick(trusts) }
        case ..<22 where rebuyDays > 0:
            let recent = l.positions.filter {
                $0.instrument == i && $0.lastSellRoll >= 0 && l.rollCount - $0.lastSellRoll < rebuyDays
            }.map(\.account)
            if !recent.isEmpty { return rng.pick(recent) }
        case ..<28 where rebuyDays > 0:
            let past = l.positions.filter {
                $0.instrument == i && $0.lastSellRoll >= 0 && l.rollCount - $0.lastSellRoll >= rebuyDays
            }.map(\.account)
            if !past.isEmpty { return rng.pick(past) }
        case ..<36 where rebuyDays > 0:
            let selling = live.filter { $0.instrument == i && $0.side == .sell }.map(\.account)
            if !selling.isEmpty { return rng.pick(selling) }
        case ..<78:
            let engaged = l.positions.filter { $0.instrument == i && $0.status != .none }.map(\.account)
            if !engaged.isEmpty { return rng.pick(engaged) }
        default: break
        }
        return Int32(rng.int(LedgerStreamMarket.accountCount))
    }

    /// A seller of `i`: mostly one with shares it may sell; now and then one with a buy open.
    mutating func negotiatedSeller(_ l: LedgerSnapshot, _ i: Int32, _ live: [RestingOrder]) -> Int32 {
        switch rng.int(100) {
        case ..<8 where config.instruments[Int(i)].rebuyDays > 0:
            let buying = live.filter { $0.instrument == i && $0.side == .buy }.map(\.account)
            if !buying.isEmpty { return rng.pick(buying) }
        case ..<88:
            let sellers = l.positions.filter { $0.instrument == i && $0.sellable > 0 }.map(\.account)
            if !sellers.isEmpty { return rng.pick(sellers) }
        default: break
        }
        return Int32(rng.int(LedgerStreamMarket.accountCount))
    }

    mutating func negotiatedBuyQty(_ m: borrowing Matcher, _ l: LedgerSnapshot, _ account: Int32, _ i: Int32,
                                   _ price: Int64) -> Int64 {
        let lot = m.instruments[i].lot
        let a = l.accounts[Int(account)]
        let affordable = LedgerMath.affordableLots(free: a.cash - a.frozenCash, limit: price, lot: lot, bps: bps)
        switch rng.int(100) {
        case ..<8: return (affordable + 1) * lot
        case ..<14 where affordable > 0: return affordable * lot
        case ..<20 where a.annualBuyCap >= 0:
            let room = a.annualBuyCap - a.boughtThisYear - a.openBuyValue
            return max(1, room / (price * lot) + (rng.oneIn(2) ? 1 : 0)) * lot
        default: return min(lots(i), max(1, affordable)) * lot
        }
    }

    mutating func negotiatedSellQty(_ m: borrowing Matcher, _ l: LedgerSnapshot, _ account: Int32,
                                    _ i: Int32) -> Int64 {
        let lot = m.instruments[i].lot
        let p = l.position(account: account, instrument: i)
        let available = p.map { $0.shares - $0.frozenShares } ?? 0
        let sellable = p?.sellable ?? 0
        var qty: Int64
        switch rng.int(100) {
        case ..<6: qty = available / lot * lot            // locked shares too
        case ..<12: qty = sellable / lot * lot + lot      // a lot too many
        case ..<22: qty = sellable / lot * lot            // all it may sell
        default: qty = lot * min(max(sellable / lot, 1), lots(i))
        }
        return qty > 0 ? qty : lot
    }

    mutating func quoteCommand(_ m: borrowing Matcher, _ live: [RestingOrder], _ l: LedgerSnapshot) -> Command {
        let i = negotiatedInstrument()
        let side: Side = rng.oneIn(2) ? .buy : .sell
        let account = side == .buy ? negotiatedBuyer(l, i, live) : negotiatedSeller(l, i, live)
        let price = negotiatedPrice(m, i)
        let qty = side == .buy ? negotiatedBuyQty(m, l, account, i, price) : negotiatedSellQty(m, l, account, i)
        let broker = LedgerStreamMarket.broker(of: account)
        return .quote(broker: broker, ts: 0, cid: cid(broker), account: account, instrument: i, side: side, qty: qty,
                      price: price)
    }

    /// Mostly of a live quote, by another account: its whole open quantity, part of it, one lot,
    /// or a lot more than it has; now and then by the quote's own account, of a finished quote, of
    /// one from a day before, or of no quote at all.
    mutating func acceptCommand(_ m: borrowing Matcher, _ live: [RestingOrder], _ l: LedgerSnapshot,
                                _ model: NegotiationModel) -> Command {
        let quotes = live.filter { $0.kind == .quote }
        if quotes.isEmpty || rng.int(100) < 14 {
            let done = model.quoteOids.filter { model.open[$0] == nil }
            let oid: Int64
            switch rng.int(10) {
            case ..<6 where !done.isEmpty: oid = rng.pick(done)
            case ..<8 where !model.previousQuoteOids.isEmpty: oid = rng.pick(model.previousQuoteOids)
            case ..<9 where !live.isEmpty: oid = rng.pick(live).oid
            default: oid = rng.oneIn(2) ? 0 : m.nextOid + 100
            }
            let account = Int32(rng.int(LedgerStreamMarket.accountCount))
            let broker = LedgerStreamMarket.broker(of: account)
            return .accept(broker: broker, ts: 0, cid: cid(broker), account: account, quoteOid: oid,
                           qty: m.instruments[Int32(rng.int(config.instruments.count))].lot)
        }
        let q = rng.pick(quotes)
        let lot = m.instruments[q.instrument].lot
        var account = q.account
        if rng.int(100) >= 8 {
            account = q.side == .sell ? negotiatedBuyer(l, q.instrument, live) : negotiatedSeller(l, q.instrument, live)
            if account == q.account {
                account = (account + 1 + Int32(rng.int(LedgerStreamMarket.accountCount - 1)))
                    % Int32(LedgerStreamMarket.accountCount)
            }
        }
        var qty: Int64
        switch rng.int(100) {
        case ..<30: qty = q.leaves
        case ..<38: qty = q.leaves + lot
        case ..<41: qty = lot > 1 ? lot + 1 : 0
        case ..<56: qty = lot
        default: qty = lot * (1 + rng.int64(q.leaves / lot))
        }
        // Half the time no more than the acceptor can pay for, or may sell.
        if qty > lot && qty <= q.leaves && rng.oneIn(2) {
            if q.side == .sell {
                let a = l.accounts[Int(account)]
                let affordable = LedgerMath.affordableLots(free: a.cash - a.frozenCash, limit: q.price, lot: lot,
                                                           bps: bps)
                if affordable > 0 { qty = min(qty, affordable * lot) }
            } else if let p = l.position(account: account, instrument: q.instrument), p.sellable >= lot {
                qty = min(qty, p.sellable / lot * lot)
            }
        }
        var broker = LedgerStreamMarket.broker(of: account)
        if rng.int(100) < 2 { broker = 1 + broker % 3 }                 // NOT_YOUR_ACCOUNT
        return .accept(broker: broker, ts: 0, cid: cid(broker), account: account, quoteOid: q.oid, qty: qty)
    }

    /// The first side of a transfer agreed between two accounts (sometimes of one broker,
    /// sometimes one account on both sides), under a new ref or one another pair of brokers has
    /// waiting; the second side is planned, now and then on other terms in one field, now and then
    /// never sent. Rarely it names a broker that does not exist.
    mutating func crossCommand(_ m: borrowing Matcher, _ live: [RestingOrder], _ l: LedgerSnapshot,
                               _ model: NegotiationModel) -> Command {
        let i = negotiatedInstrument()
        let s = m.instruments[i]
        let count = Int32(LedgerStreamMarket.accountCount)
        let seller = negotiatedSeller(l, i, live)
        var buyer = negotiatedBuyer(l, i, live)
        let pairing = rng.int(100)
        if pairing < 6 {
            buyer = seller
        } else if pairing < 24 {
            let base = (LedgerStreamMarket.broker(of: seller) - 1) * 10
            buyer = base + Int32(rng.int(10))
            if buyer == seller { buyer = base + (seller - base + 1) % 10 }
        } else if buyer == seller {
            buyer = (seller + 1 + Int32(rng.int(Int(count) - 1))) % count
        }
        let price = negotiatedPrice(m, i)
        let sellable = l.position(account: seller, instrument: i)?.sellable ?? 0
        var qty = s.lot * min(max(sellable / s.lot, 1), lots(i))
        if rng.oneIn(10) { qty = sellable / s.lot * s.lot + s.lot }
        let a = l.accounts[Int(buyer)]
        let affordable = LedgerMath.affordableLots(free: a.cash - a.frozenCash, limit: price, lot: s.lot, bps: bps)
        if affordable > 0 && qty > affordable * s.lot && rng.int(100) < 70 { qty = affordable * s.lot }
        let sellFirst = rng.oneIn(2)
        let first = sellFirst ? seller : buyer, second = sellFirst ? buyer : seller
        let firstBroker = LedgerStreamMarket.broker(of: first), secondBroker = LedgerStreamMarket.broker(of: second)
        let firstSide: Side = sellFirst ? .sell : .buy
        var ref: ClientOrderID
        let others = live.filter { $0.kind == .cross && $0.broker != firstBroker }
        if !others.isEmpty && rng.int(100) < 15, let w = model.open[rng.pick(others).oid] {
            ref = w.ref
        } else {
            negotiation!.refNumber += 1
            ref = ClientOrderID("R\(negotiation!.refNumber)")!
        }
        var cp = secondBroker
        if rng.int(100) < 3 { cp = rng.oneIn(2) ? -1 : Int32(config.brokers.count) + 3 }
        let c = Command.cross(broker: firstBroker, ts: 0, cid: cid(firstBroker), account: first, instrument: i,
                              side: firstSide, qty: qty, price: price, ref: ref, counterBroker: cp)
        guard cp == secondBroker, rng.int(100) >= 5 else { return c }
        var plan = Command.cross(broker: secondBroker, ts: 0, cid: .none, account: second, instrument: i,
                                 side: firstSide.opposite, qty: qty, price: price, ref: ref, counterBroker: firstBroker)
        if rng.int(100) < 16 {
            switch rng.int(4) {
            case 0:
                // Another instrument (and so a price and lot of its own).
                let j = (i + 1 + Int32(rng.int(config.instruments.count - 1))) % Int32(config.instruments.count)
                plan.instrument = j
                plan.price = m.instruments[j].referencePrice
                plan.qty = m.instruments[j].lot * max(1, qty / s.lot)
            case 1: plan.price = price + s.tick <= s.bandHigh ? price + s.tick : price - s.tick
            case 2: plan.qty = qty + s.lot
            default: plan.side = firstSide
            }
        }
        negotiation!.plans.append(plan)
        if negotiation!.plans.count > 24 { negotiation!.plans.removeFirst() }
        return c
    }

    /// A broker's second `CROSS` under a ref it has waiting, to the same counterparty or another
    /// (`REF_IN_USE`, unless it completes a cross that counterparty has waiting for it).
    mutating func reusedRefCross(_ m: borrowing Matcher, _ live: [RestingOrder], _ l: LedgerSnapshot,
                                 _ model: NegotiationModel) -> Command? {
        let waiting = live.filter { $0.kind == .cross }
        guard !waiting.isEmpty, let w = model.open[rng.pick(waiting).oid] else { return nil }
        let account = rng.oneIn(2) ? w.account : (w.broker - 1) * 10 + Int32(rng.int(10))
        let i = rng.oneIn(2) ? w.instrument : negotiatedInstrument()
        let cp = rng.oneIn(2) ? w.counterBroker : 1 + Int32(rng.int(3))
        return .cross(broker: w.broker, ts: 0, cid: cid(w.broker), account: account, instrument: i,
                      side: rng.oneIn(2) ? .buy : .sell, qty: m.instruments[i].lot * (1 + rng.int64(3)),
                      price: negotiatedPrice(m, i), ref: w.ref, counterBroker: cp)
    }

    /// `CANCEL`, `STATUS` or `REPLACE` of a live quote or cross, of a cid a negotiated verb used
    /// today (done, refused or live), or of one from a day before.
    mutating func manageNegotiated(_ m: borrowing Matcher, _ live: [RestingOrder],
                                   _ model: NegotiationModel) -> Command? {
        let open = live.filter { $0.kind != .book }
        let key: CidKey
        switch rng.int(100) {
        case ..<55 where !open.isEmpty:
            let o = rng.pick(open)
            key = CidKey(broker: o.broker, cid: o.cid)
        case ..<88 where !model.cidOrder.isEmpty:
            key = rng.pick(model.cidOrder)
        default:
            guard !model.previousCids.isEmpty else { return nil }
            key = rng.pick(model.previousCids)
        }
        switch rng.int(100) {
        case ..<45: return .cancel(broker: key.broker, ts: 0, cid: key.cid)
        case ..<75: return .status(broker: key.broker, ts: 0, cid: key.cid)
        default: return .replace(broker: key.broker, ts: 0, cid: key.cid, newCid: cid(key.broker), qty: 1_000)
        }
    }

    /// A `QUOTE`, `CROSS` or `ACCEPT` refused before the market's rules (or by the first of them).
    mutating func oddNegotiated(_ m: borrowing Matcher, _ live: [RestingOrder], _ l: LedgerSnapshot) -> Command {
        let i = negotiatedInstrument()
        let s = m.instruments[i]
        let account = negotiatedSeller(l, i, live)
        var c = Command.quote(broker: LedgerStreamMarket.broker(of: account), ts: 0, cid: .none, account: account,
                              instrument: i, side: .sell, qty: s.lot, price: s.referencePrice)
        switch rng.int(9) {
        case 0: c.price = s.tick > 1 ? s.referencePrice + 1 : s.bandHigh + s.tick     // TICK_SIZE or PRICE_BAND
        case 1: c.price = rng.oneIn(2) ? s.bandHigh + s.tick : s.bandLow - s.tick     // PRICE_BAND
        case 2: c.qty = s.lot > 1 ? s.lot + 1 : 0                                     // LOT_SIZE or BAD_QTY
        case 3:
            c.kind = .cross                                                         // UNKNOWN_BROKER
            c.ref = ClientOrderID("X\(rng.int(1000))")!
            c.counterBroker = rng.oneIn(2) ? -1 : 17
        case 4:
            c.side = .buy                                                           // NOT_QUALIFIED
            c.account = rng.pick([9, 19, 29])
            c.broker = LedgerStreamMarket.broker(of: c.account)
        case 5: c.broker = 1 + c.broker % 3                                         // NOT_YOUR_ACCOUNT
        case 6: c.account = rng.oneIn(2) ? -1 : 99                                  // UNKNOWN_ACCOUNT
        case 7: c.instrument = -1                                                   // UNKNOWN_SYMBOL
        default:
            c.kind = .cross                                                         // BAD_PRICE detail=ZERO
            c.ref = ClientOrderID("Z\(rng.int(1000))")!
            c.counterBroker = c.broker
            c.price = 0
        }
        c.cid = cid(c.broker)
        return c
    }
}
