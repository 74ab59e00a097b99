import XCTest
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// The market's rules before a trade and settlement after it, one test per rule and boundary.
///
/// The market: AA (holder cap 3, no holding period) and TT (holding period 2 trading days), both
/// tick 0.01, lot 100, reference 10.00, band 9.00–11.00; fees 3 bps each side, stamp duty 10 bps.
/// Trading date 2026-12-30, so a ROLL or two crosses into 2027.
final class ReplayLedgerTests: XCTestCase {
    static let market = """
        { "tradingDate": "2026-12-30",
          "fees": { "feeBps": 3, "stampDutyBps": 10 },
          "instruments": [
            { "symbol": "AA", "name": "Capped", "tick": "0.01", "lot": 100, "referencePrice": "10.00",
              "bandPercent": 10, "holderCap": 3 },
            { "symbol": "TT", "name": "Held", "tick": "0.01", "lot": 100, "referencePrice": "10.00",
              "bandPercent": 10, "holdingDays": 2 } ],
          "brokers": [ { "id": "B1", "token": "t1", "operator": false },
                       { "id": "B2", "token": "t2", "operator": false },
                       { "id": "OPS", "token": "op", "operator": true } ],
          "accounts": [
            { "id": "Q1", "broker": "B1", "qualifiedUntil": "2027-12-31", "cash": "10003.00" },
            { "id": "Q2", "broker": "B1", "qualifiedUntil": "2027-12-31", "cash": "100000.00",
              "annualBuyCap": "20000.00", "boughtThisYear": "15000.00" },
            { "id": "U1", "broker": "B1", "cash": "50000.00", "holdings": { "AA": 1000 } },
            { "id": "E1", "broker": "B2", "qualifiedUntil": "2026-12-30", "cash": "50000.00" },
            { "id": "S1", "broker": "B2", "qualifiedUntil": "2027-12-31", "cash": "50000.00",
              "holdings": { "AA": 1000, "TT": 1000 } },
            { "id": "S2", "broker": "B2", "qualifiedUntil": "2027-12-31", "cash": "0", "holdings": { "AA": 500 } } ] }
        """

    var replay = Replay(config: try! ConfigLoader.parse(Array(ReplayLedgerTests.market.utf8), file: "market.json"),
                        limits: EngineLimits(ordersLiveMax: 1024, cidsPerDayMax: 4096, positionsMax: 64, lockLotsMax: 64))

    /// Feeds lines; returns the output lines without `ts=`.
    func run(_ input: String) -> [String] { ReplayChecks.untimed(replay.run(input)) }

    func check(_ input: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        ReplayChecks.assertLines(run(input), expected, file: file, line: line)
    }

    func account(_ name: String) -> AccountBalance { replay.account(name) }

    func position(_ name: String, _ sym: String) -> Position? { replay.position(name, sym) }

    func testOnlyQualifiedInvestorsBuyAndQualificationExpires() {
        check("""
            B1 NEW cid=u1 acct=U1 sym=AA side=BUY qty=100 px=10.00
            B1 NEW cid=u2 acct=U1 sym=AA side=SELL qty=100 px=10.50
            B2 NEW cid=e1 acct=E1 sym=TT side=BUY qty=100 px=9.50
            OPS ROLL date=2026-12-31
            B2 NEW cid=e2 acct=E1 sym=TT side=BUY qty=100 px=9.50
            """, """
            B1 REJ seq=1 cid=u1 reason=NOT_QUALIFIED
            B1 ACK seq=2 cid=u2 oid=1 acct=U1 sym=AA side=SELL qty=100 px=10.50 tif=DAY
            B2 ACK seq=1 cid=e1 oid=2 acct=E1 sym=TT side=BUY qty=100 px=9.50 tif=DAY
            OPS OK verb=ROLL date=2026-12-31
            B1 CANCELED seq=3 cid=u2 oid=1 leaves=0 reason=EXPIRED
            B2 CANCELED seq=2 cid=e1 oid=2 leaves=0 reason=EXPIRED
            B2 REJ seq=3 cid=e2 reason=NOT_QUALIFIED
            """)
    }

