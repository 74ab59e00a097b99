import XCTest
import Synchronization
@testable import CuoheCore

/// Seeded streams over a market built at the engine's limits: prices at the price bound, accounts
/// configured and topped up to the largest balance, the market's cash driven to its bound and
/// gathered in single accounts, holdings and orders of 10^12 shares, fees up to 100%. Every command
/// goes through `LedgerChecker` (its verdict from the rules, its settlement to the 10^-4 unit, every
/// invariant), the books of record reconcile after it, and at a few points a snapshot restores to
/// the same state. No command may crash the engine, and the bounds must hold after each.
final class ExtremeStreamTests: XCTestCase {
    static let limits = EngineLimits(ordersLiveMax: 4096, cidsPerDayMax: 1 << 16, positionsMax: 512, lockLotsMax: 512)

    func testExtremeStreamsWithoutFees() { run(seeds: [0xE0_0001, 0xE0_0002], fees: Fees()) }

    func testExtremeStreamsWithStandardFees() { run(seeds: [0xE1_0001, 0xE1_0002], fees: Fees(feeBps: 3, stampDutyBps: 10)) }

    /// The seller pays half in fees and half in stamp duty: it receives nothing, and the buyer pays
    /// one and a half times the value.
    func testExtremeStreamsWithTheLargestFees() { run(seeds: [0xE2_0001], fees: Fees(feeBps: 5_000, stampDutyBps: 5_000)) }

    /// Situations every stream must reach (counted by the test, beside `LedgerChecker`'s own).
    static let required = [
        "market cash at its bound", "DEPOSIT refused by the market's bound", "trade worth more than an account may deposit",
        "account holds more than it may deposit", "buy of 10^12 shares accepted", "sell of 10^12 shares accepted",
        "ANNUAL_LIMIT at the engine's bound", "snapshot restored", "TRADE",
    ]

