#if canImport(Glibc)
import Glibc
#endif
import BenchSupport
import CuoheCore

// cuohe-negotiation-bench: negotiated transfer in the matching core alone (no parsing, no I/O, no
// threads), beside the order book doing the same work.
// Build and run in release mode:
//   swift run -c release cuohe-negotiation-bench [--waiting W] [--small-waiting S] [--quotes Q] [--orders N]
//       [--runs R] [--only cross,cross-small,quote,book]
// Per run, each from a fresh matcher: W first CROSS sides waiting at once, then their
// counterparties' sides completing them in a shuffled order; the same W crosses S at a time; Q
// QUOTEs, then each taken by two ACCEPTs; N NEW orders resting, then N NEW orders each trading
// with exactly one of them. Commands are generated before timing; the figures are medians of the
// runs. The last line is machine-readable. Money stays in integers; Double only turns
// nanoseconds into rates.

let brokerCount = 10
/// Every account holds the instrument (so buys need no holder slot): the holder cap, 200, bounds it.
let accountCount = 200
let tick: Int64 = 100  // 0.01 CNY
let mid: Int64 = 1_000_000  // 100.00 CNY, the reference price
/// Prices are drawn from mid ± this many ticks, inside the ±10% band (±1,000 ticks).
let priceTicks = 500
let batchSize = 64
let startTs: Int64 = 1_796_083_200_000_000_000

func market() -> MarketConfig {
    let brokers = (0..<brokerCount).map { BrokerConfig(id: "B\($0)", token: "t\($0)") }
    // Qualified, with cash and shares enough that no command of the run is refused for want of them.
    let accounts = (0..<accountCount).map {
        AccountConfig(id: "A\($0)", broker: "B\($0 % brokerCount)", qualifiedUntil: CivilDate(iso: "2027-12-31")!,
                      cash: 10_000_000_000 * Fixed.scale, holdings: [Holding(symbol: "ZJ000001", shares: 1_000_000_000)])
    }
    // Continuous (NEW works too; the negotiated verbs work on every instrument), holder cap 200,
    // no holding period and no rebuy rule, so nothing is refused.
    let instrument = InstrumentConfig(symbol: "ZJ000001", name: "Bench", tick: tick, lot: 100,
                                      referencePrice: mid, bandPercent: 10, holderCap: 200, holdingDays: 0,
                                      mode: .continuous, rebuyDays: 0)
    return MarketConfig(tradingDate: CivilDate(iso: "2026-12-01")!, fees: Fees(feeBps: 3, stampDutyBps: 10),
                        instruments: [instrument], brokers: brokers, accounts: accounts)
}

func brokerOf(_ account: Int32) -> Int32 { account % Int32(brokerCount) }

func idFor(_ prefix: Character, _ n: Int) -> ClientOrderID {
    var bytes: [UInt8] = [prefix.asciiValue!]
    bytes.append(contentsOf: String(n).utf8)
    return ClientOrderID(bytes: bytes)!
}

/// An account of another broker than `other`'s (so never `other` itself).
func accountAwayFrom(_ other: Int32, _ rng: inout SplitMix64) -> Int32 {
    while true {
        let a = Int32(rng.below(accountCount))
        if brokerOf(a) != brokerOf(other) { return a }
    }
}

func randomPrice(_ rng: inout SplitMix64) -> Int64 { mid + Int64(rng.below(2 * priceTicks + 1) - priceTicks) * tick }

func shuffle<T>(_ xs: inout [T], _ rng: inout SplitMix64) {
    guard xs.count > 1 else { return }
    for i in stride(from: xs.count - 1, to: 0, by: -1) { xs.swapAt(i, rng.below(i + 1)) }
}

// MARK: - Streams and what they must produce

/// What one command must produce: an `ACK` with this verb (and, where known, this oid), and at
/// most one trade, of this kind, price, quantity, buyer and seller.
struct Expect {
    var verb: CommandKind
    var oid: Int64 = 0  // 0: any
    var trades = false
    var kind: TradeKind = .book
    var price: Int64 = 0
    var qty: Int64 = 0
    var buyer: Int32 = -1
    var seller: Int32 = -1
}

