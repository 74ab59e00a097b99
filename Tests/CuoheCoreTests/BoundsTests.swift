import XCTest
@testable import CuoheCore

/// The numeric bounds of `Bounds`: the inequalities that keep every total inside `Int64`, the
/// checks that keep accepted commands inside the bounds (each decided before anything changes),
/// the band's top as a limit price, the book's fixed room, and seeded streams that drive balances,
/// prices and quantities to their limits with every command checked by `LedgerChecker`.
final class BoundsTests: XCTestCase {
    static let limits = EngineLimits(ordersLiveMax: 4096, cidsPerDayMax: 1 << 16, positionsMax: 512, lockLotsMax: 512)

    /// The argument of `docs/DESIGN.md` ("Numeric bounds"), as arithmetic that must not overflow.
    func testBoundsLeaveRoomInInt64() {
        // A buy's freeze (value + fee ≤ 2 × the market's cash), checked against the annual total
        // (bought + open value + new value ≤ 3 × the bound) with room to spare.
        XCTAssertFalse(Bounds.marketCashMax.multipliedReportingOverflow(by: 4).overflow)
        XCTAssertLessThanOrEqual(Bounds.annualBuyMax, Int64.max - 2 * Bounds.marketCashMax - Bounds.annualBuyMax)
        XCTAssertLessThan(Bounds.accountCashMax, Bounds.marketCashMax)
        // An instrument's shares in all (at most 200 holders of at most 10^12 each).
        XCTAssertFalse(Bounds.holderCapMax.multipliedReportingOverflow(by: Bounds.quantityMax).overflow)
        // A price level's quantity: every live order's leaves on one level.
        XCTAssertFalse(Int64(EngineLimits().ordersLiveMax).multipliedReportingOverflow(by: Bounds.quantityMax).overflow)
        // The band's arithmetic: reference × (100 + bandPercent).
        XCTAssertFalse(Bounds.priceMax.multipliedReportingOverflow(by: 200).overflow)
        // A fee on the largest value takes the exact wide path and stays below the value.
        XCTAssertEqual(Ledger.fee(Bounds.marketCashMax, bps: 10_000), Bounds.marketCashMax)
        XCTAssertEqual(Ledger.fee(Bounds.marketCashMax, bps: 3), Bounds.marketCashMax / 10_000 * 3)
        XCTAssertEqual(Bounds.bookTicks(startTicks: 21), Bounds.bookTicksMin)
        XCTAssertEqual(Bounds.bookTicks(startTicks: 1_000), 8_000)
        XCTAssertEqual(Bounds.bookTicks(startTicks: Bounds.bookTicksMax), Bounds.bookTicksMax)
    }

    // MARK: - Money

    /// A market of `count` accounts without cash, and one instrument priced at the price bound.
    static func emptyMarket(accounts count: Int, fees: Fees = Fees()) -> MarketConfig {
        MarketConfig(
            tradingDate: CivilDate(year: 2026, month: 12, day: 1)!, fees: fees,
            instruments: [InstrumentConfig(symbol: "TOP", name: "Top", tick: 1_000_000_000, lot: 1,
                                           referencePrice: Bounds.priceMax, bandPercent: 0)],
            brokers: [BrokerConfig(id: "OPS", token: "o", isOperator: true), BrokerConfig(id: "B01", token: "b")],
            accounts: (0..<count).map { a in
                AccountConfig(id: "A\(a)", broker: "B01", qualifiedUntil: CivilDate(year: 2030, month: 1, day: 1)!,
                              holdings: a == 0 ? [Holding(symbol: "TOP", shares: Bounds.quantityMax)] : [])
            })
    }

    static func deposit(_ account: Int32, _ amount: Int64, ts: Int64) -> Command {
        var c = Command(kind: .deposit, broker: 0, ts: ts)
        c.account = account
        c.price = amount
        return c
    }

    static func run(_ matcher: inout Matcher, _ c: Command) -> [Event] {
        var out = EventBuffer()
        matcher.process(c, into: &out)
        return out.array
    }