    func run(seeds: [UInt64], fees: Fees, steps: Int = 3_000, file: StaticString = #filePath, line: UInt = #line) {
        let outcomes = Mutex<[LedgerStreamOutcome?]>(Array(repeating: nil, count: seeds.count))
        DispatchQueue.concurrentPerform(iterations: seeds.count) { k in
            let outcome = ExtremeStreamTests.runStream(seed: seeds[k], steps: steps, fees: fees)
            outcomes.withLock { $0[k] = outcome }
        }
        for (k, slot) in outcomes.withLock({ $0 }).enumerated() {
            let seed = RandomStreamTests.hex(seeds[k])
            guard let outcome = slot else { return XCTFail("seed \(seed): no outcome", file: file, line: line) }
            if let failure = outcome.failure { XCTFail(failure, file: file, line: line); continue }
            var required = ExtremeStreamTests.required
            // With 100% fees a seller receives nothing: the market's cash drains into the fee
            // account instead of gathering in one account's hands.
            if fees.feeBps + fees.stampDutyBps == 10_000 {
                required.removeAll { $0.hasPrefix("ANNUAL_LIMIT") || $0.hasPrefix("account holds") || $0.hasPrefix("trade worth") }
            }
            for name in required where outcome.tally[name, default: 0] == 0 {
                XCTFail("seed \(seed): the stream never reached \"\(name)\"", file: file, line: line)
            }
            print("extreme seed \(seed) fees \(fees.feeBps)/\(fees.stampDutyBps): \(steps) commands; "
                  + outcome.tally.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
        }
    }

    static func runStream(seed: UInt64, steps: Int, fees: Fees) -> LedgerStreamOutcome {
        let config = ExtremeMarket.config(fees: fees)
        let checker = LedgerChecker(config: config, limits: limits)
        var generator = ExtremeStreamGenerator(seed: seed, config: config)
        var buffer = EventBuffer()
        var books = Settlement(config: config, limits: limits)
        func failure(_ step: Int, _ what: String) -> LedgerStreamOutcome {
            LedgerStreamOutcome(failure: "seed \(RandomStreamTests.hex(seed)) step \(step): \(what)", tally: checker.tally)
        }
        for step in 1...steps {
            let live = checker.liveOrders()
            let before = LedgerSnapshot(checker.matcher.ledger)
            let (command, target) = generator.next(checker.matcher, live: live, ledger: before)
            if let problem = checker.apply(command, target: target, live: live, before: before, buffer: &buffer) {
                return failure(step, problem)
            }
            if let problem = LedgerStreamTests.reconcile(&books, checker: checker, events: buffer) {
                return failure(step, problem)
            }
            if let problem = tallyBounds(checker, command, buffer.array, before) { return failure(step, problem) }
            if step % 1_000 == 500 {
                guard let restored = Matcher.restore(checker.matcher.snapshot(), config: config, limits: limits),
                      restored.stateDigest() == checker.matcher.stateDigest(),
                      restored.ledger.marketCash == checker.matcher.ledger.marketCash else {
                    return failure(step, "the snapshot does not restore to the same state")
                }
                checker.saw("snapshot restored")
            }
        }
        return LedgerStreamOutcome(failure: nil, tally: checker.tally)
    }

    /// The bounds after a command, and the extreme situations it reached.
    static func tallyBounds(_ checker: LedgerChecker, _ c: Command, _ events: [Event], _ before: LedgerSnapshot) -> String? {
        guard checker.matcher.ledger.marketCash <= Bounds.marketCashMax, checker.matcher.ledger.checkedMarketCash() == checker.matcher.ledger.marketCash else {
            return "market cash \(checker.matcher.ledger.marketCash) out of bounds or miscounted"
        }
        if checker.matcher.ledger.marketCash == Bounds.marketCashMax { checker.saw("market cash at its bound") }
        for a in 0..<checker.matcher.ledger.accounts.count {
            let x = checker.matcher.ledger.accounts[a]
            if x.boughtThisYear > Bounds.annualBuyMax { return "account \(a) bought \(x.boughtThisYear) this year" }
            if x.cash > Bounds.accountCashMax { checker.saw("account holds more than it may deposit") }
        }
        let first = events.first
        if c.kind == .deposit, first?.detail == .cashLimit, c.account >= 0, Int(c.account) < before.accounts.count,
           c.price <= Bounds.accountCashMax - before.accounts[Int(c.account)].cash {
            checker.saw("DEPOSIT refused by the market's bound")
        }
        if first?.rejectReason == .annualLimit && first?.detail == .cashLimit { checker.saw("ANNUAL_LIMIT at the engine's bound") }
        if c.kind == .new, c.qty == Bounds.quantityMax, first?.kind == .ack {
            checker.saw(c.side == .buy ? "buy of 10^12 shares accepted" : "sell of 10^12 shares accepted")
        }
        for e in events where e.kind == .trade && e.price * e.qty > Bounds.accountCashMax {
            checker.saw("trade worth more than an account may deposit")
        }
        return nil
    }
}

/// A market at the engine's limits. `TOP` trades at the price bound (10^9 CNY a share, in steps of
/// 10^5 CNY), `MID` is an ordinary share with a one-day holding period, `DUST` trades at 0.0001 and
/// 0.0002 CNY in any quantity. Ten accounts start at or near the largest balance (so the market's
/// cash is near its bound from the start); some hold 10^12 shares; one has an annual cap at the
/// largest balance, one a cap of zero.
enum ExtremeMarket {
    static let accountCount = 12