/// Commands in the order they are fed (stamped 1 ns apart), and what each must produce.
struct Stream {
    var commands: [Command] = []
    var expects: [Expect] = []

    mutating func append(_ c: Command, _ e: Expect) {
        var c = c
        c.ts = startTs + Int64(commands.count + 1)
        commands.append(c)
        expects.append(e)
    }

    var count: Int { commands.count }
    var tradesExpected: Int { expects.filter { $0.trades }.count }
}

/// One transfer agreed off the exchange: its two accounts (of different brokers), quantity and
/// price, and which side is entered first.
struct Deal {
    var buyer: Int32
    var seller: Int32
    var qty: Int64
    var price: Int64
    var buyerFirst: Bool
}

func deals(_ count: Int, seed: UInt64) -> [Deal] {
    var rng = SplitMix64(state: seed)
    return (0..<count).map { _ in
        let buyer = Int32(rng.below(accountCount))
        let seller = accountAwayFrom(buyer, &rng)
        return Deal(buyer: buyer, seller: seller, qty: Int64(1 + rng.below(10)) * 100, price: randomPrice(&rng),
                    buyerFirst: rng.below(2) == 0)
    }
}

/// Deal `n`'s first side (`completing` false) or its counterparty's, with ref `r<n>`.
func crossSide(_ d: Deal, _ n: Int, completing: Bool) -> (Command, Expect) {
    let buy = d.buyerFirst != completing
    let account = buy ? d.buyer : d.seller
    let other = buy ? d.seller : d.buyer
    let c = Command.cross(broker: brokerOf(account), ts: 0, cid: idFor(completing ? "s" : "f", n), account: account,
                          instrument: 0, side: buy ? .buy : .sell, qty: d.qty, price: d.price, ref: idFor("r", n),
                          counterBroker: brokerOf(other))
    var e = Expect(verb: .cross)
    if completing {
        e.trades = true
        e.kind = .cross
        e.price = d.price
        e.qty = d.qty
        e.buyer = d.buyer
        e.seller = d.seller
    }
    return (c, e)
}

/// The deals `group` at a time: each group's first sides in order, then its completing sides
/// shuffled, so the lookups do not follow the order the crosses went in. Returns the stream and
/// the end of each half-group (first sides, completing sides, first sides, …).
func crossStream(_ all: [Deal], group: Int, seed: UInt64) -> (Stream, [Int]) {
    var rng = SplitMix64(state: seed)
    var s = Stream()
    var ends: [Int] = []
    var start = 0
    while start < all.count {
        let range = start..<min(start + group, all.count)
        for n in range {
            let (c, e) = crossSide(all[n], n, completing: false)
            s.append(c, e)
        }
        ends.append(s.count)
        var order = Array(range)
        shuffle(&order, &rng)
        for n in order {
            let (c, e) = crossSide(all[n], n, completing: true)
            s.append(c, e)
        }
        ends.append(s.count)
        start = range.upperBound
    }
    return (s, ends)
}

/// `count` QUOTEs (200 to 1,000 shares, buys and sells alternating), then two ACCEPTs of each
/// (two parts that add up to the quote, by accounts of other brokers), all the ACCEPTs shuffled.
/// A fresh matcher gives quote `n` oid `n + 1`.
func quoteStream(_ count: Int, seed: UInt64) -> Stream {
    var rng = SplitMix64(state: seed)
    var s = Stream()
    var accepts: [(Command, Expect)] = []
    for n in 0..<count {
        let account = Int32(rng.below(accountCount))
        let sell = n % 2 == 1
        let lots = 2 + rng.below(9)
        let price = randomPrice(&rng)
        let oid = Int64(n + 1)
        s.append(.quote(broker: brokerOf(account), ts: 0, cid: idFor("q", n), account: account, instrument: 0,
                        side: sell ? .sell : .buy, qty: Int64(lots) * 100, price: price),
                 Expect(verb: .quote, oid: oid))
        let first = 1 + rng.below(lots - 1)
        for (part, partLots) in [first, lots - first].enumerated() {
            let taker = accountAwayFrom(account, &rng)
            let qty = Int64(partLots) * 100
            let c = Command.accept(broker: brokerOf(taker), ts: 0, cid: idFor(part == 0 ? "a" : "b", n), account: taker,
                                   quoteOid: oid, qty: qty)
            accepts.append((c, Expect(verb: .accept, trades: true, kind: .quote, price: price, qty: qty,
                                      buyer: sell ? taker : account, seller: sell ? account : taker)))
        }
    }
    shuffle(&accepts, &rng)
    for (c, e) in accepts { s.append(c, e) }
    return s
}

