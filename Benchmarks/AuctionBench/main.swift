#if canImport(Glibc)
import Glibc
#endif
import BenchSupport
import CuoheCore

// cuohe-auction-bench: the call auction in the matching core alone (no parsing, no I/O, no threads).
// Build and run in release mode:
//   swift run -c release cuohe-auction-bench [--orders N] [--runs R] [--band-percent P] [--naive-calls C]
// Per run, from fresh matchers: N NEW orders into a book collecting an auction, the uncross that
// leaving the auction makes, and N NEW orders that rest without trading in an open book. Commands
// are generated before timing; the figures are medians of the runs. The last line is
// machine-readable. Money stays in integers; Double only turns nanoseconds into rates.

func cidFor(_ n: Int) -> ClientOrderID {
    var digits: [UInt8] = [UInt8(ascii: "o")]
    digits.append(contentsOf: String(n).utf8)
    return ClientOrderID(bytes: digits)!
}

let brokerCount = 10
/// The operator's broker id: after the trading brokers.
let operatorBroker = Int32(brokerCount)
/// Every account holds the instrument (so buys need no holder slot): the holder cap, 200, bounds it.
let accountCount = 200
let tick: Int64 = 100  // 0.01 CNY
let mid: Int64 = 1_000_000  // 100.00 CNY, the reference price
let batchSize = 64
let startTs: Int64 = 1_796_083_200_000_000_000

func market(bandPercent: Int64) -> MarketConfig {
    var brokers = (0..<brokerCount).map { BrokerConfig(id: "B\($0)", token: "t\($0)") }
    brokers.append(BrokerConfig(id: "OP", token: "op", isOperator: true))
    // Qualified, with cash and shares enough that no order of the run is refused for want of them.
    let accounts = (0..<accountCount).map {
        AccountConfig(id: "A\($0)", broker: "B\($0 % brokerCount)", qualifiedUntil: CivilDate(iso: "2027-12-31")!,
                      cash: 10_000_000_000 * Fixed.scale, holdings: [Holding(symbol: "ZJ000001", shares: 1_000_000_000)])
    }
    let instrument = InstrumentConfig(symbol: "ZJ000001", name: "Bench", tick: tick, lot: 100,
                                      referencePrice: mid, bandPercent: bandPercent)
    return MarketConfig(tradingDate: CivilDate(iso: "2026-12-01")!, fees: Fees(feeBps: 3, stampDutyBps: 10),
                        instruments: [instrument], brokers: brokers, accounts: accounts)
}

func phaseCommand(_ phase: TradingPhase, ts: Int64) -> Command {
    var c = Command(kind: .phase, broker: operatorBroker, ts: ts)
    c.instrument = 0
    c.phase = phase
    return c
}

/// `orders` DAY limits, buys and sells alternating, 100 to 1,000 shares, each side's price uniform
/// over `buyTicks` / `sellTicks` (offsets from the middle, in ticks).
func orders(_ count: Int, buyTicks: ClosedRange<Int>, sellTicks: ClosedRange<Int>, seed: UInt64) -> [Command] {
    var rng = SplitMix64(state: seed)
    var commands: [Command] = []
    commands.reserveCapacity(count)
    for n in 0..<count {
        let buy = n % 2 == 0
        let range = buy ? buyTicks : sellTicks
        let offset = range.lowerBound + rng.below(range.count)
        let account = rng.below(accountCount)
        commands.append(.newOrder(broker: Int32(account % brokerCount), ts: startTs + Int64(n + 1), cid: cidFor(n + 1),
                                  account: Int32(account), instrument: 0, side: buy ? .buy : .sell,
                                  qty: Int64(1 + rng.below(10)) * 100, price: mid + Int64(offset) * tick))
    }
    return commands
}

/// Crossing: buys in [mid − 2%, mid + 5%], sells in [mid − 5%, mid + 2%]; much of it trades at
/// the uncross.
func crossingOrders(_ count: Int, seed: UInt64) -> [Command] {
    orders(count, buyTicks: -200...500, sellTicks: -500...200, seed: seed)
}

/// Resting: as many price levels per side as the crossing stream, but buys below the middle and
/// sells above it, so an open book rests them all and matches nothing.
func restingOrders(_ count: Int, seed: UInt64) -> [Command] {
    orders(count, buyTicks: -701...(-1), sellTicks: 1...701, seed: seed)
}

func freshMatcher(_ config: MarketConfig, orders: Int) -> Matcher {
    var limits = EngineLimits(ordersLiveMax: orders + 16, cidsPerDayMax: orders + 16)
    limits.prefaultsMemory = true  // page faults belong to start-up, not to the timed run
    return Matcher(config: config, limits: limits)
}