    func testOpenBuysOfAnAccountWhoseQualificationLapsesAreCanceledAtRoll() {
        check("""
            B2 NEW cid=g1 acct=E1 sym=TT side=BUY qty=100 px=9.50 tif=GTC
            B2 NEW cid=g2 acct=S1 sym=TT side=BUY qty=100 px=9.40 tif=GTC
            OPS ROLL date=2026-12-31
            B2 STATUS cid=g2
            """, """
            B2 ACK seq=1 cid=g1 oid=1 acct=E1 sym=TT side=BUY qty=100 px=9.50 tif=GTC
            B2 ACK seq=2 cid=g2 oid=2 acct=S1 sym=TT side=BUY qty=100 px=9.40 tif=GTC
            OPS OK verb=ROLL date=2026-12-31
            B2 CANCELED seq=3 cid=g1 oid=1 leaves=0 reason=ADMIN
            B2 STATUS seq=4 cid=g2 oid=2 state=NEW qty=100 px=9.40 leaves=100 cum=0
            """)
        XCTAssertEqual(account("E1").frozenCash, 0)
    }

    func testExactlyEnoughCashAndNotAFenLess() {
        // 1000 × 10.00 = 10,000.00 plus the 3 bps fee 3.00 = 10,003.00: all of Q1's cash.
        check("""
            B1 NEW cid=a1 acct=Q1 sym=TT side=BUY qty=1000 px=10.00
            B1 NEW cid=a2 acct=Q1 sym=TT side=BUY qty=100 px=9.00
            B1 CANCEL cid=a1
            OPS WITHDRAW acct=Q1 amount=0.01
            B1 NEW cid=a3 acct=Q1 sym=TT side=BUY qty=1000 px=10.00
            B1 NEW cid=a4 acct=Q1 sym=TT side=BUY qty=900 px=11.00
            """, """
            B1 ACK seq=1 cid=a1 oid=1 acct=Q1 sym=TT side=BUY qty=1000 px=10.00 tif=DAY
            B1 REJ seq=2 cid=a2 reason=INSUFFICIENT_CASH
            B1 CANCELED seq=3 cid=a1 oid=1 leaves=0 reason=USER
            OPS OK verb=WITHDRAW acct=Q1 amount=0.01 cash=10002.99
            B1 REJ seq=4 cid=a3 reason=INSUFFICIENT_CASH
            B1 ACK seq=5 cid=a4 oid=2 acct=Q1 sym=TT side=BUY qty=900 px=11.00 tif=DAY
            """)
        XCTAssertEqual(account("Q1").frozenCash, 9_902_970_0)  // 9,900.00 + fee 2.97
    }

    func testMarketBuyFreezesAtTheTopOfTheBand() {
        // 1000 at the band top 11.00 would need 11,003.30: more than Q1 has, though the book is empty.
        check("""
            B1 NEW cid=m1 acct=Q1 sym=TT side=BUY qty=1000 type=MARKET
            B1 NEW cid=m2 acct=Q1 sym=TT side=BUY qty=900 type=MARKET
            """, """
            B1 REJ seq=1 cid=m1 reason=INSUFFICIENT_CASH
            B1 ACK seq=2 cid=m2 oid=1 acct=Q1 sym=TT side=BUY qty=900 px=11.00 tif=IOC type=MARKET
            B1 CANCELED seq=3 cid=m2 oid=1 leaves=0 reason=IOC
            """)
        XCTAssertEqual(account("Q1").frozenCash, 0)
    }