/// `count` DAY limits that rest (buys below the middle, sells above it, alternating, 100 to 1,000
/// shares), then `count` NEW orders that each take exactly one of them: the next in priority on a
/// side chosen at random, its quantity at its price, by an account of another broker.
func bookStream(_ count: Int, seed: UInt64) -> Stream {
    var rng = SplitMix64(state: seed)
    var s = Stream()
    var resting: [Command] = []
    for n in 0..<count {
        let account = Int32(rng.below(accountCount))
        let buy = n % 2 == 0
        let offset = Int64(1 + rng.below(priceTicks)) * tick
        let c = Command.newOrder(broker: brokerOf(account), ts: 0, cid: idFor("n", n), account: account, instrument: 0,
                                 side: buy ? .buy : .sell, qty: Int64(1 + rng.below(10)) * 100,
                                 price: buy ? mid - offset : mid + offset)
        resting.append(c)
        s.append(c, Expect(verb: .new))
    }
    // Price-time priority: bids highest first, asks lowest first, then by arrival.
    let bids = resting.indices.filter { resting[$0].side == .buy }.sorted {
        resting[$0].price != resting[$1].price ? resting[$0].price > resting[$1].price : $0 < $1
    }
    let asks = resting.indices.filter { resting[$0].side == .sell }.sorted {
        resting[$0].price != resting[$1].price ? resting[$0].price < resting[$1].price : $0 < $1
    }
    var nextBid = 0
    var nextAsk = 0
    for n in 0..<count {
        let takeBid = nextAsk == asks.count || (nextBid < bids.count && rng.below(2) == 0)
        let maker = resting[takeBid ? bids[nextBid] : asks[nextAsk]]
        if takeBid { nextBid += 1 } else { nextAsk += 1 }
        let taker = accountAwayFrom(maker.account, &rng)
        let c = Command.newOrder(broker: brokerOf(taker), ts: 0, cid: idFor("m", n), account: taker, instrument: 0,
                                 side: maker.side == .buy ? .sell : .buy, qty: maker.qty, price: maker.price)
        s.append(c, Expect(verb: .new, trades: true, kind: .book, price: maker.price, qty: maker.qty,
                           buyer: maker.side == .buy ? maker.account : taker,
                           seller: maker.side == .buy ? taker : maker.account))
    }
    return s
}

// MARK: - Feeding and checking

func fail(_ message: String) -> Never {
    print("CHECK FAILED: \(message)")
    exit(1)
}

/// The events seen so far, checked command by command against what each must produce.
struct Tally {
    var acks = 0
    var fills = 0
    var quoteEvents = 0
    var tradesByKind = [Int](repeating: 0, count: 4)