/// Feeds `commands` in batches as the pipeline hands them over (events drained after each
/// batch); returns the nanoseconds taken and the events produced.
func feed(_ commands: [Command], _ matcher: inout Matcher, _ events: inout EventBuffer) -> (Int64, Int) {
    var produced = 0
    let start = nowNanos()
    commands.withUnsafeBufferPointer { all in
        var i = 0
        while i < all.count {
            let n = min(batchSize, all.count - i)
            events.removeAll()
            matcher.process(UnsafeBufferPointer(rebasing: all[i..<(i + n)]), into: &events)
            produced &+= events.count
            i += n
        }
    }
    return (nowNanos() - start, produced)
}

func fail(_ message: String) -> Never {
    print("CHECK FAILED: \(message)")
    exit(1)
}

// MARK: - The naive indicative price

/// A book's quantity at every tick of the band, as a walk over the band needs it.
struct Depth {
    var low: Int64
    var tick: Int64
    var reference: Int64
    var bids: [Int64]
    var asks: [Int64]

    init(_ matcher: borrowing Matcher, instrument: Int32) {
        let s = matcher.instruments[instrument]
        low = s.bandLow
        tick = s.tick
        reference = s.referencePrice
        let ticks = Int((s.bandHigh - s.bandLow) / s.tick) + 1
        bids = Array(repeating: 0, count: ticks)
        asks = Array(repeating: 0, count: ticks)
        for o in matcher.restingOrders(instrument: instrument, side: .buy) {
            bids[Int((o.price - low) / tick)] += o.leaves
        }
        for o in matcher.restingOrders(instrument: instrument, side: .sell) {
            asks[Int((o.price - low) / tick)] += o.leaves
        }
    }
}

/// The uncross by the protocol's rules, found the plain way: at every tick P of the band the
/// volume is min(demand at ≥ P, supply at ≤ P); the largest volume wins, then the smallest
/// imbalance, then the nearest to the reference, then the higher price. One walk up the band,
/// with demand the bids not yet passed and supply the asks passed. Nil when nothing would trade.
@inline(never)
func naiveIndicative(_ d: Depth) -> Indicative? {
    var demand: Int64 = 0
    for q in d.bids { demand += q }
    var supply: Int64 = 0
    var best: (volume: Int64, imbalance: Int64, distance: Int64, price: Int64) = (0, 0, 0, 0)
    var price = d.low
    for k in 0..<d.bids.count {
        supply += d.asks[k]
        let volume = min(demand, supply)
        let imbalance = abs(demand - supply)
        let distance = abs(price - d.reference)
        // Walking up, a tie on all three goes to this, the higher, price.
        let better = volume != best.volume ? volume > best.volume
            : imbalance != best.imbalance ? imbalance < best.imbalance
            : distance <= best.distance
        if k == 0 || better { best = (volume, imbalance, distance, price) }
        demand -= d.bids[k]
        price += d.tick
    }
    return best.volume > 0 ? Indicative(price: best.price, volume: best.volume) : nil
}

/// Keeps the optimizer from dropping the naive calls whose results nothing else reads.
nonisolated(unsafe) var naiveSink: Int64 = 0

/// Nanoseconds per naive computation on `depth`, over `calls` calls.
func timeNaive(_ depth: Depth, calls: Int) -> Double {
    let start = nowNanos()
    for _ in 0..<calls { naiveSink &+= naiveIndicative(depth)?.price ?? 0 }
    return Double(nowNanos() - start) / Double(calls)
}

// MARK: - The runs

struct AuctionRun {
    var newNanos: Int64 = 0
    var indicativeEvents = 0
    var uncrossNanos: Int64 = 0
    var trades = 0
    var selfMatches = 0
    var price: Int64 = 0
    var volume: Int64 = 0
    var naiveNanosPerCall: Double = 0
}

