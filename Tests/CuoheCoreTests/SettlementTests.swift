import XCTest
@testable import CuoheCore

/// The books of record against the matcher's ledger: they agree after real trades, and the
/// reconciliation notices a trade applied wrongly or not at all.
final class SettlementTests: XCTestCase {
    let config = LedgerStreamMarket.config(fees: Fees(feeBps: 3, stampDutyBps: 10))
    let limits = LedgerChecker.limits

    /// Account 2 (broker 1) sells 1,000 ZL000002 to account 10 (broker 2) at 3.3334, which has a
    /// one-day holding period. Returns the matcher's events.
    func trade(_ matcher: inout Matcher) -> [Event] {
        var events = EventBuffer()
        var sell = Command(kind: .new, broker: 1, ts: 1)
        sell.account = 2
        sell.instrument = 1
        sell.side = .sell
        sell.qty = 1_000
        sell.price = 33_334
        sell.cid = ClientOrderID("s1")!
        matcher.process(sell, into: &events)
        var buy = sell
        buy.broker = 2
        buy.account = 10
        buy.side = .buy
        buy.ts = 2
        buy.cid = ClientOrderID("b1")!
        matcher.process(buy, into: &events)
        return events.array
    }

    func testBooksAgreeAfterATradeAndNoticeAWrongFee() throws {
        var matcher = Matcher(config: config, limits: limits)
        let events = trade(&matcher)
        let tradeEvent = try XCTUnwrap(events.first { $0.kind == .trade }, "no trade: \(events.map(\.kind))")
        XCTAssertGreaterThan(tradeEvent.buyerFee, 0)

        var books = Settlement(config: config, limits: limits)
        for e in events { books.apply(e) }
        XCTAssertNil(books.ledger.settledDifference(matcher.ledger))
        XCTAssertEqual(books.ledger.settledDigest(), matcher.ledger.settledDigest())
        let buyer = books.ledger.register.findPosition(account: 10, instrument: 1)
        XCTAssertEqual(books.ledger.register.positions[buyer].shares, 1_000)
        XCTAssertEqual(books.ledger.register.positions[buyer].lockedShares, 1_000, "bought today: locked for the holding period")
        XCTAssertEqual(books.ledger.accounts[10].frozenCash, 0, "the books know nothing of orders")

        var wrong = Settlement(config: config, limits: limits)
        var tampered = tradeEvent
        tampered.sellerFee += Fixed.fen
        wrong.apply(tampered)
        XCTAssertNotEqual(wrong.ledger.settledDigest(), matcher.ledger.settledDigest())
        XCTAssertNotNil(wrong.ledger.settledDifference(matcher.ledger))

        let untouched = Settlement(config: config, limits: limits)
        XCTAssertNotEqual(untouched.ledger.settledDigest(), matcher.ledger.settledDigest(), "a missed trade shows")
    }

    func testRollReleasesTheLockAndRestoredBooksCarryIt() throws {
        var matcher = Matcher(config: config, limits: limits)
        let events = trade(&matcher)
        var books = Settlement(config: config, limits: limits)
        for e in events { books.apply(e) }
        // Books restored from the matcher's ledger carry the lock lot; the roll releases it in both.
        var restored = Settlement(config: config, limits: limits, restoringFrom: matcher.ledger, date: matcher.tradingDate)
        var roll = Command(kind: .roll, broker: 0, ts: 3)
        roll.date = CivilDate(year: 2026, month: 12, day: 2)!
        var out = EventBuffer()
        matcher.process(roll, into: &out)
        for e in out.array {
            let a = books.apply(e)
            let b = restored.apply(e)
            XCTAssertEqual(a, b)
        }
        XCTAssertEqual(books.date, roll.date)
        let buyer = books.ledger.register.findPosition(account: 10, instrument: 1)
        XCTAssertEqual(books.ledger.register.positions[buyer].lockedShares, 0)
        XCTAssertNil(books.ledger.settledDifference(matcher.ledger))
        XCTAssertNil(restored.ledger.settledDifference(matcher.ledger))
        XCTAssertEqual(restored.ledger.settledDigest(), books.ledger.settledDigest())
    }
}