    /// 93 accounts each depositing the largest balance used to overflow net deposits (9.3 × 10^18)
    /// and crash the engine after the command was journaled. Now the market's cash stops at its
    /// bound: the deposit that would pass it is refused `MALFORMED detail=CASH_LIMIT` and changes
    /// nothing; a withdrawal makes room again.
    func testDepositsStopAtTheMarketsBound() {
        var m = Matcher(config: Self.emptyMarket(accounts: 93), limits: Self.limits)
        for a in 0..<93 {
            let before = m.stateDigest()
            let events = Self.run(&m, Self.deposit(Int32(a), Bounds.accountCashMax, ts: Int64(a)))
            if a < 10 {
                XCTAssertEqual(events.first?.kind, .ok, "deposit \(a)")
            } else {
                XCTAssertEqual(events.first?.rejectReason, .malformed, "deposit \(a)")
                XCTAssertEqual(events.first?.detail, .cashLimit)
                XCTAssertEqual(m.stateDigest(), before, "a refused deposit changed the state")
            }
        }
        XCTAssertEqual(m.ledger.marketCash, Bounds.marketCashMax)
        XCTAssertEqual(m.ledger.netDeposits, Bounds.marketCashMax)
        XCTAssertEqual(m.ledger.checkedMarketCash(), Bounds.marketCashMax)
        XCTAssertEqual(Self.run(&m, Self.deposit(10, 1, ts: 100)).first?.detail, .cashLimit)
        var withdraw = Self.deposit(3, 5, ts: 101)
        withdraw.kind = .withdraw
        XCTAssertEqual(Self.run(&m, withdraw).first?.kind, .ok)
        XCTAssertEqual(Self.run(&m, Self.deposit(50, 5, ts: 102)).first?.kind, .ok)
        XCTAssertEqual(Self.run(&m, Self.deposit(50, 1, ts: 103)).first?.detail, .cashLimit)
        XCTAssertNil(m.verify())
    }

    /// 120 buyers of 10^13 CNY each buying from one seller at 10^9 CNY used to overflow the
    /// seller's cash inside the match loop. With the market's cash bounded, the seller can receive
    /// at most everything there is: 10^14 CNY, which it does here, exactly.
    func testOneSellerCanTakeTheWholeMarketsCash() {
        var m = Matcher(config: Self.emptyMarket(accounts: 121), limits: Self.limits)
        let sell = Command.newOrder(broker: 1, ts: 0, cid: ClientOrderID("s")!, account: 0, instrument: 0, side: .sell,
                                    qty: Bounds.quantityMax, price: Bounds.priceMax)
        XCTAssertEqual(Self.run(&m, sell).first?.kind, .ack)
        var filled = 0
        for b in 1...120 {
            _ = Self.run(&m, Self.deposit(Int32(b), Bounds.accountCashMax, ts: Int64(b)))
            // 10^4 shares at 10^9 CNY: 10^13 CNY, all the buyer may have.
            let buy = Command.newOrder(broker: 1, ts: Int64(b), cid: ClientOrderID("b\(b)")!, account: Int32(b),
                                       instrument: 0, side: .buy, qty: 10_000, price: Bounds.priceMax)
            let events = Self.run(&m, buy)
            if events.contains(where: { $0.kind == .trade }) { filled += 1 } else {
                XCTAssertEqual(events.first?.rejectReason, .insufficientCash, "buyer \(b) had no cash to deposit")
            }
            XCTAssertNil(m.verify())
        }
        XCTAssertEqual(filled, 10)
        XCTAssertEqual(m.ledger.accounts[0].cash, Bounds.marketCashMax)
        XCTAssertGreaterThan(m.ledger.accounts[0].cash, Bounds.accountCashMax)
        // Past its own bound the seller may not deposit, and nothing overflows trying.
        XCTAssertEqual(Self.run(&m, Self.deposit(0, Bounds.accountCashMax, ts: 200)).first?.detail, .cashLimit)
    }