    /// One batch's events, for the commands `range` of `s`: each command's `ACK` (its cid, verb
    /// and oid) comes first, then its trade if it must make one (kind, price, quantity, buyer,
    /// seller) with its two `FILL`s, and the quote board's lines; no `REJ`, no `CANCELED`.
    mutating func check(_ events: borrowing EventBuffer, _ s: Stream, _ range: Range<Int>) {
        var current = range.lowerBound - 1
        var traded = false
        func finished(_ n: Int, _ traded: Bool) {
            if n >= range.lowerBound && s.expects[n].trades && !traded { fail("command \(n) did not trade") }
        }
        for k in 0..<events.count {
            let e = events[k]
            switch e.kind {
            case .ack:
                finished(current, traded)
                current += 1
                traded = false
                guard current < range.upperBound else { fail("more ACKs than commands") }
                let want = s.expects[current]
                guard e.cid == s.commands[current].cid, e.verb == want.verb, want.oid == 0 || e.oid == want.oid else {
                    fail("command \(current): ACK for another command, verb or oid (oid \(e.oid))")
                }
                acks += 1
            case .trade:
                guard current >= range.lowerBound else { fail("a trade before any ACK") }
                let want = s.expects[current]
                guard want.trades, !traded, e.tradeKind == want.kind, e.price == want.price, e.qty == want.qty,
                      e.account == want.buyer, e.counterAccount == want.seller else {
                    fail("command \(current): unexpected trade (kind \(e.tradeKind), px \(e.price), qty \(e.qty), "
                         + "buyer \(e.account), seller \(e.counterAccount))")
                }
                traded = true
                tradesByKind[Int(e.tradeKind.rawValue)] += 1
            case .fill:
                fills += 1
            case .quote:
                quoteEvents += 1
            case .reject:
                fail("command \(current + 1): REJ reason \(String(describing: e.rejectReason)) detail \(e.detail)")
            default:
                fail("command \(current): unexpected \(e.kind) event")
            }
        }
        finished(current, traded)
        guard current == range.upperBound - 1 else { fail("\(range.upperBound - 1 - current) commands got no ACK") }
    }
}

/// Batches fed so far of commands that rest or wait (first CROSS sides, QUOTEs, resting NEWs),
/// and of commands that trade. Counting them also keeps the two functions below two: identical
/// bodies would be folded into one.
nonisolated(unsafe) var openingBatches = 0
nonisolated(unsafe) var tradingBatches = 0

/// One batch of commands that rest or wait, and one of commands that trade: apart, so that
/// callgrind can count each (`--toggle-collect` on either).
@inline(never)
func processOpening(_ batch: UnsafeBufferPointer<Command>, _ matcher: inout Matcher, _ events: inout EventBuffer) {
    openingBatches &+= 1
    matcher.process(batch, into: &events)
}

@inline(never)
func processTrading(_ batch: UnsafeBufferPointer<Command>, _ matcher: inout Matcher, _ events: inout EventBuffer) {
    tradingBatches &+= 1
    matcher.process(batch, into: &events)
}

/// Feeds commands `range` of `s` in batches as the pipeline hands them over (events drained
/// after each batch). Only `process` is timed: the events are checked between batches. Returns
/// the nanoseconds.
func feed(_ s: Stream, _ range: Range<Int>, trading: Bool, _ matcher: inout Matcher, _ events: inout EventBuffer,
          _ tally: inout Tally) -> Int64 {
    var nanos: Int64 = 0
    s.commands.withUnsafeBufferPointer { all in
        var i = range.lowerBound
        while i < range.upperBound {
            let n = min(batchSize, range.upperBound - i)
            let batch = UnsafeBufferPointer(rebasing: all[i..<(i + n)])
            events.removeAll()
            let start = nowNanos()
            if trading { processTrading(batch, &matcher, &events) } else { processOpening(batch, &matcher, &events) }
            nanos += nowNanos() - start
            tally.check(events, s, i..<(i + n))
            i += n
        }
    }
    return nanos
}

func verifyPhase(_ matcher: borrowing Matcher, _ what: String, live: Int, negotiated: Int, kind: OrderKind? = nil) {
    if let problem = matcher.verify() { fail("\(what): \(problem)") }
    guard matcher.counters.rejects == 0 else { fail("\(what): \(matcher.counters.rejects) rejects") }
    let open = matcher.negotiatedOrders(instrument: 0)
    guard matcher.liveOrderCount == live, open.count == negotiated, kind == nil || open.allSatisfy({ $0.kind == kind }) else {
        fail("\(what): \(matcher.liveOrderCount) live orders (want \(live)), \(open.count) quotes and crosses open "
             + "(want \(negotiated))")
    }
}

func trades(_ tally: Tally, _ kind: TradeKind) -> Int { tally.tradesByKind[Int(kind.rawValue)] }