/// One auction run: PHASE AUCTION, the orders collected (timed), the naive price computed and
/// timed on the full book, then PHASE OPEN (timed) and its results checked.
func auctionRun(_ commands: [Command], config: MarketConfig, naiveCalls: Int) -> AuctionRun {
    var run = AuctionRun()
    var matcher = freshMatcher(config, orders: commands.count)
    var events = EventBuffer(capacity: 1 << 16)
    matcher.process(phaseCommand(.auction, ts: startTs), into: &events)
    guard matcher.instruments[0].phase == .auction else { fail("PHASE AUCTION did not take effect") }
    let (nanos, produced) = feed(commands, &matcher, &events)
    run.newNanos = nanos
    run.indicativeEvents = produced - commands.count  // each NEW's ACK, and the indicative changes
    checkCollected(matcher, orders: commands.count)
    let depth = Depth(matcher, instrument: 0)
    guard let naive = naiveIndicative(depth) else { fail("the auction book does not cross") }
    guard matcher.indicative(0) == naive else {
        fail("indicative \(String(describing: matcher.indicative(0))) is not the naive \(naive)")
    }
    run.naiveNanosPerCall = timeNaive(depth, calls: naiveCalls)
    run.price = naive.price
    run.volume = naive.volume
    // Room for every event of the uncross, touched now so that page faults stay out of the timing.
    var out = EventBuffer(capacity: 4 * commands.count + 64)
    for _ in 0..<(4 * commands.count + 64) { out.append(Event(kind: .ok, broker: 0, ts: 0)) }
    out.removeAll()
    let tradesBefore = matcher.counters.trades
    let start = nowNanos()
    matcher.process(phaseCommand(.open, ts: startTs + Int64(commands.count) + 1), into: &out)
    run.uncrossNanos = nowNanos() - start
    checkUncross(matcher, out, before: depth, naive: naive, run: &run)
    guard matcher.counters.trades - tradesBefore == Int64(run.trades) else { fail("trade counter disagrees") }
    return run
}

func checkCollected(_ matcher: borrowing Matcher, orders: Int) {
    guard matcher.counters.rejects == 0, matcher.counters.trades == 0, matcher.liveOrderCount == orders else {
        fail("collecting: \(matcher.counters.rejects) rejects, \(matcher.counters.trades) trades, "
             + "\(matcher.liveOrderCount) resting of \(orders)")
    }
    if let problem = matcher.verify() { fail("before the uncross: \(problem)") }
}

/// The uncross traded, all at the naive price, took exactly the naive volume off each side
/// (trades plus self-matches), and left a sound book that does not cross.
func checkUncross(_ matcher: borrowing Matcher, _ out: borrowing EventBuffer, before: Depth, naive: Indicative,
                  run: inout AuctionRun) {
    var selfMatchEvents = 0
    for k in 0..<out.count {
        let e = out[k]
        if e.kind == .trade {
            guard e.price == naive.price else { fail("a trade at \(e.price), the naive price is \(naive.price)") }
            run.trades += 1
        } else if (e.kind == .canceled && e.cancelReason == .selfTrade)
                    || (e.kind == .replaced && e.reason == CancelReason.selfTrade.rawValue) {
            selfMatchEvents += 1
        }
    }
    run.selfMatches = selfMatchEvents / 2  // one event for each of the pair's orders
    guard run.trades > 0 else { fail("the uncross made no trade") }
    guard matcher.instruments[0].phase == .open else { fail("PHASE OPEN did not take effect") }
    if let problem = matcher.verify() { fail("after the uncross: \(problem)") }
    if let bid = matcher.bestBid(instrument: 0), let ask = matcher.bestAsk(instrument: 0), bid >= ask {
        fail("the book is still crossed: bid \(bid) ask \(ask)")
    }
    let after = Depth(matcher, instrument: 0)
    let bidsTaken = before.bids.reduce(0, +) - after.bids.reduce(0, +)
    let asksTaken = before.asks.reduce(0, +) - after.asks.reduce(0, +)
    guard bidsTaken == naive.volume && asksTaken == naive.volume else {
        fail("the uncross took \(bidsTaken) bid and \(asksTaken) ask shares, the naive volume is \(naive.volume)")
    }
}

/// The same number of orders into an open book, where they all rest: what a NEW costs without
/// the auction index and the indicative price.
func openRun(_ commands: [Command], config: MarketConfig) -> Int64 {
    var matcher = freshMatcher(config, orders: commands.count)
    var events = EventBuffer(capacity: 1 << 16)
    let (nanos, produced) = feed(commands, &matcher, &events)
    guard produced == commands.count, matcher.counters.trades == 0, matcher.counters.rejects == 0,
          matcher.liveOrderCount == commands.count else {
        fail("open book: \(produced) events, \(matcher.counters.trades) trades, \(matcher.counters.rejects) rejects")
    }
    return nanos
}

// MARK: - Main

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func fixed1(_ x: Double) -> String {
    let tenths = Int64((x * 10).rounded())
    return "\(tenths / 10).\(abs(tenths % 10))"
}