    /// An account without an annual cap is bounded by the engine's (`Bounds.annualBuyMax`): after
    /// buying the whole market's cash worth twice, its third such buy is refused `ANNUAL_LIMIT
    /// detail=CASH_LIMIT` and changes nothing. Without the bound the purchases counter would
    /// overflow after nine such buys.
    func testAnUncappedBuyerStopsAtTheEnginesAnnualBound() {
        var config = Self.emptyMarket(accounts: 11)
        let x: Int32 = 1, y: Int32 = 0
        config.accounts[0].holdings = [Holding(symbol: "TOP", shares: 1_000_000)]
        config.accounts[1].holdings = [Holding(symbol: "TOP", shares: 1_000_000)]
        var m = Matcher(config: config, limits: Self.limits)
        for a in 1...10 { _ = Self.run(&m, Self.deposit(Int32(a), Bounds.accountCashMax, ts: Int64(a))) }
        var ts: Int64 = 100
        func trade(buyer: Int32, seller: Int32, qty: Int64) -> [Event] {
            ts += 1
            let sell = Command.newOrder(broker: 1, ts: ts, cid: ClientOrderID("s\(ts)")!, account: seller,
                                        instrument: 0, side: .sell, qty: qty, price: Bounds.priceMax)
            XCTAssertEqual(Self.run(&m, sell).first?.kind, .ack)
            let buy = Command.newOrder(broker: 1, ts: ts, cid: ClientOrderID("b\(ts)")!, account: buyer,
                                       instrument: 0, side: .buy, qty: qty, price: Bounds.priceMax)
            let events = Self.run(&m, buy)
            XCTAssertNil(m.verify())
            return events
        }
        // Every other account pays its 10^13 CNY to X for 10^4 shares: X holds all the market's cash.
        for a in 2...10 { XCTAssertTrue(trade(buyer: Int32(a), seller: x, qty: 10_000).contains { $0.kind == .trade }) }
        XCTAssertEqual(m.ledger.accounts[Int(x)].cash, Bounds.marketCashMax)
        // X buys 10^14 CNY of shares from Y, and Y buys them back: twice.
        for round in 1...2 {
            XCTAssertTrue(trade(buyer: x, seller: y, qty: 100_000).contains { $0.kind == .trade }, "round \(round)")
            XCTAssertTrue(trade(buyer: y, seller: x, qty: 100_000).contains { $0.kind == .trade }, "round \(round)")
        }
        XCTAssertEqual(m.ledger.accounts[Int(x)].boughtThisYear, Bounds.annualBuyMax)
        XCTAssertEqual(m.ledger.accounts[Int(x)].cash, Bounds.marketCashMax)
        ts += 1
        let before = LedgerSnapshot(m.ledger)
        let third = Self.run(&m, Command.newOrder(broker: 1, ts: ts, cid: ClientOrderID("third")!, account: x,
                                                  instrument: 0, side: .buy, qty: 1, price: Bounds.priceMax))
        XCTAssertEqual(third.first?.rejectReason, .annualLimit)
        XCTAssertEqual(third.first?.detail, .cashLimit)
        XCTAssertNil(before.difference(LedgerSnapshot(m.ledger)), "a refused buy changed the ledger")
        XCTAssertNil(m.verify())
    }

    // MARK: - Prices and the band

    /// A band reaching above the price bound used to accept `MARKET` buys at its top while refusing
    /// limits there (`BAD_PRICE`). The top is now cut to the bound (on the tick), so one limit holds
    /// for both: a limit at the top is accepted, and a market buy's freeze and `ACK` use that price.
    func testTheBandsTopIsALimitPrice() {
        let band = InstrumentConfig.band(referencePrice: Bounds.priceMax, tick: 1_000_000_000, bandPercent: 100)
        XCTAssertEqual(band.high, Bounds.priceMax)
        XCTAssertEqual(band.low, 1_000_000_000)
        // A tick that does not divide the bound: the top is the highest tick at or below it.
        let odd = InstrumentConfig.band(referencePrice: 999_999_999_999 * 7, tick: 7, bandPercent: 50)
        XCTAssertEqual(odd.high, Bounds.priceMax / 7 * 7)
        var config = Self.emptyMarket(accounts: 2)
        config.instruments[0].bandPercent = 100
        var m = Matcher(config: config, limits: Self.limits)
        XCTAssertEqual(m.instruments[0].bandHigh, Bounds.priceMax)
        _ = Self.run(&m, Self.deposit(1, Bounds.accountCashMax, ts: 1))
        let limit = Command.newOrder(broker: 1, ts: 2, cid: ClientOrderID("l")!, account: 1, instrument: 0, side: .buy,
                                     qty: 1, price: Bounds.priceMax)
        XCTAssertEqual(Self.run(&m, limit).first?.kind, .ack)
        var market = Command.newOrder(broker: 1, ts: 3, cid: ClientOrderID("m")!, account: 1, instrument: 0, side: .buy,
                                      qty: 1, price: Command.absent)
        market.type = .market
        let events = Self.run(&m, market)
        XCTAssertEqual(events.first?.kind, .ack)
        XCTAssertEqual(events.first?.price, Bounds.priceMax)
        let above = Command.newOrder(broker: 1, ts: 4, cid: ClientOrderID("a")!, account: 1, instrument: 0, side: .buy,
                                     qty: 1, price: Bounds.priceMax + 1_000_000_000)
        XCTAssertEqual(Self.run(&m, above).first?.rejectReason, .badPrice)
        XCTAssertNil(m.verify())
    }