    static func config(fees: Fees) -> MarketConfig {
        let qualified = CivilDate(year: 2031, month: 12, day: 31)!
        let holdings: [Int: [Holding]] = [
            0: [Holding(symbol: "TOP", shares: Bounds.quantityMax), Holding(symbol: "MID", shares: Bounds.quantityMax)],
            1: [Holding(symbol: "TOP", shares: 300_000)],
            2: [Holding(symbol: "DUST", shares: Bounds.quantityMax), Holding(symbol: "MID", shares: 1_000_000)],
            5: [Holding(symbol: "TOP", shares: 7)],
            7: [Holding(symbol: "DUST", shares: Bounds.quantityMax)],
        ]
        let accounts = (0..<accountCount).map { a -> AccountConfig in
            let cash = a < 6 ? Bounds.accountCashMax - Int64(a) * 1_000_000_007 : Int64(a) * 123_456_789
            return AccountConfig(id: "X\(a)", broker: "B0\(1 + a / 4)", qualifiedUntil: a == 11 ? nil : qualified,
                                 cash: cash, holdings: holdings[a] ?? [],
                                 annualBuyCap: a == 3 ? Bounds.accountCashMax : (a == 4 ? 0 : nil))
        }
        return MarketConfig(
            tradingDate: CivilDate(year: 2026, month: 6, day: 1)!, fees: fees,
            instruments: [
                InstrumentConfig(symbol: "TOP", name: "Top", tick: 1_000_000_000, lot: 1, referencePrice: Bounds.priceMax,
                                 bandPercent: 50),
                InstrumentConfig(symbol: "MID", name: "Mid", tick: 100, lot: 100, referencePrice: 100_000,
                                 bandPercent: 10, holdingDays: 1),
                InstrumentConfig(symbol: "DUST", name: "Dust", tick: 1, lot: 1, referencePrice: 1, bandPercent: 100),
            ],
            brokers: [
                BrokerConfig(id: "OPS", token: "o", isOperator: true),
                BrokerConfig(id: "B01", token: "1"), BrokerConfig(id: "B02", token: "2"), BrokerConfig(id: "B03", token: "3"),
            ],
            accounts: accounts)
    }

    static func broker(of account: Int32) -> Int32 { 1 + account / 4 }
}

/// Commands aimed at the limits: deposits to the account's or the market's bound (and one unit
/// past), withdrawals of everything, buys of everything the free cash affords or of 10^12 shares
/// at the band's top, sells of every share, replaces to 10^12 shares, market orders, ROLLs. Half
/// the buys come from the account with the most free cash, so money gathers and circulates in
/// the largest amounts the market allows.
struct ExtremeStreamGenerator {
    var rng: RandomStreamRNG
    let config: MarketConfig
    var step = 0
    var fresh = 0
    var ts: Int64 = 1_780_272_000_000_000_000

    init(seed: UInt64, config: MarketConfig) {
        rng = RandomStreamRNG(seed: seed)
        self.config = config
    }

    mutating func cid() -> ClientOrderID {
        fresh += 1
        return ClientOrderID("x\(fresh)")!
    }

    mutating func next(_ m: borrowing Matcher, live: [RestingOrder], ledger: LedgerSnapshot) -> (Command, RestingOrder?) {
        step += 1
        ts += 1_000
        switch rng.int(100) {
        case ..<14: return (deposit(m, ledger), nil)
        case ..<22: return (withdraw(ledger), nil)
        case ..<52: return (buy(m, ledger), nil)
        case ..<78: return (sell(m, ledger), nil)
        case ..<86 where !live.isEmpty:
            let o = rng.pick(live)
            return (.cancel(broker: o.broker, ts: ts, cid: o.cid), nil)
        case ..<96 where !live.isEmpty:
            let o = rng.pick(live)
            return (replace(m, o), o)
        case ..<99:
            var c = Command(kind: .roll, broker: 0, ts: ts)
            c.date = CivilDate(daysSinceEpoch: m.tradingDate.daysSinceEpoch + 1)
            return (c, nil)
        default: return (Command(kind: .stats, broker: 0, ts: ts), nil)
        }
    }

    mutating func deposit(_ m: borrowing Matcher, _ l: LedgerSnapshot) -> Command {
        var c = Command(kind: .deposit, broker: 0, ts: ts)
        c.account = Int32(rng.int(ExtremeMarket.accountCount))
        let accountRoom = Bounds.accountCashMax - l.accounts[Int(c.account)].cash
        let marketRoom = Bounds.marketCashMax - m.ledger.marketCash
        c.price = rng.pick([accountRoom, marketRoom, marketRoom + 1, min(accountRoom, marketRoom), accountRoom + 1,
                            1 + rng.int64(Bounds.accountCashMax), Int64.max / 2])
        if c.price <= 0 { c.price = 1 + rng.int64(Bounds.accountCashMax) }
        return c
    }

    mutating func withdraw(_ l: LedgerSnapshot) -> Command {
        var c = Command(kind: .withdraw, broker: 0, ts: ts)
        c.account = Int32(rng.int(ExtremeMarket.accountCount))
        let free = l.accounts[Int(c.account)].cash - l.accounts[Int(c.account)].frozenCash
        c.price = rng.pick([free, free + 1, 1 + rng.int64(max(1, free)), Bounds.marketCashMax])
        if c.price <= 0 { c.price = 1 }
        return c
    }