var orderCount = 100_000
var runs = 5
var bandPercent: Int64 = 10
var naiveCalls = 200
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    guard let v = args.popFirst(), let n = Int(v), n > 0 else {
        print("usage: cuohe-auction-bench [--orders N] [--runs R] [--band-percent P] [--naive-calls C]")
        exit(2)
    }
    switch a {
    case "--orders": orderCount = n
    case "--runs": runs = n
    case "--band-percent":
        guard n <= 100 else { print("--band-percent is at most 100"); exit(2) }
        bandPercent = Int64(n)
    case "--naive-calls": naiveCalls = n
    default:
        print("unknown option \(a)")
        exit(2)
    }
}

let config = market(bandPercent: bandPercent)
let ticks = config.instruments[0].startTicks
let auctionCommands = crossingOrders(orderCount, seed: 42)
let openCommands = restingOrders(orderCount, seed: 43)
print("auction bench: \(orderCount) orders, band ±\(bandPercent)% = \(ticks) ticks, \(runs) runs, "
      + "naive price \(naiveCalls) calls a run")
var results: [AuctionRun] = []
var openNanos: [Int64] = []
// Auction and open runs alternate, so drift in the machine's load hits both alike.
for r in 0..<runs {
    let run = auctionRun(auctionCommands, config: config, naiveCalls: naiveCalls)
    let open = openRun(openCommands, config: config)
    print("run \(r + 1): NEW auction \(fixed1(Double(run.newNanos) / Double(orderCount))) ns, "
          + "NEW open \(fixed1(Double(open) / Double(orderCount))) ns, "
          + "uncross \(fixed1(Double(run.uncrossNanos) / 1e6)) ms (\(run.trades) trades, \(run.selfMatches) self-matches), "
          + "naive \(fixed1(run.naiveNanosPerCall)) ns/call")
    results.append(run)
    openNanos.append(open)
}

let first = results[0]
guard results.allSatisfy({ $0.trades == first.trades && $0.price == first.price }) else {
    fail("the runs disagree on the uncross")
}
let uncrossNs = median(results.map { Double($0.uncrossNanos) })
let nsPerTrade = uncrossNs / Double(first.trades)
let newAuctionNs = median(results.map { Double($0.newNanos) / Double(orderCount) })
let newOpenNs = median(openNanos.map { Double($0) / Double(orderCount) })
let iopNs = newAuctionNs - newOpenNs
let naiveNs = median(results.map { $0.naiveNanosPerCall })
// The difference of two noisy medians can come out at or below zero; the ratio then says so.
let ratio = iopNs > 0 ? fixed1(naiveNs / iopNs) : "inf"

func row(_ label: String, _ value: String) { print(label + String(repeating: " ", count: max(1, 44 - label.count)) + value) }

/// A price in 10^-4 CNY, printed to the fen (prices here are on the 0.01 tick).
func cny(_ price: Int64) -> String {
    let fen = price / 100
    return "\(fen / 100)." + (fen % 100 < 10 ? "0" : "") + "\(fen % 100)"
}
print("")
print("medians of \(runs) runs")
row("uncross (PHASE OPEN)", "\(fixed1(uncrossNs / 1e6)) ms")
row("  trades", "\(first.trades) at \(cny(first.price)) CNY, "
    + "\(first.volume) shares, \(first.selfMatches) self-matches")
row("  per trade", "\(fixed1(nsPerTrade)) ns")
row("  trades per second", "\(Int(Double(first.trades) / (uncrossNs / 1e9)))")
row("NEW into the auction book", "\(fixed1(newAuctionNs)) ns/order (\(first.indicativeEvents) indicative events)")
row("NEW resting in an open book", "\(fixed1(newOpenNs)) ns/order")
row("  indicative price kept, per order", "\(fixed1(iopNs)) ns")
row("naive indicative price (\(ticks) ticks)", "\(fixed1(naiveNs)) ns/call")
row("  naive / kept", ratio)
print("auction orders=\(orderCount) band_ticks=\(ticks) uncross_ms=\(fixed1(uncrossNs / 1e6)) trades=\(first.trades) "
      + "ns_per_trade=\(fixed1(nsPerTrade)) trades_per_sec=\(Int(Double(first.trades) / (uncrossNs / 1e9))) "
      + "new_auction_ns=\(fixed1(newAuctionNs)) new_open_ns=\(fixed1(newOpenNs)) iop_ns_per_order=\(fixed1(iopNs)) "
      + "naive_ns_per_call=\(fixed1(naiveNs)) ratio=\(ratio)")