    func testSettlementIsDeliveryVersusPaymentWithFeesAndPriceImprovementReturned() {
        check("""
            B2 NEW cid=s1 acct=S1 sym=TT side=SELL qty=500 px=9.90
            B1 NEW cid=b1 acct=Q2 sym=TT side=BUY qty=300 px=10.00
            """, """
            B2 ACK seq=1 cid=s1 oid=1 acct=S1 sym=TT side=SELL qty=500 px=9.90 tif=DAY
            B1 ACK seq=1 cid=b1 oid=2 acct=Q2 sym=TT side=BUY qty=300 px=10.00 tif=DAY
            B1 FILL seq=2 cid=b1 oid=2 tid=1 px=9.90 qty=300 leaves=0 cum=300 liq=TAKER
            B2 FILL seq=2 cid=s1 oid=1 tid=1 px=9.90 qty=300 leaves=200 cum=300 liq=MAKER
            * TRADE sym=TT mdseq=1 tid=1 px=9.90 qty=300 kind=BOOK
            """)
        // Value 2,970.00; fee 0.891 → 0.89 each side; stamp duty 2.97.
        XCTAssertEqual(account("Q2").cash, 100_000_0000 - 2_970_0000 - 8900)
        XCTAssertEqual(account("Q2").frozenCash, 0, "the 0.10 price improvement and the fee rounding come back")
        XCTAssertEqual(account("Q2").boughtThisYear, 15_000_0000 + 2_970_0000)
        XCTAssertEqual(account("S1").cash, 50_000_0000 + 2_970_0000 - 8900 - 2_9700)
        XCTAssertEqual(replay.matcher.ledger.feesCollected, 8900 + 8900 + 2_9700)
        XCTAssertEqual(position("Q2", "TT")?.shares, 300)
        XCTAssertEqual(position("S1", "TT")?.shares, 700)
        XCTAssertEqual(position("S1", "TT")?.frozenShares, 200, "the open rest of the sell stays frozen")
        let trade = replay.trades[0]
        XCTAssertEqual([trade.buyerFee, trade.sellerFee, trade.stampDuty], [8900, 8900, 2_9700])
    }

    func testFeeRoundingAcrossManyPartialFillsNeverOverdrawsTheFreeze() {
        // One buy of 1,000 at 10.07 froze 10,070.00 + fee 3.021 → 3.02 = 10,073.02 (all of Q1's
        // cash after the deposit). Ten sells of 100 fill it; each fill's fee is 0.3021 → 0.30, so
        // the fills cost 10,073.00 and the 0.02 left frozen comes back when the buy completes.
        var lines = ["OPS DEPOSIT acct=Q1 amount=70.02", "B1 NEW cid=b acct=Q1 sym=TT side=BUY qty=1000 px=10.07"]
        for i in 0..<10 { lines.append("B2 NEW cid=s\(i) acct=S1 sym=TT side=SELL qty=100 px=10.07") }
        let out = run(lines.joined(separator: "\n"))
        XCTAssertEqual(out.filter { $0.hasPrefix("* TRADE") }.count, 10)
        XCTAssertEqual(out[1], "B1 ACK seq=1 cid=b oid=1 acct=Q1 sym=TT side=BUY qty=1000 px=10.07 tif=DAY")
        XCTAssertEqual(account("Q1").cash, 200)
        XCTAssertEqual(account("Q1").frozenCash, 0)
        XCTAssertEqual(account("S1").cash, 50_000_0000 + 10 * (1_007_0000 - 3000 - 1_0000))
        XCTAssertEqual(replay.matcher.ledger.feesCollected, 10 * (3000 + 3000 + 1_0000))
        XCTAssertEqual(position("Q1", "TT")?.shares, 1000)
        XCTAssertEqual(position("Q1", "TT")?.lockedShares, 1000)
    }

    func testSellingNeedsSharesNotFrozenByOpenSells() {
        check("""
            B2 NEW cid=x1 acct=S2 sym=AA side=SELL qty=600 px=10.00
            B2 NEW cid=x2 acct=S2 sym=AA side=SELL qty=500 px=10.00
            B2 NEW cid=x3 acct=S2 sym=AA side=SELL qty=100 px=10.00
            B2 NEW cid=x4 acct=S2 sym=TT side=SELL qty=100 px=10.00
            B2 REPLACE cid=x2 newcid=x5 qty=600
            B2 REPLACE cid=x2 newcid=x5 qty=400
            B2 NEW cid=x6 acct=S2 sym=AA side=SELL qty=100 px=10.00
            """, """
            B2 REJ seq=1 cid=x1 reason=INSUFFICIENT_SHARES
            B2 ACK seq=2 cid=x2 oid=1 acct=S2 sym=AA side=SELL qty=500 px=10.00 tif=DAY
            B2 REJ seq=3 cid=x3 reason=INSUFFICIENT_SHARES
            B2 REJ seq=4 cid=x4 reason=INSUFFICIENT_SHARES
            B2 REJ seq=5 cid=x2 reason=INSUFFICIENT_SHARES
            B2 REPLACED seq=6 cid=x2 oid=1 newcid=x5 qty=400 px=10.00 leaves=400
            B2 ACK seq=7 cid=x6 oid=2 acct=S2 sym=AA side=SELL qty=100 px=10.00 tif=DAY
            """)
        XCTAssertEqual(position("S2", "AA")?.frozenShares, 500)
    }