    /// A book's room is fixed at start (8 × its first band, at least 2,048 levels): a price that
    /// doubles every day widens the band until it would pass that room, and from then on each
    /// day's band is narrowed around the reference price. The book never allocates more than the
    /// footprint counted for it, and every check holds along the way.
    func testABooksRoomNarrowsTheBandAndBoundsItsMemory() {
        let config = MarketConfig(
            tradingDate: CivilDate(year: 2026, month: 12, day: 1)!,
            instruments: [InstrumentConfig(symbol: "UP", name: "Up", tick: 100, lot: 1, referencePrice: 10_000,
                                           bandPercent: 100)],
            brokers: [BrokerConfig(id: "OPS", token: "o", isOperator: true), BrokerConfig(id: "B01", token: "b")],
            accounts: [AccountConfig(id: "S", broker: "B01", holdings: [Holding(symbol: "UP", shares: 1_000)]),
                       AccountConfig(id: "B", broker: "B01", qualifiedUntil: CivilDate(year: 2030, month: 1, day: 1)!,
                                     cash: Bounds.accountCashMax)])
        XCTAssertEqual(config.instruments[0].startTicks, 200)   // 0.01 ... 2.00
        XCTAssertEqual(config.instruments[0].bookTicksMax, Bounds.bookTicksMin)
        let largest = EngineFootprint(config: config, limits: Self.limits)
        var m = Matcher(config: config, limits: Self.limits)
        var date = config.tradingDate
        var narrowed = 0
        for day in 1...12 {
            let s = m.instruments[0]
            let ticks = (s.bandHigh - s.bandLow) / s.tick + 1
            XCTAssertLessThanOrEqual(ticks, Bounds.bookTicksMin, "day \(day)")
            let wide = InstrumentConfig.band(referencePrice: s.referencePrice, tick: s.tick, bandPercent: s.bandPercent)
            if wide.high - wide.low >= Bounds.bookTicksMin * s.tick {
                narrowed += 1
                XCTAssertEqual(ticks, Bounds.bookTicksMin - 1, "day \(day): the narrowed band fills the room")
                XCTAssertEqual(s.referencePrice - s.bandLow, s.bandHigh - s.referencePrice, "centred on the reference")
            }
            // One share trades at the band's top; it is tomorrow's reference price.
            let sell = Command.newOrder(broker: 1, ts: Int64(day), cid: ClientOrderID("s\(day)")!, account: 0,
                                        instrument: 0, side: .sell, qty: 1, price: s.bandHigh)
            let buy = Command.newOrder(broker: 1, ts: Int64(day), cid: ClientOrderID("b\(day)")!, account: 1,
                                       instrument: 0, side: .buy, qty: 1, price: s.bandHigh)
            XCTAssertEqual(Self.run(&m, sell).first?.kind, .ack)
            XCTAssertTrue(Self.run(&m, buy).contains { $0.kind == .trade }, "day \(day)")
            date = CivilDate(daysSinceEpoch: date.daysSinceEpoch + 1)
            var roll = Command(kind: .roll, broker: 0, ts: Int64(day))
            roll.date = date
            XCTAssertEqual(Self.run(&m, roll).first?.kind, .ok)
            XCTAssertNil(m.verify(), "day \(day)")
            let matcherBytes = m.arena.bytesAllocated
            XCTAssertLessThanOrEqual(matcherBytes + Ledger.bytes(config: config, limits: Self.limits), largest.totalBytes)
        }
        XCTAssertGreaterThanOrEqual(narrowed, 5)
        // The price kept rising inside its room: 2.00, 4.00, 8.00, 16.00, 32.00, then by the room.
        XCTAssertGreaterThan(m.instruments[0].referencePrice, 40 * Fixed.scale)
    }

    /// The footprint is the arena's own figure: a fresh matcher and books of record allocate
    /// exactly what `EngineFootprint(.atStart)` says, and the largest is never below it.
    func testTheFootprintIsWhatTheEngineAllocates() {
        for config in [LedgerStreamMarket.config(fees: Fees()), Self.emptyMarket(accounts: 7)] {
            for limits in [Self.limits, LedgerChecker.limits] {
                let matcher = Matcher(config: config, limits: limits)
                let books = Settlement(config: config, limits: limits)
                let atStart = EngineFootprint(config: config, limits: limits, books: .atStart)
                XCTAssertEqual(matcher.arena.bytesAllocated + books.arena.bytesAllocated, atStart.totalBytes)
                XCTAssertGreaterThanOrEqual(EngineFootprint(config: config, limits: limits).totalBytes, atStart.totalBytes)
            }
        }
    }