/// Ends a stream's checks: every command ACKed, every trade made (and only of `kind`), two FILLs a
/// trade, the matcher's counters agreeing.
func checkTotals(_ matcher: borrowing Matcher, _ tally: Tally, _ s: Stream, kind: TradeKind, quoteEvents: Int = 0,
                 _ what: String) {
    let made = tally.tradesByKind.reduce(0, +)
    guard tally.acks == s.count, made == s.tradesExpected, trades(tally, kind) == made, tally.fills == 2 * made,
          tally.quoteEvents == quoteEvents, matcher.counters.trades == Int64(made),
          matcher.counters.ordersAccepted == Int64(s.count) else {
        fail("\(what): \(tally.acks) ACKs of \(s.count), \(made) trades of \(s.tradesExpected) (\(trades(tally, kind)) "
             + "\(kind)), \(tally.fills) fills, \(tally.quoteEvents) quote lines of \(quoteEvents)")
    }
}

// MARK: - The runs

/// The engine's limits, the same for every matcher of the run (so every cross table is the same
/// size, sized for the most crosses waiting at once).
func benchLimits(waiting: Int, quotes: Int, orders: Int) -> EngineLimits {
    let most = max(waiting, quotes, orders)
    var limits = EngineLimits(ordersLiveMax: most + 16, cidsPerDayMax: 3 * most + 16)
    limits.crossesWaitingMax = max(limits.crossesWaitingMax, waiting)
    limits.quotesPerDayMax = max(limits.quotesPerDayMax, quotes)
    limits.prefaultsMemory = true  // page faults belong to start-up, not to the timed run
    return limits
}

func freshMatcher(_ config: MarketConfig, _ limits: EngineLimits) -> Matcher {
    let matcher = Matcher(config: config, limits: limits)
    guard matcher.nextOid == 1 else { fail("a fresh matcher's first oid is \(matcher.nextOid)") }
    return matcher
}

/// An event buffer large enough for any batch, touched before timing.
func freshEvents() -> EventBuffer {
    var events = EventBuffer(capacity: 8 * batchSize)
    for _ in 0..<(8 * batchSize) { events.append(Event(kind: .ok, broker: 0, ts: 0)) }
    events.removeAll()
    return events
}

struct CrossRun {
    var waitNanos: Int64 = 0
    var completeNanos: Int64 = 0
}

/// The crosses of `s`, half-groups ending at `ends`: first sides (timed together), completing
/// sides (timed together). Every half-group's events are checked and its live count; the whole
/// matcher (`verify()`, the waiting crosses) after the first and the last group's each half, not
/// after every one: a walk of the whole state between small groups would evict what they use and
/// be timed as their cost. The table is empty at the end.
func crossRun(_ s: Stream, ends: [Int], config: MarketConfig, _ limits: EngineLimits, _ what: String) -> CrossRun {
    var run = CrossRun()
    var matcher = freshMatcher(config, limits)
    var events = freshEvents()
    var tally = Tally()
    var start = 0
    for (k, end) in ends.enumerated() {
        let first = k % 2 == 0
        let nanos = feed(s, start..<end, trading: !first, &matcher, &events, &tally)
        let live = first ? end - start : 0
        if first { run.waitNanos += nanos } else { run.completeNanos += nanos }
        guard matcher.liveOrderCount == live else { fail("\(what): \(matcher.liveOrderCount) live, want \(live)") }
        if k < 2 || k >= ends.count - 2 {
            verifyPhase(matcher, "\(what), \(first ? "first" : "completing") sides", live: live, negotiated: live,
                        kind: .cross)
        }
        start = end
    }
    checkTotals(matcher, tally, s, kind: .cross, what)
    // verify() holds the cross table to the waiting crosses, and none is left: the table is empty.
    return run
}

struct PairRun {
    var firstNanos: Int64 = 0
    var secondNanos: Int64 = 0
}

/// The `quoteCount` QUOTEs of `s` (timed), then its ACCEPTs (timed).
func quoteRun(_ s: Stream, quoteCount: Int, config: MarketConfig, _ limits: EngineLimits) -> PairRun {
    var run = PairRun()
    var matcher = freshMatcher(config, limits)
    var events = freshEvents()
    var tally = Tally()
    run.firstNanos = feed(s, 0..<quoteCount, trading: false, &matcher, &events, &tally)
    verifyPhase(matcher, "quotes posted", live: quoteCount, negotiated: quoteCount, kind: .quote)
    guard tally.quoteEvents == quoteCount else { fail("\(tally.quoteEvents) quote lines for \(quoteCount) quotes") }
    run.secondNanos = feed(s, quoteCount..<s.count, trading: true, &matcher, &events, &tally)
    verifyPhase(matcher, "quotes accepted", live: 0, negotiated: 0)
    checkTotals(matcher, tally, s, kind: .quote, quoteEvents: 3 * quoteCount, "QUOTE + ACCEPT")
    return run
}