    func testHoldingPeriodEndsAfterThatManyRolls() {
        check("""
            B2 NEW cid=s1 acct=S1 sym=TT side=SELL qty=1000 px=10.00
            B1 NEW cid=b1 acct=Q1 sym=TT side=BUY qty=1000 px=10.00
            B1 NEW cid=q1 acct=Q1 sym=TT side=SELL qty=100 px=10.00
            OPS ROLL date=2026-12-31
            B1 NEW cid=q2 acct=Q1 sym=TT side=SELL qty=100 px=10.00
            OPS ROLL date=2027-01-04
            B1 NEW cid=q3 acct=Q1 sym=TT side=SELL qty=1000 px=10.00
            """, """
            B2 ACK seq=1 cid=s1 oid=1 acct=S1 sym=TT side=SELL qty=1000 px=10.00 tif=DAY
            B1 ACK seq=1 cid=b1 oid=2 acct=Q1 sym=TT side=BUY qty=1000 px=10.00 tif=DAY
            B1 FILL seq=2 cid=b1 oid=2 tid=1 px=10.00 qty=1000 leaves=0 cum=1000 liq=TAKER
            B2 FILL seq=2 cid=s1 oid=1 tid=1 px=10.00 qty=1000 leaves=0 cum=1000 liq=MAKER
            * TRADE sym=TT mdseq=1 tid=1 px=10.00 qty=1000 kind=BOOK
            B1 REJ seq=3 cid=q1 reason=HOLDING_PERIOD
            OPS OK verb=ROLL date=2026-12-31
            B1 REJ seq=4 cid=q2 reason=HOLDING_PERIOD
            OPS OK verb=ROLL date=2027-01-04
            B1 ACK seq=5 cid=q3 oid=3 acct=Q1 sym=TT side=SELL qty=1000 px=10.00 tif=DAY
            """)
        XCTAssertEqual(position("Q1", "TT")?.lockedShares, 0)
    }

    func testHolderCapCountsSlotsAndFreesThem() {
        // AA has 3 holders (U1, S1, S2) = its cap: a new buyer is refused until S2 sells out.
        check("""
            B1 NEW cid=q1 acct=Q1 sym=AA side=BUY qty=100 px=10.00
            B2 NEW cid=s2 acct=S2 sym=AA side=SELL qty=500 px=10.00
            B2 NEW cid=s1 acct=S1 sym=AA side=BUY qty=500 px=10.00
            B1 NEW cid=q2 acct=Q1 sym=AA side=BUY qty=100 px=9.50
            B1 NEW cid=q3 acct=Q2 sym=AA side=BUY qty=100 px=9.50
            B1 CANCEL cid=q2
            B1 NEW cid=q4 acct=Q2 sym=AA side=BUY qty=100 px=9.50
            """, """
            B1 REJ seq=1 cid=q1 reason=HOLDER_LIMIT
            B2 ACK seq=1 cid=s2 oid=1 acct=S2 sym=AA side=SELL qty=500 px=10.00 tif=DAY
            B2 ACK seq=2 cid=s1 oid=2 acct=S1 sym=AA side=BUY qty=500 px=10.00 tif=DAY
            B2 FILL seq=3 cid=s1 oid=2 tid=1 px=10.00 qty=500 leaves=0 cum=500 liq=TAKER
            B2 FILL seq=4 cid=s2 oid=1 tid=1 px=10.00 qty=500 leaves=0 cum=500 liq=MAKER
            * TRADE sym=AA mdseq=1 tid=1 px=10.00 qty=500 kind=BOOK
            B1 ACK seq=2 cid=q2 oid=3 acct=Q1 sym=AA side=BUY qty=100 px=9.50 tif=DAY
            B1 REJ seq=3 cid=q3 reason=HOLDER_LIMIT
            B1 CANCELED seq=4 cid=q2 oid=3 leaves=0 reason=USER
            B1 ACK seq=5 cid=q4 oid=4 acct=Q2 sym=AA side=BUY qty=100 px=9.50 tif=DAY
            """)
        let aa = replay.matcher.ledger.register.holders[Int(replay.directory.symbol("AA"))]
        XCTAssertEqual(aa.holders, 2)
        XCTAssertEqual(aa.slots, 1)
    }