    /// A full order store refuses only orders that may rest (`DAY`, `GTC`): an `IOC` or a `MARKET`
    /// order still trades against the full book, which is how it drains.
    func testAFullOrderStoreStillTakesOrdersThatNeverRest() {
        var config = LedgerStreamMarket.config(fees: Fees())
        config.instruments[0].holderCap = 200
        var m = Matcher(config: config, limits: EngineLimits(ordersLiveMax: 3, cidsPerDayMax: 64, positionsMax: 64,
                                                             lockLotsMax: 64))
        let s = m.instruments[0]
        for k in 0..<3 {
            let sell = Command.newOrder(broker: 1, ts: Int64(k), cid: ClientOrderID("s\(k)")!, account: Int32(k % 2),
                                        instrument: 0, side: .sell, qty: 100, price: s.bandHigh)
            XCTAssertEqual(Self.run(&m, sell).first?.kind, .ack)
        }
        let rests = Command.newOrder(broker: 1, ts: 3, cid: ClientOrderID("r")!, account: 3, instrument: 0, side: .sell,
                                     qty: 100, price: s.bandHigh)
        XCTAssertEqual(Self.run(&m, rests).first?.rejectReason, .throttled)
        var ioc = Command.newOrder(broker: 2, ts: 4, cid: ClientOrderID("i")!, account: 10, instrument: 0, side: .buy,
                                   qty: 100, price: s.bandHigh)
        ioc.tif = .ioc
        XCTAssertTrue(Self.run(&m, ioc).contains { $0.kind == .trade })
        var market = Command.newOrder(broker: 2, ts: 5, cid: ClientOrderID("m")!, account: 11, instrument: 0, side: .buy,
                                      qty: 100, price: Command.absent)
        market.type = .market
        XCTAssertTrue(Self.run(&m, market).contains { $0.kind == .trade })
        XCTAssertNil(m.verify())
        XCTAssertEqual(m.liveOrderCount, 1)
    }

    /// A snapshot that passed its checksum but holds values the engine never writes (here: every
    /// 8 bytes of a real snapshot overwritten in turn with extreme values) is refused or restores
    /// to a state that checks out; it never crashes the restore.
    func testRestoringForgedSnapshotsNeverCrashes() {
        let config = LedgerStreamMarket.config(fees: Fees(feeBps: 3, stampDutyBps: 10))
        let limits = EngineLimits(ordersLiveMax: 64, cidsPerDayMax: 256, positionsMax: 64, lockLotsMax: 64)
        var m = Matcher(config: config, limits: limits)
        let s = m.instruments[1]
        _ = Self.run(&m, Command.newOrder(broker: 1, ts: 1, cid: ClientOrderID("s")!, account: 2, instrument: 1, side: .sell,
                                          qty: 300, price: s.bandHigh))
        _ = Self.run(&m, Command.newOrder(broker: 2, ts: 2, cid: ClientOrderID("b")!, account: 10, instrument: 1, side: .buy,
                                          qty: 100, price: s.bandHigh))
        _ = Self.run(&m, Command.newOrder(broker: 2, ts: 3, cid: ClientOrderID("c")!, account: 11, instrument: 1, side: .buy,
                                          qty: 100, price: s.bandLow))
        let bytes = m.snapshot()
        guard let original = Matcher.restore(bytes, config: config, limits: limits) else { return XCTFail("no restore") }
        XCTAssertEqual(original.stateDigest(), m.stateDigest())
        var refused = 0
        for offset in stride(from: 12, to: bytes.count - 8, by: 4) {
            for value: Int64 in [-1, 1 << 40, Int64.max, Int64.min, 7] {
                var forged = bytes
                withUnsafeBytes(of: value.littleEndian) { forged.replaceSubrange(offset..<offset + 8, with: $0) }
                if let restored = Matcher.restore(forged, config: config, limits: limits) {
                    XCTAssertNil(restored.verify(), "offset \(offset) value \(value)")
                    // What the edge continues from must be in range too (the day's timestamps).
                    XCTAssertTrue(restored.tradingDate.isTradingDate, "offset \(offset) value \(value)")
                } else {
                    refused += 1
                }
            }
        }
        XCTAssertGreaterThan(refused, bytes.count / 4, "most forgeries are refused")
    }
}