/// The `orderCount` resting NEWs of `s` (timed), then the matching ones (timed).
func bookRun(_ s: Stream, orderCount: Int, config: MarketConfig, _ limits: EngineLimits) -> PairRun {
    var run = PairRun()
    var matcher = freshMatcher(config, limits)
    var events = freshEvents()
    var tally = Tally()
    run.firstNanos = feed(s, 0..<orderCount, trading: false, &matcher, &events, &tally)
    verifyPhase(matcher, "NEW resting", live: orderCount, negotiated: 0)
    guard matcher.counters.trades == 0 else { fail("a resting NEW traded") }
    run.secondNanos = feed(s, orderCount..<s.count, trading: true, &matcher, &events, &tally)
    verifyPhase(matcher, "NEW matching", live: 0, negotiated: 0)
    guard matcher.bestBid(instrument: 0) == nil, matcher.bestAsk(instrument: 0) == nil else { fail("the book is not empty") }
    checkTotals(matcher, tally, s, kind: .book, "NEW")
    return run
}

// MARK: - Main

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func fixed1(_ x: Double) -> String {
    let tenths = Int64((x * 10).rounded())
    return (tenths < 0 ? "-" : "") + "\(abs(tenths) / 10).\(abs(tenths % 10))"
}

/// What one clock read around a batch adds: the mean of many back-to-back reads.
func clockNanos() -> Double {
    let reads = 200_000
    var last = nowNanos()
    let start = last
    for _ in 0..<reads { last = nowNanos() }
    return Double(last - start) / Double(reads)
}

/// The four measurements; `--only` picks some (for profiling one alone).
enum Part: String, CaseIterable {
    case cross, crossSmall = "cross-small", quote, book
}

var waiting = 16_000
var smallWaiting = 100
var quoteCount = 16_000
var orderCount = 16_000
var runs = 5
var parts = Set(Part.allCases)
let usage = "usage: cuohe-negotiation-bench [--waiting W] [--small-waiting S] [--quotes Q] [--orders N] [--runs R] "
    + "[--only cross,cross-small,quote,book]"
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    guard let v = args.popFirst() else {
        print(usage)
        exit(2)
    }
    if a == "--only" {
        let picked = v.split(separator: ",").map { Part(rawValue: String($0)) }
        guard !picked.isEmpty, picked.allSatisfy({ $0 != nil }) else {
            print(usage)
            exit(2)
        }
        parts = Set(picked.compactMap { $0 })
        continue
    }
    guard let n = Int(v), n > 0 else {
        print(usage)
        exit(2)
    }
    switch a {
    case "--waiting": waiting = n
    case "--small-waiting": smallWaiting = n
    case "--quotes": quoteCount = n
    case "--orders": orderCount = n
    case "--runs": runs = n
    default:
        print("unknown option \(a)\n\(usage)")
        exit(2)
    }
}
guard smallWaiting <= waiting else {
    print("--small-waiting is at most --waiting")
    exit(2)
}

let config = market()
let limits = benchLimits(waiting: waiting, quotes: quoteCount, orders: orderCount)
let agreed = deals(waiting, seed: 42)
let (largeCrosses, largeEnds) = crossStream(agreed, group: waiting, seed: 43)
let (smallCrosses, smallEnds) = crossStream(agreed, group: smallWaiting, seed: 43)
let quoting = quoteStream(quoteCount, seed: 44)
let booking = bookStream(orderCount, seed: 45)
let clock = clockNanos()
print("negotiation bench: \(waiting) crosses (\(waiting) waiting at once, then \(smallWaiting) at a time), "
      + "\(quoteCount) quotes accepted in two parts, \(orderCount) NEW resting then matching; \(runs) runs, "
      + "batches of \(batchSize)")