    func testSlotBecomesHolderOnFirstFillAndASellerOfItsLastShareFreesOne() {
        check("""
            B2 NEW cid=s2 acct=S2 sym=AA side=SELL qty=500 px=10.00
            B2 NEW cid=s1 acct=S1 sym=AA side=BUY qty=500 px=10.00
            B1 NEW cid=q1 acct=Q1 sym=AA side=BUY qty=100 px=10.00
            B2 NEW cid=s3 acct=S1 sym=AA side=SELL qty=100 px=10.00
            B1 NEW cid=q2 acct=Q2 sym=AA side=BUY qty=100 px=10.00
            B1 NEW cid=u1 acct=U1 sym=AA side=SELL qty=1000 px=10.00
            B2 NEW cid=s4 acct=S1 sym=AA side=BUY qty=1000 px=10.00
            B1 NEW cid=q3 acct=Q2 sym=AA side=BUY qty=100 px=10.00
            """, """
            B2 ACK seq=1 cid=s2 oid=1 acct=S2 sym=AA side=SELL qty=500 px=10.00 tif=DAY
            B2 ACK seq=2 cid=s1 oid=2 acct=S1 sym=AA side=BUY qty=500 px=10.00 tif=DAY
            B2 FILL seq=3 cid=s1 oid=2 tid=1 px=10.00 qty=500 leaves=0 cum=500 liq=TAKER
            B2 FILL seq=4 cid=s2 oid=1 tid=1 px=10.00 qty=500 leaves=0 cum=500 liq=MAKER
            * TRADE sym=AA mdseq=1 tid=1 px=10.00 qty=500 kind=BOOK
            B1 ACK seq=1 cid=q1 oid=3 acct=Q1 sym=AA side=BUY qty=100 px=10.00 tif=DAY
            B2 ACK seq=5 cid=s3 oid=4 acct=S1 sym=AA side=SELL qty=100 px=10.00 tif=DAY
            B2 FILL seq=6 cid=s3 oid=4 tid=2 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B1 FILL seq=2 cid=q1 oid=3 tid=2 px=10.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=AA mdseq=2 tid=2 px=10.00 qty=100 kind=BOOK
            B1 REJ seq=3 cid=q2 reason=HOLDER_LIMIT
            B1 ACK seq=4 cid=u1 oid=5 acct=U1 sym=AA side=SELL qty=1000 px=10.00 tif=DAY
            B2 ACK seq=7 cid=s4 oid=6 acct=S1 sym=AA side=BUY qty=1000 px=10.00 tif=DAY
            B2 FILL seq=8 cid=s4 oid=6 tid=3 px=10.00 qty=1000 leaves=0 cum=1000 liq=TAKER
            B1 FILL seq=5 cid=u1 oid=5 tid=3 px=10.00 qty=1000 leaves=0 cum=1000 liq=MAKER
            * TRADE sym=AA mdseq=3 tid=3 px=10.00 qty=1000 kind=BOOK
            B1 ACK seq=6 cid=q3 oid=7 acct=Q2 sym=AA side=BUY qty=100 px=10.00 tif=DAY
            """)
        let aa = replay.matcher.ledger.register.holders[Int(replay.directory.symbol("AA"))]
        XCTAssertEqual(aa.holders, 2, "S1 and Q1")
        XCTAssertEqual(aa.slots, 1, "Q2")
        XCTAssertEqual(position("Q1", "AA")?.status, .holder)
        XCTAssertEqual(position("U1", "AA")?.status, HolderStatus.none)
    }