    /// A price in `i`'s band: either edge or a tick between.
    mutating func price(_ m: borrowing Matcher, _ i: Int32) -> Int64 {
        let s = m.instruments[i]
        switch rng.int(4) {
        case 0: return s.bandHigh
        case 1: return s.bandLow
        default: return s.bandLow + rng.int64((s.bandHigh - s.bandLow) / s.tick + 1) * s.tick
        }
    }

    mutating func buy(_ m: borrowing Matcher, _ l: LedgerSnapshot) -> Command {
        var account = Int32(rng.int(ExtremeMarket.accountCount))
        var i = Int32(rng.int(config.instruments.count))
        var whale = false
        if rng.oneIn(2), let richest = l.accounts.indices.max(by: { l.accounts[$0].freeCash < l.accounts[$1].freeCash }) {
            // The richest account takes the top instrument at the band's top, with all it has.
            account = Int32(richest)
            i = 0
            whale = true
        }
        let s = m.instruments[i]
        let market = rng.oneIn(6)
        let limit = market || whale ? s.bandHigh : price(m, i)
        let free = l.accounts[Int(account)].freeCash
        let lots = affordableLots(free: free, limit: limit, lot: s.lot)
        var qty = whale ? lots * s.lot : rng.pick([lots * s.lot, (lots + 1) * s.lot, Bounds.quantityMax / s.lot * s.lot,
                                                   (1 + rng.int64(max(1, lots))) * s.lot])
        if qty <= 0 { qty = s.lot }
        var c = Command.newOrder(broker: ExtremeMarket.broker(of: account), ts: ts, cid: cid(), account: account,
                                 instrument: i, side: .buy, qty: qty, price: market ? Command.absent : limit)
        if market { c.type = .market }
        c.tif = rng.pick([.day, .day, .gtc, .ioc, .fok])
        return c
    }

    /// The most lots (at most 10^12 shares) a buy at `limit` can take with `free` cash: a binary
    /// search, as the counts here run to 10^12.
    func affordableLots(free: Int64, limit: Int64, lot: Int64) -> Int64 {
        var low: Int64 = 0
        var high = Bounds.quantityMax / lot
        while low < high {
            let mid = low + (high - low + 1) / 2
            if let c = LedgerMath.cost(limit, mid * lot, bps: config.fees.feeBps), c.frozen <= free {
                low = mid
            } else {
                high = mid - 1
            }
        }
        return low
    }

    mutating func sell(_ m: borrowing Matcher, _ l: LedgerSnapshot) -> Command {
        let holders = l.positions.filter { $0.shares > 0 }
        guard let p = holders.isEmpty ? nil : rng.pick(holders) else { return buy(m, l) }
        let s = m.instruments[p.instrument]
        let sellable = (p.shares - p.frozenShares - p.lockedShares) / s.lot * s.lot
        var qty = rng.pick([sellable, p.shares / s.lot * s.lot, Bounds.quantityMax / s.lot * s.lot,
                            (1 + rng.int64(max(1, sellable / s.lot))) * s.lot])
        if qty <= 0 { qty = s.lot }
        let market = rng.oneIn(8)
        var c = Command.newOrder(broker: ExtremeMarket.broker(of: p.account), ts: ts, cid: cid(), account: p.account,
                                 instrument: p.instrument, side: .sell, qty: qty,
                                 price: market ? Command.absent : price(m, p.instrument))
        if market { c.type = .market }
        c.tif = rng.pick([.day, .gtc, .gtc, .ioc])
        return c
    }

    mutating func replace(_ m: borrowing Matcher, _ o: RestingOrder) -> Command {
        let s = m.instruments[o.instrument]
        let qty = rng.pick([Command.absent, Bounds.quantityMax / s.lot * s.lot, o.qty * 2 / s.lot * s.lot,
                            o.qty - o.leaves + s.lot])
        let px = qty == Command.absent || rng.oneIn(2) ? price(m, o.instrument) : Command.absent
        return .replace(broker: o.broker, ts: ts, cid: o.cid, newCid: cid(), qty: qty, price: px)
    }
}