print("clock read around each batch: \(fixed1(clock)) ns (\(fixed1(clock / Double(batchSize))) ns a command, included)")

var large: [CrossRun] = []
var small: [CrossRun] = []
var quoted: [PairRun] = []
var booked: [PairRun] = []
func per(_ nanos: Int64, _ count: Int) -> String { fixed1(Double(nanos) / Double(count)) }
// The four kinds alternate within each run, so drift in the machine's load hits them alike.
for r in 0..<runs {
    var line = "run \(r + 1):"
    if parts.contains(.cross) {
        let l = crossRun(largeCrosses, ends: largeEnds, config: config, limits, "CROSS, \(waiting) waiting")
        line += " CROSS wait \(per(l.waitNanos, waiting)) complete \(per(l.completeNanos, waiting)) ns;"
        large.append(l)
    }
    if parts.contains(.crossSmall) {
        let s = crossRun(smallCrosses, ends: smallEnds, config: config, limits, "CROSS, \(smallWaiting) waiting")
        line += " at \(smallWaiting) \(per(s.waitNanos, waiting)) / \(per(s.completeNanos, waiting)) ns;"
        small.append(s)
    }
    if parts.contains(.quote) {
        let q = quoteRun(quoting, quoteCount: quoteCount, config: config, limits)
        line += " QUOTE \(per(q.firstNanos, quoteCount)) ACCEPT \(per(q.secondNanos, 2 * quoteCount)) ns;"
        quoted.append(q)
    }
    if parts.contains(.book) {
        let b = bookRun(booking, orderCount: orderCount, config: config, limits)
        line += " NEW rest \(per(b.firstNanos, orderCount)) match \(per(b.secondNanos, orderCount)) ns"
        booked.append(b)
    }
    print(line)
}

/// The median over the runs of nanoseconds per command, nil for a part not run.
func medianPer<R>(_ results: [R], _ count: Int, _ nanos: (R) -> Int64) -> Double? {
    results.isEmpty ? nil : median(results.map { Double(nanos($0)) / Double(count) })
}
let figures: [(key: String, label: String, value: Double?)] = [
    ("cross_wait_ns", "CROSS first side, \(waiting) waiting at once", medianPer(large, waiting) { $0.waitNanos }),
    ("cross_complete_ns", "CROSS completing side (trades), shuffled", medianPer(large, waiting) { $0.completeNanos }),
    ("cross_wait_small_ns", "CROSS first side, \(smallWaiting) waiting at a time",
     medianPer(small, waiting) { $0.waitNanos }),
    ("cross_complete_small_ns", "CROSS completing side, \(smallWaiting) waiting at a time",
     medianPer(small, waiting) { $0.completeNanos }),
    ("quote_ns", "QUOTE", medianPer(quoted, quoteCount) { $0.firstNanos }),
    ("accept_ns", "ACCEPT (two a quote, trades)", medianPer(quoted, 2 * quoteCount) { $0.secondNanos }),
    ("new_rest_ns", "NEW resting", medianPer(booked, orderCount) { $0.firstNanos }),
    ("new_match_ns", "NEW matching one resting order (trades)", medianPer(booked, orderCount) { $0.secondNanos }),
]

func row(_ label: String, _ value: String) { print(label + String(repeating: " ", count: max(1, 50 - label.count)) + value) }
func shown(_ x: Double?) -> String { x.map(fixed1) ?? "-" }
print("")
print("medians of \(runs) runs, ns per command")
for f in figures { row(f.label, shown(f.value)) }
let newMatch = figures[7].value
if let complete = figures[1].value, let m = newMatch { row("  CROSS completing / NEW matching", fixed1(complete / m)) }
if let accept = figures[5].value, let m = newMatch { row("  ACCEPT / NEW matching", fixed1(accept / m)) }
print("negotiation crosses=\(waiting) waiting=\(waiting) small_waiting=\(smallWaiting) quotes=\(quoteCount) "
      + "orders=\(orderCount) " + figures.map { "\($0.key)=\(shown($0.value))" }.joined(separator: " "))