    func testAnnualCapCountsOpenBuysAndResetsInANewYear() {
        // Q2 bought 15,000.00 this year; its cap is 20,000.00.
        check("""
            B1 NEW cid=a1 acct=Q2 sym=TT side=BUY qty=500 px=10.00
            B1 NEW cid=a2 acct=Q2 sym=TT side=BUY qty=100 px=9.00
            B1 REPLACE cid=a1 newcid=a3 px=10.01
            OPS ROLL date=2026-12-31
            B1 NEW cid=a4 acct=Q2 sym=TT side=BUY qty=100 px=9.00
            OPS ROLL date=2027-01-04
            B1 NEW cid=a5 acct=Q2 sym=TT side=BUY qty=2000 px=10.00
            B1 NEW cid=a6 acct=Q2 sym=TT side=BUY qty=100 px=10.00
            """, """
            B1 ACK seq=1 cid=a1 oid=1 acct=Q2 sym=TT side=BUY qty=500 px=10.00 tif=DAY
            B1 REJ seq=2 cid=a2 reason=ANNUAL_LIMIT
            B1 REJ seq=3 cid=a1 reason=ANNUAL_LIMIT
            OPS OK verb=ROLL date=2026-12-31
            B1 CANCELED seq=4 cid=a1 oid=1 leaves=0 reason=EXPIRED
            B1 ACK seq=5 cid=a4 oid=2 acct=Q2 sym=TT side=BUY qty=100 px=9.00 tif=DAY
            OPS OK verb=ROLL date=2027-01-04
            B1 CANCELED seq=6 cid=a4 oid=2 leaves=0 reason=EXPIRED
            B1 ACK seq=7 cid=a5 oid=3 acct=Q2 sym=TT side=BUY qty=2000 px=10.00 tif=DAY
            B1 REJ seq=8 cid=a6 reason=ANNUAL_LIMIT
            """)
        XCTAssertEqual(account("Q2").boughtThisYear, 0)
        XCTAssertEqual(account("Q2").openBuyValue, 20_000_0000)
    }

    func testDepositAndWithdraw() {
        check("""
            OPS DEPOSIT acct=S2 amount=100.50
            B2 NEW cid=b1 acct=S2 sym=TT side=BUY qty=100 px=1.00
            B2 NEW cid=b2 acct=S2 sym=TT side=BUY qty=100 px=9.00
            OPS WITHDRAW acct=S2 amount=100.51
            OPS WITHDRAW acct=S2 amount=0.47
            OPS DEPOSIT acct=NOBODY amount=1
            OPS DEPOSIT acct=S2 amount=0
            OPS DEPOSIT acct=S2 amount=-5
            B2 DEPOSIT acct=S2 amount=5
            """, """
            OPS OK verb=DEPOSIT acct=S2 amount=100.50 cash=100.50
            B2 REJ seq=1 cid=b1 reason=PRICE_BAND
            B2 REJ seq=2 cid=b2 reason=INSUFFICIENT_CASH
            OPS REJ reason=INSUFFICIENT_CASH
            OPS OK verb=WITHDRAW acct=S2 amount=0.47 cash=100.03
            OPS REJ reason=UNKNOWN_ACCOUNT
            OPS REJ reason=MALFORMED detail=BAD_AMOUNT
            OPS REJ reason=MALFORMED detail=BAD_AMOUNT
            B2 REJ reason=NOT_PERMITTED
            """)
    }

    func testWithdrawNeverTakesFrozenCash() {
        check("""
            B1 NEW cid=a1 acct=Q1 sym=TT side=BUY qty=500 px=10.00
            OPS WITHDRAW acct=Q1 amount=5001.51
            OPS WITHDRAW acct=Q1 amount=5001.50
            """, """
            B1 ACK seq=1 cid=a1 oid=1 acct=Q1 sym=TT side=BUY qty=500 px=10.00 tif=DAY
            OPS REJ reason=INSUFFICIENT_CASH
            OPS OK verb=WITHDRAW acct=Q1 amount=5001.50 cash=5001.50
            """)
    }

    func testRefusalsChangeNothing() {
        let before = (account("Q1"), account("Q2"), position("S2", "AA"), replay.matcher.stateDigest())
        _ = run("""
            B1 NEW cid=r1 acct=Q1 sym=AA side=BUY qty=100 px=10.00
            B1 NEW cid=r2 acct=Q1 sym=TT side=BUY qty=100000 px=10.00
            B1 NEW cid=r3 acct=Q2 sym=TT side=BUY qty=1000 px=10.00
            B2 NEW cid=r4 acct=S2 sym=AA side=SELL qty=600 px=10.00
            """)
        XCTAssertEqual(account("Q1").frozenCash, before.0.frozenCash)
        XCTAssertEqual(account("Q2").openBuyValue, before.1.openBuyValue)
        XCTAssertEqual(position("S2", "AA")?.frozenShares, before.2?.frozenShares)
        XCTAssertNil(position("Q1", "AA"), "a refused buy opens no register line")
    }
}
