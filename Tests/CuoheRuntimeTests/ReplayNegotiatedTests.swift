import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// Negotiated transfer (`../shared/PROTOCOL.md`, "Negotiated transfer"): `QUOTE`, `ACCEPT` and
/// `CROSS` through `Replay`, on a small market: N1 is traded by negotiated transfer only, under
/// the regional five-day rule both ways; C1 is a continuous instrument (where the verbs work
/// too) with a holder cap of 4; T and U are trusts standing for 2 and 3 actual holders; C has
/// little cash and Q's qualification has expired. Fees: 3 bps each side, 10 bps stamp duty.
/// Every expected output was worked out by hand from the contract.
final class ReplayNegotiatedTests: XCTestCase {
    static let market = """
        {
          "tradingDate": "2026-12-01",
          "fees": { "feeBps": 3, "stampDutyBps": 10 },
          "instruments": [
            { "symbol": "N1", "name": "Negotiated", "tick": "0.01", "lot": 100, "referencePrice": "10.00", "bandPercent": 10,
              "holdingDays": 5, "rebuyDays": 5, "mode": "NEGOTIATED" },
            { "symbol": "C1", "name": "Continuous", "tick": "0.01", "lot": 100, "referencePrice": "10.00", "bandPercent": 10,
              "holderCap": 4 }
          ],
          "brokers": [
            { "id": "B01", "token": "t1" }, { "id": "B02", "token": "t2" }, { "id": "B03", "token": "t3" },
            { "id": "OPS", "token": "t0", "operator": true }
          ],
          "accounts": [
            { "id": "A", "broker": "B01", "qualifiedUntil": "2027-12-31", "cash": "100000.00", "holdings": { "N1": 1000, "C1": 1000 } },
            { "id": "D", "broker": "B01", "qualifiedUntil": "2027-12-31", "cash": "100000.00", "holdings": { "C1": 100 } },
            { "id": "B", "broker": "B02", "qualifiedUntil": "2027-12-31", "cash": "100000.00", "holdings": { "N1": 1000 } },
            { "id": "C", "broker": "B02", "qualifiedUntil": "2027-12-31", "cash": "2000.00" },
            { "id": "T", "broker": "B03", "qualifiedUntil": "2027-12-31", "cash": "100000.00", "beneficialOwners": 2 },
            { "id": "U", "broker": "B03", "qualifiedUntil": "2027-12-31", "cash": "100000.00", "beneficialOwners": 3 },
            { "id": "Q", "broker": "B03", "qualifiedUntil": "2026-06-30", "cash": "100000.00" }
          ]
        }
        """
    static let config = try! ConfigLoader.parse(Array(market.utf8), file: "negotiated market")
    static let limits = EngineLimits(ordersLiveMax: 4096, cidsPerDayMax: 16384)
    var replay = Replay(config: ReplayNegotiatedTests.config, limits: ReplayNegotiatedTests.limits)

    func check(_ input: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        ReplayChecks.assertLines(ReplayChecks.untimed(replay.run(input)), expected, file: file, line: line)
        XCTAssertNil(replay.matcher.verify(), file: file, line: line)
    }

    /// A sells 300 on the board; B takes 100, the trust T the last 200 (the quote is then
    /// gone: `qty=0`), and a third `ACCEPT` finds it done. Settled with fees: 3 bps each side
    /// rounded down to the fen, 10 bps stamp duty on the seller (1,020.00 → fee 0.30, duty 1.02;
    /// 2,040.00 → fee 0.61, duty 2.04).
    func testAQuoteIsTakenInPartsToItsLastLot() {
        check("""
            B01 QUOTE cid=q1 acct=A sym=N1 side=SELL qty=300 px=10.20
            B02 ACCEPT cid=a1 acct=B quote=1 qty=100
            B02 STATUS cid=a1
            B01 STATUS cid=q1
            B03 ACCEPT cid=a2 acct=T quote=1 qty=200
            B03 ACCEPT cid=a3 acct=T quote=1 qty=100
            B01 STATUS cid=q1
            """, """
            B01 ACK seq=1 cid=q1 oid=1 acct=A sym=N1 side=SELL qty=300 px=10.20 tif=DAY type=QUOTE
            * QUOTE sym=N1 mdseq=1 qid=1 side=SELL qty=300 px=10.20 broker=B01
            B02 ACK seq=1 cid=a1 oid=2 acct=B sym=N1 side=BUY qty=100 px=10.20 tif=DAY type=ACCEPT
            B02 FILL seq=2 cid=a1 oid=2 tid=1 px=10.20 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=2 cid=q1 oid=1 tid=1 px=10.20 qty=100 leaves=200 cum=100 liq=MAKER
            * TRADE sym=N1 mdseq=2 tid=1 px=10.20 qty=100 kind=QUOTE
            * QUOTE sym=N1 mdseq=3 qid=1 side=SELL qty=200 px=10.20 broker=B01
            B02 STATUS seq=3 cid=a1 oid=2 state=FILLED qty=100 px=10.20 leaves=0 cum=100
            B01 STATUS seq=3 cid=q1 oid=1 state=PARTIAL qty=300 px=10.20 leaves=200 cum=100
            B03 ACK seq=1 cid=a2 oid=3 acct=T sym=N1 side=BUY qty=200 px=10.20 tif=DAY type=ACCEPT
            B03 FILL seq=2 cid=a2 oid=3 tid=2 px=10.20 qty=200 leaves=0 cum=200 liq=TAKER
            B01 FILL seq=4 cid=q1 oid=1 tid=2 px=10.20 qty=200 leaves=0 cum=300 liq=MAKER
            * TRADE sym=N1 mdseq=4 tid=2 px=10.20 qty=200 kind=QUOTE
            * QUOTE sym=N1 mdseq=5 qid=1 side=SELL qty=0 px=10.20 broker=B01
            B03 REJ seq=3 cid=a3 reason=ORDER_DONE
            B01 STATUS seq=5 cid=q1 oid=1 state=FILLED qty=300 px=10.20 leaves=0 cum=300
            """)
        XCTAssertEqual(replay.account("A").cash, 10_305_603 * 100)
        XCTAssertEqual(replay.account("B").cash, 9_897_970 * 100)
        XCTAssertEqual(replay.account("T").cash, 9_795_939 * 100)
        XCTAssertEqual(replay.position("A", "N1")?.shares, 700)
        XCTAssertEqual(replay.position("A", "N1")?.frozenShares, 0)
        XCTAssertEqual(replay.position("B", "N1")?.shares, 1100)
        XCTAssertEqual(replay.position("B", "N1")?.lockedShares, 100)
        XCTAssertEqual(replay.position("T", "N1")?.lockedShares, 200)
        XCTAssertEqual(replay.account("T").frozenCash, 0)
    }

    /// Each refusal of an `ACCEPT` and of a `QUOTE`, in the order of checks: an unknown quote,
    /// more than it has open, not a lot, someone else's account, the quote's own account
    /// (a wash trade), not enough cash, not qualified, halted (the cid is then used); a quote
    /// outside the band, off the tick, selling shares its account's open quote already freezes,
    /// buying beyond its cash.
    func testAnAcceptPassesEveryCheckOfALimitOrder() {
        check("""
            B02 ACCEPT cid=r1 acct=B quote=99 qty=100
            B01 QUOTE cid=q1 acct=A sym=N1 side=SELL qty=300 px=10.20
            B02 ACCEPT cid=r2 acct=B quote=1 qty=400
            B02 ACCEPT cid=r3 acct=B quote=1 qty=50
            B02 ACCEPT cid=r4 acct=A quote=1 qty=100
            B01 ACCEPT cid=r5 acct=A quote=1 qty=100
            B02 ACCEPT cid=r6 acct=C quote=1 qty=200
            B03 ACCEPT cid=r7 acct=Q quote=1 qty=100
            OPS HALT sym=N1
            B02 ACCEPT cid=r8 acct=B quote=1 qty=100
            OPS RESUME sym=N1
            B02 ACCEPT cid=r8 acct=B quote=1 qty=100
            B01 QUOTE cid=q2 acct=A sym=N1 side=SELL qty=100 px=11.50
            B01 QUOTE cid=q3 acct=A sym=N1 side=SELL qty=100 px=10.205
            B01 QUOTE cid=q4 acct=A sym=N1 side=SELL qty=1000 px=10.00
            B02 QUOTE cid=q5 acct=C sym=N1 side=BUY qty=300 px=10.00
            """, """
            B02 REJ seq=1 cid=r1 reason=UNKNOWN_ORDER
            B01 ACK seq=1 cid=q1 oid=1 acct=A sym=N1 side=SELL qty=300 px=10.20 tif=DAY type=QUOTE
            * QUOTE sym=N1 mdseq=1 qid=1 side=SELL qty=300 px=10.20 broker=B01
            B02 REJ seq=2 cid=r2 reason=BAD_QTY detail=ABOVE_QUOTE
            B02 REJ seq=3 cid=r3 reason=LOT_SIZE
            B02 REJ seq=4 cid=r4 reason=NOT_YOUR_ACCOUNT
            B01 REJ seq=2 cid=r5 reason=NOT_PERMITTED detail=SELF_TRADE
            B02 REJ seq=5 cid=r6 reason=INSUFFICIENT_CASH
            B03 REJ seq=1 cid=r7 reason=NOT_QUALIFIED
            OPS OK verb=HALT sym=N1
            B02 REJ seq=6 cid=r8 reason=HALTED
            OPS OK verb=RESUME sym=N1
            B02 REJ seq=7 cid=r8 reason=DUPLICATE_CID
            B01 REJ seq=3 cid=q2 reason=PRICE_BAND
            B01 REJ seq=4 cid=q3 reason=TICK_SIZE
            B01 REJ seq=5 cid=q4 reason=INSUFFICIENT_SHARES
            B02 REJ seq=8 cid=q5 reason=INSUFFICIENT_CASH
            """)
    }

    /// A's side of agreement R1 waits; B02's sides that differ in the symbol, the side, the
    /// quantity and the price each get `CROSS_MISMATCH` and leave it waiting; the matching side
    /// completes it. The ref is then free: a new side with it waits.
    func testACrossWhoseTermsDifferInEachFieldChangesNothing() {
        check("""
            B01 CROSS cid=x1 acct=A sym=N1 side=SELL qty=200 px=10.10 ref=R1 cp=B02
            B02 CROSS cid=y1 acct=B sym=C1 side=BUY qty=200 px=10.10 ref=R1 cp=B01
            B02 CROSS cid=y2 acct=B sym=N1 side=SELL qty=200 px=10.10 ref=R1 cp=B01
            B02 CROSS cid=y3 acct=B sym=N1 side=BUY qty=100 px=10.10 ref=R1 cp=B01
            B02 CROSS cid=y4 acct=B sym=N1 side=BUY qty=200 px=10.11 ref=R1 cp=B01
            B01 STATUS cid=x1
            B02 CROSS cid=y5 acct=B sym=N1 side=BUY qty=200 px=10.10 ref=R1 cp=B01
            B01 STATUS cid=x1
            B02 CROSS cid=y6 acct=B sym=N1 side=BUY qty=200 px=10.10 ref=R1 cp=B01
            """, """
            B01 ACK seq=1 cid=x1 oid=1 acct=A sym=N1 side=SELL qty=200 px=10.10 tif=DAY type=CROSS
            B02 REJ seq=1 cid=y1 reason=CROSS_MISMATCH
            B02 REJ seq=2 cid=y2 reason=CROSS_MISMATCH
            B02 REJ seq=3 cid=y3 reason=CROSS_MISMATCH
            B02 REJ seq=4 cid=y4 reason=CROSS_MISMATCH
            B01 STATUS seq=2 cid=x1 oid=1 state=NEW qty=200 px=10.10 leaves=200 cum=0
            B02 ACK seq=5 cid=y5 oid=2 acct=B sym=N1 side=BUY qty=200 px=10.10 tif=DAY type=CROSS
            B02 FILL seq=6 cid=y5 oid=2 tid=1 px=10.10 qty=200 leaves=0 cum=200 liq=TAKER
            B01 FILL seq=3 cid=x1 oid=1 tid=1 px=10.10 qty=200 leaves=0 cum=200 liq=MAKER
            * TRADE sym=N1 mdseq=1 tid=1 px=10.10 qty=200 kind=CROSS
            B01 STATUS seq=4 cid=x1 oid=1 state=FILLED qty=200 px=10.10 leaves=0 cum=200
            B02 ACK seq=7 cid=y6 oid=3 acct=B sym=N1 side=BUY qty=200 px=10.10 tif=DAY type=CROSS
            """)
    }

    /// B01 and B03 each have a side of ref R waiting with B02: two agreements, no collision.
    /// B01's second R (with B03) is `REF_IN_USE`. B02 completes both. A broker may cross two of
    /// its own accounts (naming itself as `cp`), not one account with itself; an unknown `cp`
    /// is refused.
    func testRefsCollideOnlyWithinABrokersOwnWaitingSides() {
        check("""
            B01 CROSS cid=x1 acct=A sym=N1 side=SELL qty=100 px=10.00 ref=R cp=B02
            B03 CROSS cid=z1 acct=T sym=N1 side=BUY qty=100 px=10.00 ref=R cp=B02
            B01 CROSS cid=x2 acct=A sym=N1 side=SELL qty=100 px=10.00 ref=R cp=B03
            B02 CROSS cid=y1 acct=B sym=N1 side=BUY qty=100 px=10.00 ref=R cp=B01
            B02 CROSS cid=y2 acct=B sym=N1 side=SELL qty=100 px=10.00 ref=R cp=B03
            B01 CROSS cid=x3 acct=A sym=N1 side=SELL qty=100 px=10.00 ref=R3 cp=B01
            B01 CROSS cid=x4 acct=A sym=N1 side=BUY qty=100 px=10.00 ref=R3 cp=B01
            B01 CROSS cid=x5 acct=D sym=N1 side=BUY qty=100 px=10.00 ref=R3 cp=B01
            B01 CROSS cid=x6 acct=A sym=N1 side=SELL qty=100 px=10.00 ref=R6 cp=NOPE
            """, """
            B01 ACK seq=1 cid=x1 oid=1 acct=A sym=N1 side=SELL qty=100 px=10.00 tif=DAY type=CROSS
            B03 ACK seq=1 cid=z1 oid=2 acct=T sym=N1 side=BUY qty=100 px=10.00 tif=DAY type=CROSS
            B01 REJ seq=2 cid=x2 reason=CROSS_MISMATCH detail=REF_IN_USE
            B02 ACK seq=1 cid=y1 oid=3 acct=B sym=N1 side=BUY qty=100 px=10.00 tif=DAY type=CROSS
            B02 FILL seq=2 cid=y1 oid=3 tid=1 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=3 cid=x1 oid=1 tid=1 px=10.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=N1 mdseq=1 tid=1 px=10.00 qty=100 kind=CROSS
            B02 ACK seq=3 cid=y2 oid=4 acct=B sym=N1 side=SELL qty=100 px=10.00 tif=DAY type=CROSS
            B02 FILL seq=4 cid=y2 oid=4 tid=2 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B03 FILL seq=2 cid=z1 oid=2 tid=2 px=10.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=N1 mdseq=2 tid=2 px=10.00 qty=100 kind=CROSS
            B01 ACK seq=4 cid=x3 oid=5 acct=A sym=N1 side=SELL qty=100 px=10.00 tif=DAY type=CROSS
            B01 REJ seq=5 cid=x4 reason=NOT_PERMITTED detail=SELF_TRADE
            B01 ACK seq=6 cid=x5 oid=6 acct=D sym=N1 side=BUY qty=100 px=10.00 tif=DAY type=CROSS
            B01 FILL seq=7 cid=x5 oid=6 tid=3 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=8 cid=x3 oid=5 tid=3 px=10.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=N1 mdseq=3 tid=3 px=10.00 qty=100 kind=CROSS
            B01 REJ seq=9 cid=x6 reason=NOT_PERMITTED detail=UNKNOWN_BROKER
            """)
    }

    /// `REPLACE` of a quote or a cross is refused; `PHASE CLOSED` expires them with the day's
    /// orders (the book's first), so neither can be taken; a `CANCEL` ends either (the quote's
    /// board line goes to 0, a cross has none); a `ROLL` expires the rest and forgets the day's
    /// quotes (`UNKNOWN_ORDER` after it).
    func testQuotesAndCrossesExpireAtClosedAndRollAndCancel() {
        check("""
            B01 QUOTE cid=q1 acct=A sym=C1 side=SELL qty=200 px=10.50
            B01 CROSS cid=x1 acct=A sym=C1 side=SELL qty=100 px=10.40 ref=K1 cp=B02
            B01 REPLACE cid=q1 newcid=q1b qty=100
            B01 REPLACE cid=x1 newcid=x1b px=10.30
            B01 NEW cid=n1 acct=A sym=C1 side=SELL qty=100 px=10.60
            OPS PHASE sym=C1 phase=CLOSED
            B02 ACCEPT cid=a1 acct=B quote=1 qty=100
            B02 CROSS cid=y1 acct=B sym=C1 side=BUY qty=100 px=10.40 ref=K1 cp=B01
            OPS PHASE sym=C1 phase=OPEN
            B02 CROSS cid=y2 acct=B sym=C1 side=BUY qty=100 px=10.40 ref=K1 cp=B01
            B01 QUOTE cid=q2 acct=A sym=N1 side=SELL qty=100 px=10.00
            B03 QUOTE cid=q3 acct=T sym=N1 side=BUY qty=100 px=9.90
            B01 CANCEL cid=q2
            B02 CANCEL cid=y2
            OPS ROLL date=2026-12-02
            B02 ACCEPT cid=a2 acct=B quote=4 qty=100
            """, """
            B01 ACK seq=1 cid=q1 oid=1 acct=A sym=C1 side=SELL qty=200 px=10.50 tif=DAY type=QUOTE
            * QUOTE sym=C1 mdseq=1 qid=1 side=SELL qty=200 px=10.50 broker=B01
            B01 ACK seq=2 cid=x1 oid=2 acct=A sym=C1 side=SELL qty=100 px=10.40 tif=DAY type=CROSS
            B01 REJ seq=3 cid=q1 reason=NOT_PERMITTED
            B01 REJ seq=4 cid=x1 reason=NOT_PERMITTED
            B01 ACK seq=5 cid=n1 oid=3 acct=A sym=C1 side=SELL qty=100 px=10.60 tif=DAY
            OPS OK verb=PHASE sym=C1 phase=CLOSED
            B01 CANCELED seq=6 cid=n1 oid=3 leaves=0 reason=EXPIRED
            B01 CANCELED seq=7 cid=q1 oid=1 leaves=0 reason=EXPIRED
            * QUOTE sym=C1 mdseq=2 qid=1 side=SELL qty=0 px=10.50 broker=B01
            B01 CANCELED seq=8 cid=x1 oid=2 leaves=0 reason=EXPIRED
            B02 REJ seq=1 cid=a1 reason=ORDER_DONE
            B02 REJ seq=2 cid=y1 reason=MARKET_CLOSED
            OPS OK verb=PHASE sym=C1 phase=OPEN
            B02 ACK seq=3 cid=y2 oid=4 acct=B sym=C1 side=BUY qty=100 px=10.40 tif=DAY type=CROSS
            B01 ACK seq=9 cid=q2 oid=5 acct=A sym=N1 side=SELL qty=100 px=10.00 tif=DAY type=QUOTE
            * QUOTE sym=N1 mdseq=1 qid=5 side=SELL qty=100 px=10.00 broker=B01
            B03 ACK seq=1 cid=q3 oid=6 acct=T sym=N1 side=BUY qty=100 px=9.90 tif=DAY type=QUOTE
            * QUOTE sym=N1 mdseq=2 qid=6 side=BUY qty=100 px=9.90 broker=B03
            B01 CANCELED seq=10 cid=q2 oid=5 leaves=0 reason=USER
            * QUOTE sym=N1 mdseq=3 qid=5 side=SELL qty=0 px=10.00 broker=B01
            B02 CANCELED seq=4 cid=y2 oid=4 leaves=0 reason=USER
            OPS OK verb=ROLL date=2026-12-02
            B03 CANCELED seq=2 cid=q3 oid=6 leaves=0 reason=EXPIRED
            * QUOTE sym=N1 mdseq=4 qid=6 side=BUY qty=0 px=9.90 broker=B03
            B02 REJ seq=5 cid=a2 reason=UNKNOWN_ORDER
            """)
        XCTAssertEqual(replay.position("A", "C1")?.frozenShares, 0)
        XCTAssertEqual(replay.account("T").frozenCash, 0)
        XCTAssertEqual(replay.account("B").frozenCash, 0)
    }

    /// N1's regional rule through the negotiated verbs: a `CROSS` buy beside A's open quote is
    /// `OPEN_OPPOSITE`; once A's sell fills, its `QUOTE` buy and `ACCEPT` are `REBUY` through the
    /// fourth `ROLL` and accepted after the fifth; B cannot sell the shares it just bought
    /// (`HOLDING_PERIOD`) nor buy beside its own open quote.
    func testTheTwoWayRuleHoldsForTheNegotiatedVerbs() {
        check("""
            B01 QUOTE cid=q1 acct=A sym=N1 side=SELL qty=100 px=10.20
            B01 CROSS cid=c1 acct=A sym=N1 side=BUY qty=100 px=10.20 ref=R cp=B02
            B02 ACCEPT cid=a1 acct=B quote=1 qty=100
            B01 QUOTE cid=q2 acct=A sym=N1 side=BUY qty=100 px=10.00
            B02 QUOTE cid=q3 acct=B sym=N1 side=SELL qty=1100 px=10.00
            B02 QUOTE cid=q4 acct=B sym=N1 side=SELL qty=100 px=10.00
            B02 CROSS cid=c2 acct=B sym=N1 side=BUY qty=100 px=10.00 ref=R2 cp=B01
            OPS ROLL date=2026-12-02
            OPS ROLL date=2026-12-03
            OPS ROLL date=2026-12-04
            OPS ROLL date=2026-12-07
            B02 QUOTE cid=q5 acct=B sym=N1 side=SELL qty=100 px=10.00
            B01 ACCEPT cid=a2 acct=A quote=4 qty=100
            OPS ROLL date=2026-12-08
            B02 QUOTE cid=q6 acct=B sym=N1 side=SELL qty=100 px=10.00
            B01 ACCEPT cid=a3 acct=A quote=5 qty=100
            """, """
            B01 ACK seq=1 cid=q1 oid=1 acct=A sym=N1 side=SELL qty=100 px=10.20 tif=DAY type=QUOTE
            * QUOTE sym=N1 mdseq=1 qid=1 side=SELL qty=100 px=10.20 broker=B01
            B01 REJ seq=2 cid=c1 reason=HOLDING_PERIOD detail=OPEN_OPPOSITE
            B02 ACK seq=1 cid=a1 oid=2 acct=B sym=N1 side=BUY qty=100 px=10.20 tif=DAY type=ACCEPT
            B02 FILL seq=2 cid=a1 oid=2 tid=1 px=10.20 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=3 cid=q1 oid=1 tid=1 px=10.20 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=N1 mdseq=2 tid=1 px=10.20 qty=100 kind=QUOTE
            * QUOTE sym=N1 mdseq=3 qid=1 side=SELL qty=0 px=10.20 broker=B01
            B01 REJ seq=4 cid=q2 reason=HOLDING_PERIOD detail=REBUY
            B02 REJ seq=3 cid=q3 reason=HOLDING_PERIOD
            B02 ACK seq=4 cid=q4 oid=3 acct=B sym=N1 side=SELL qty=100 px=10.00 tif=DAY type=QUOTE
            * QUOTE sym=N1 mdseq=4 qid=3 side=SELL qty=100 px=10.00 broker=B02
            B02 REJ seq=5 cid=c2 reason=HOLDING_PERIOD detail=OPEN_OPPOSITE
            OPS OK verb=ROLL date=2026-12-02
            B02 CANCELED seq=6 cid=q4 oid=3 leaves=0 reason=EXPIRED
            * QUOTE sym=N1 mdseq=5 qid=3 side=SELL qty=0 px=10.00 broker=B02
            OPS OK verb=ROLL date=2026-12-03
            OPS OK verb=ROLL date=2026-12-04
            OPS OK verb=ROLL date=2026-12-07
            B02 ACK seq=7 cid=q5 oid=4 acct=B sym=N1 side=SELL qty=100 px=10.00 tif=DAY type=QUOTE
            * QUOTE sym=N1 mdseq=6 qid=4 side=SELL qty=100 px=10.00 broker=B02
            B01 REJ seq=5 cid=a2 reason=HOLDING_PERIOD detail=REBUY
            OPS OK verb=ROLL date=2026-12-08
            B02 CANCELED seq=8 cid=q5 oid=4 leaves=0 reason=EXPIRED
            * QUOTE sym=N1 mdseq=7 qid=4 side=SELL qty=0 px=10.00 broker=B02
            B02 ACK seq=9 cid=q6 oid=5 acct=B sym=N1 side=SELL qty=100 px=10.00 tif=DAY type=QUOTE
            * QUOTE sym=N1 mdseq=8 qid=5 side=SELL qty=100 px=10.00 broker=B02
            B01 ACK seq=6 cid=a3 oid=6 acct=A sym=N1 side=BUY qty=100 px=10.00 tif=DAY type=ACCEPT
            B01 FILL seq=7 cid=a3 oid=6 tid=2 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B02 FILL seq=10 cid=q6 oid=5 tid=2 px=10.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=N1 mdseq=9 tid=2 px=10.00 qty=100 kind=QUOTE
            * QUOTE sym=N1 mdseq=10 qid=5 side=SELL qty=0 px=10.00 broker=B02
            """)
    }

    /// C1's cap is 4 and A and D hold it. U (3 actual holders) does not fit; T (2) fits exactly,
    /// and then no one new fits. When T sells out to D its 2 places are free: still not enough
    /// for U, enough for B.
    func testATrustTakesAsManyPlacesAsItHasHolders() {
        check("""
            B01 QUOTE cid=q1 acct=A sym=C1 side=SELL qty=300 px=10.00
            B03 ACCEPT cid=a1 acct=U quote=1 qty=100
            B03 ACCEPT cid=a2 acct=T quote=1 qty=100
            B02 ACCEPT cid=a3 acct=B quote=1 qty=100
            B03 QUOTE cid=q2 acct=T sym=C1 side=SELL qty=100 px=10.00
            B01 ACCEPT cid=a4 acct=D quote=3 qty=100
            B03 ACCEPT cid=a5 acct=U quote=1 qty=100
            B02 ACCEPT cid=a6 acct=B quote=1 qty=100
            """, """
            B01 ACK seq=1 cid=q1 oid=1 acct=A sym=C1 side=SELL qty=300 px=10.00 tif=DAY type=QUOTE
            * QUOTE sym=C1 mdseq=1 qid=1 side=SELL qty=300 px=10.00 broker=B01
            B03 REJ seq=1 cid=a1 reason=HOLDER_LIMIT
            B03 ACK seq=2 cid=a2 oid=2 acct=T sym=C1 side=BUY qty=100 px=10.00 tif=DAY type=ACCEPT
            B03 FILL seq=3 cid=a2 oid=2 tid=1 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=2 cid=q1 oid=1 tid=1 px=10.00 qty=100 leaves=200 cum=100 liq=MAKER
            * TRADE sym=C1 mdseq=2 tid=1 px=10.00 qty=100 kind=QUOTE
            * QUOTE sym=C1 mdseq=3 qid=1 side=SELL qty=200 px=10.00 broker=B01
            B02 REJ seq=1 cid=a3 reason=HOLDER_LIMIT
            B03 ACK seq=4 cid=q2 oid=3 acct=T sym=C1 side=SELL qty=100 px=10.00 tif=DAY type=QUOTE
            * QUOTE sym=C1 mdseq=4 qid=3 side=SELL qty=100 px=10.00 broker=B03
            B01 ACK seq=3 cid=a4 oid=4 acct=D sym=C1 side=BUY qty=100 px=10.00 tif=DAY type=ACCEPT
            B01 FILL seq=4 cid=a4 oid=4 tid=2 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B03 FILL seq=5 cid=q2 oid=3 tid=2 px=10.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=C1 mdseq=5 tid=2 px=10.00 qty=100 kind=QUOTE
            * QUOTE sym=C1 mdseq=6 qid=3 side=SELL qty=0 px=10.00 broker=B03
            B03 REJ seq=6 cid=a5 reason=HOLDER_LIMIT
            B02 ACK seq=2 cid=a6 oid=5 acct=B sym=C1 side=BUY qty=100 px=10.00 tif=DAY type=ACCEPT
            B02 FILL seq=3 cid=a6 oid=5 tid=3 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=5 cid=q1 oid=1 tid=3 px=10.00 qty=100 leaves=100 cum=200 liq=MAKER
            * TRADE sym=C1 mdseq=7 tid=3 px=10.00 qty=100 kind=QUOTE
            * QUOTE sym=C1 mdseq=8 qid=1 side=SELL qty=100 px=10.00 broker=B01
            """)
        XCTAssertEqual(replay.matcher.ledger.register.holders[1].holders, 3)
    }

    /// The last trade of a negotiated-only instrument sets its next reference price, whatever its
    /// kind; elsewhere only the book's and auctions' do: C1's quote trade at 10.50 after a book
    /// trade at 10.10 leaves the next reference at 10.10.
    func testOnlyANegotiatedInstrumentsTradesSetItsReferencePrice() {
        check("""
            B01 CROSS cid=x1 acct=A sym=N1 side=SELL qty=100 px=10.30 ref=P1 cp=B02
            B02 CROSS cid=y1 acct=B sym=N1 side=BUY qty=100 px=10.30 ref=P1 cp=B01
            B01 NEW cid=s1 acct=A sym=C1 side=SELL qty=100 px=10.10
            B01 NEW cid=b1 acct=D sym=C1 side=BUY qty=100 px=10.10
            B01 QUOTE cid=q1 acct=A sym=C1 side=SELL qty=100 px=10.50
            B03 ACCEPT cid=a1 acct=T quote=5 qty=100
            OPS ROLL date=2026-12-02
            """, """
            B01 ACK seq=1 cid=x1 oid=1 acct=A sym=N1 side=SELL qty=100 px=10.30 tif=DAY type=CROSS
            B02 ACK seq=1 cid=y1 oid=2 acct=B sym=N1 side=BUY qty=100 px=10.30 tif=DAY type=CROSS
            B02 FILL seq=2 cid=y1 oid=2 tid=1 px=10.30 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=2 cid=x1 oid=1 tid=1 px=10.30 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=N1 mdseq=1 tid=1 px=10.30 qty=100 kind=CROSS
            B01 ACK seq=3 cid=s1 oid=3 acct=A sym=C1 side=SELL qty=100 px=10.10 tif=DAY
            B01 ACK seq=4 cid=b1 oid=4 acct=D sym=C1 side=BUY qty=100 px=10.10 tif=DAY
            B01 FILL seq=5 cid=b1 oid=4 tid=2 px=10.10 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=6 cid=s1 oid=3 tid=2 px=10.10 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=C1 mdseq=1 tid=2 px=10.10 qty=100 kind=BOOK
            B01 ACK seq=7 cid=q1 oid=5 acct=A sym=C1 side=SELL qty=100 px=10.50 tif=DAY type=QUOTE
            * QUOTE sym=C1 mdseq=2 qid=5 side=SELL qty=100 px=10.50 broker=B01
            B03 ACK seq=1 cid=a1 oid=6 acct=T sym=C1 side=BUY qty=100 px=10.50 tif=DAY type=ACCEPT
            B03 FILL seq=2 cid=a1 oid=6 tid=3 px=10.50 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=8 cid=q1 oid=5 tid=3 px=10.50 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=C1 mdseq=3 tid=3 px=10.50 qty=100 kind=QUOTE
            * QUOTE sym=C1 mdseq=4 qid=5 side=SELL qty=0 px=10.50 broker=B01
            OPS OK verb=ROLL date=2026-12-02
            """)
        XCTAssertEqual(replay.matcher.instruments[0].referencePrice, 103_000)
        XCTAssertEqual(replay.matcher.instruments[1].referencePrice, 101_000)
    }

    /// A snapshot keeps the quote board and the waiting crosses: restored with a quote half taken,
    /// another whole, and two sides waiting (one of each broker pair), the restored matcher's
    /// digest and snapshot bytes are the live one's, and its future is the same, line for line:
    /// a waiting ref still collides and a waiting side still meets its counterparty (here on
    /// other terms), the quotes can be taken, the crosses completed, and the `ROLL` expires what
    /// is left.
    func testASnapshotKeepsTheBoardAndTheWaitingCrosses() throws {
        _ = replay.run("""
            B01 QUOTE cid=q1 acct=A sym=N1 side=SELL qty=300 px=10.20
            B02 ACCEPT cid=a1 acct=B quote=1 qty=100
            B03 QUOTE cid=q2 acct=T sym=C1 side=BUY qty=200 px=9.95
            B01 CROSS cid=x1 acct=A sym=N1 side=SELL qty=200 px=10.10 ref=R1 cp=B02
            B03 CROSS cid=z1 acct=T sym=N1 side=BUY qty=100 px=10.00 ref=R1 cp=B01
            """)
        XCTAssertEqual(replay.matcher.negotiatedOrders(instrument: 0).map(\.kind), [.quote, .cross, .cross])
        guard let restored = Matcher.restore(replay.matcher.snapshot(), config: Self.config, limits: Self.limits) else {
            return XCTFail("the snapshot does not restore")
        }
        XCTAssertEqual(restored.stateDigest(), replay.matcher.stateDigest())
        XCTAssertEqual(restored.snapshot(), replay.matcher.snapshot())
        var live = Replay(config: Self.config, matcher: restored, clock: replay.clock, recordsTrades: false)
        let after = """
            B01 CROSS cid=x2 acct=D sym=N1 side=SELL qty=100 px=10.10 ref=R1 cp=B02
            B01 CROSS cid=x4 acct=D sym=N1 side=SELL qty=100 px=10.10 ref=R1 cp=B03
            B02 ACCEPT cid=a2 acct=B quote=1 qty=200
            B01 ACCEPT cid=a3 acct=D quote=3 qty=100
            B02 CROSS cid=y1 acct=B sym=N1 side=BUY qty=200 px=10.10 ref=R1 cp=B01
            B01 CROSS cid=x3 acct=A sym=N1 side=SELL qty=100 px=10.00 ref=R1 cp=B03
            OPS ROLL date=2026-12-02
            """
        let expected = replay.run(after)
        XCTAssertEqual(live.run(after), expected)
        XCTAssertEqual(live.matcher.stateDigest(), replay.matcher.stateDigest())
        ReplayChecks.assertLines(ReplayChecks.untimed(expected), """
            B01 REJ seq=4 cid=x2 reason=CROSS_MISMATCH detail=REF_IN_USE
            B01 REJ seq=5 cid=x4 reason=CROSS_MISMATCH
            B02 ACK seq=3 cid=a2 oid=6 acct=B sym=N1 side=BUY qty=200 px=10.20 tif=DAY type=ACCEPT
            B02 FILL seq=4 cid=a2 oid=6 tid=2 px=10.20 qty=200 leaves=0 cum=200 liq=TAKER
            B01 FILL seq=6 cid=q1 oid=1 tid=2 px=10.20 qty=200 leaves=0 cum=300 liq=MAKER
            * TRADE sym=N1 mdseq=4 tid=2 px=10.20 qty=200 kind=QUOTE
            * QUOTE sym=N1 mdseq=5 qid=1 side=SELL qty=0 px=10.20 broker=B01
            B01 ACK seq=7 cid=a3 oid=7 acct=D sym=C1 side=SELL qty=100 px=9.95 tif=DAY type=ACCEPT
            B01 FILL seq=8 cid=a3 oid=7 tid=3 px=9.95 qty=100 leaves=0 cum=100 liq=TAKER
            B03 FILL seq=3 cid=q2 oid=3 tid=3 px=9.95 qty=100 leaves=100 cum=100 liq=MAKER
            * TRADE sym=C1 mdseq=2 tid=3 px=9.95 qty=100 kind=QUOTE
            * QUOTE sym=C1 mdseq=3 qid=3 side=BUY qty=100 px=9.95 broker=B03
            B02 ACK seq=5 cid=y1 oid=8 acct=B sym=N1 side=BUY qty=200 px=10.10 tif=DAY type=CROSS
            B02 FILL seq=6 cid=y1 oid=8 tid=4 px=10.10 qty=200 leaves=0 cum=200 liq=TAKER
            B01 FILL seq=9 cid=x1 oid=4 tid=4 px=10.10 qty=200 leaves=0 cum=200 liq=MAKER
            * TRADE sym=N1 mdseq=6 tid=4 px=10.10 qty=200 kind=CROSS
            B01 ACK seq=10 cid=x3 oid=9 acct=A sym=N1 side=SELL qty=100 px=10.00 tif=DAY type=CROSS
            B01 FILL seq=11 cid=x3 oid=9 tid=5 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B03 FILL seq=4 cid=z1 oid=5 tid=5 px=10.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=N1 mdseq=7 tid=5 px=10.00 qty=100 kind=CROSS
            OPS OK verb=ROLL date=2026-12-02
            B03 CANCELED seq=5 cid=q2 oid=3 leaves=0 reason=EXPIRED
            * QUOTE sym=C1 mdseq=4 qid=3 side=BUY qty=0 px=9.95 broker=B03
            """, file: #filePath, line: #line)
        XCTAssertNil(live.matcher.verify())
    }

    /// `docs/examples/negotiated-day.txt` on the demo market, exactly as the README shows it:
    /// ZJ300155 refuses the book; A1001's quote is taken 400 of 1,000 by the trust T3001 (700
    /// more is above what is open); A2001 and T3001 agree AG20261201 at 5.05 (T3001's first
    /// side at 5.00 is a mismatch and changes nothing); T3001 may not sell what it bought today
    /// (T+5), nor A1001 buy back (REBUY); at the ROLL the rest of the quote expires and the last
    /// trade, the cross at 5.05, becomes the reference.
    func testTheExampleDay() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/examples/negotiated-day.txt"), encoding: .utf8)
        var demo = Replay(config: DemoMarket.config, limits: Self.limits)
        XCTAssertEqual(demo.run(text), """
            B01 REJ seq=1 cid=n1 reason=NOT_PERMITTED detail=NEGOTIATED_ONLY ts=1796054400000000000
            B01 ACK seq=2 cid=q1 oid=1 acct=A1001 sym=ZJ300155 side=SELL qty=1000 px=5.10 tif=DAY type=QUOTE ts=1796054400000000001
            * QUOTE sym=ZJ300155 mdseq=1 qid=1 side=SELL qty=1000 px=5.10 broker=B01 ts=1796054400000000001
            B03 ACK seq=1 cid=a1 oid=2 acct=T3001 sym=ZJ300155 side=BUY qty=400 px=5.10 tif=DAY type=ACCEPT ts=1796054400000000002
            B03 FILL seq=2 cid=a1 oid=2 tid=1 px=5.10 qty=400 leaves=0 cum=400 liq=TAKER ts=1796054400000000002
            B01 FILL seq=3 cid=q1 oid=1 tid=1 px=5.10 qty=400 leaves=600 cum=400 liq=MAKER ts=1796054400000000002
            * TRADE sym=ZJ300155 mdseq=2 tid=1 px=5.10 qty=400 kind=QUOTE ts=1796054400000000002
            * QUOTE sym=ZJ300155 mdseq=3 qid=1 side=SELL qty=600 px=5.10 broker=B01 ts=1796054400000000002
            B03 REJ seq=3 cid=a2 reason=BAD_QTY detail=ABOVE_QUOTE ts=1796054400000000003
            B02 ACK seq=1 cid=x1 oid=3 acct=A2001 sym=ZJ300155 side=SELL qty=500 px=5.05 tif=DAY type=CROSS ts=1796054400000000004
            B03 REJ seq=4 cid=x2 reason=CROSS_MISMATCH ts=1796054400000000005
            B03 ACK seq=5 cid=x3 oid=4 acct=T3001 sym=ZJ300155 side=BUY qty=500 px=5.05 tif=DAY type=CROSS ts=1796054400000000006
            B03 FILL seq=6 cid=x3 oid=4 tid=2 px=5.05 qty=500 leaves=0 cum=500 liq=TAKER ts=1796054400000000006
            B02 FILL seq=2 cid=x1 oid=3 tid=2 px=5.05 qty=500 leaves=0 cum=500 liq=MAKER ts=1796054400000000006
            * TRADE sym=ZJ300155 mdseq=4 tid=2 px=5.05 qty=500 kind=CROSS ts=1796054400000000006
            B03 REJ seq=7 cid=q2 reason=HOLDING_PERIOD ts=1796054400000000007
            B01 REJ seq=4 cid=q3 reason=HOLDING_PERIOD detail=REBUY ts=1796054400000000008
            OPS OK verb=ROLL date=2026-12-02 ts=1796054400000000009
            B01 CANCELED seq=5 cid=q1 oid=1 leaves=0 reason=EXPIRED ts=1796054400000000009
            * QUOTE sym=ZJ300155 mdseq=5 qid=1 side=SELL qty=0 px=5.10 broker=B01 ts=1796054400000000009

            """)
        XCTAssertEqual(demo.matcher.instruments[3].referencePrice, 50_500)
        XCTAssertEqual(demo.position("T3001", "ZJ300155")?.lockedShares, 900)
        XCTAssertEqual(demo.matcher.ledger.register.holders[3].holders, 2 + 3, "A1001, A2001 and the trust's 3")
        XCTAssertNil(demo.matcher.verify())
    }

    /// The bounds: with room for two quotes a day and one waiting cross, the third quote and the
    /// second waiting side are refused `THROTTLED detail=CAPACITY` (with `seq`: the cid is used),
    /// after every other check; a side that completes the waiting one needs no room; a finished
    /// quote still counts for the day, and a `ROLL` makes room again.
    func testFullQuoteAndCrossStorageRefusesWithCapacity() {
        var limits = Self.limits
        limits.quotesPerDayMax = 2
        limits.crossesWaitingMax = 1
        replay = Replay(config: Self.config, limits: limits)
        check("""
            B01 QUOTE cid=q1 acct=A sym=N1 side=SELL qty=100 px=10.00
            B02 ACCEPT cid=a1 acct=B quote=1 qty=100
            B01 QUOTE cid=q2 acct=A sym=N1 side=SELL qty=100 px=10.00
            B01 QUOTE cid=q3 acct=A sym=N1 side=SELL qty=100 px=10.00
            B01 QUOTE cid=q4 acct=A sym=N1 side=SELL qty=100 px=11.50
            B01 CROSS cid=x1 acct=A sym=C1 side=SELL qty=100 px=10.00 ref=R1 cp=B02
            B01 CROSS cid=x2 acct=A sym=C1 side=SELL qty=100 px=10.00 ref=R2 cp=B02
            B02 CROSS cid=y1 acct=B sym=C1 side=BUY qty=100 px=10.00 ref=R1 cp=B01
            OPS ROLL date=2026-12-02
            B01 QUOTE cid=q5 acct=A sym=N1 side=SELL qty=100 px=10.00
            """, """
            B01 ACK seq=1 cid=q1 oid=1 acct=A sym=N1 side=SELL qty=100 px=10.00 tif=DAY type=QUOTE
            * QUOTE sym=N1 mdseq=1 qid=1 side=SELL qty=100 px=10.00 broker=B01
            B02 ACK seq=1 cid=a1 oid=2 acct=B sym=N1 side=BUY qty=100 px=10.00 tif=DAY type=ACCEPT
            B02 FILL seq=2 cid=a1 oid=2 tid=1 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=2 cid=q1 oid=1 tid=1 px=10.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=N1 mdseq=2 tid=1 px=10.00 qty=100 kind=QUOTE
            * QUOTE sym=N1 mdseq=3 qid=1 side=SELL qty=0 px=10.00 broker=B01
            B01 ACK seq=3 cid=q2 oid=3 acct=A sym=N1 side=SELL qty=100 px=10.00 tif=DAY type=QUOTE
            * QUOTE sym=N1 mdseq=4 qid=3 side=SELL qty=100 px=10.00 broker=B01
            B01 REJ seq=4 cid=q3 reason=THROTTLED detail=CAPACITY
            B01 REJ seq=5 cid=q4 reason=PRICE_BAND
            B01 ACK seq=6 cid=x1 oid=4 acct=A sym=C1 side=SELL qty=100 px=10.00 tif=DAY type=CROSS
            B01 REJ seq=7 cid=x2 reason=THROTTLED detail=CAPACITY
            B02 ACK seq=3 cid=y1 oid=5 acct=B sym=C1 side=BUY qty=100 px=10.00 tif=DAY type=CROSS
            B02 FILL seq=4 cid=y1 oid=5 tid=2 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=8 cid=x1 oid=4 tid=2 px=10.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=C1 mdseq=1 tid=2 px=10.00 qty=100 kind=CROSS
            OPS OK verb=ROLL date=2026-12-02
            B01 CANCELED seq=9 cid=q2 oid=3 leaves=0 reason=EXPIRED
            * QUOTE sym=N1 mdseq=5 qid=3 side=SELL qty=0 px=10.00 broker=B01
            B01 ACK seq=10 cid=q5 oid=6 acct=A sym=N1 side=SELL qty=100 px=10.00 tif=DAY type=QUOTE
            * QUOTE sym=N1 mdseq=6 qid=6 side=SELL qty=100 px=10.00 broker=B01
            """)
    }

    /// A broker's session ending with `cancelOnDisconnect` (journaled by the gateway) cancels its
    /// quotes and waiting crosses with its book orders, `reason=ADMIN`: instrument by instrument
    /// in configuration order (N1's cross, then C1's book order and quote), the quote's board line
    /// going to 0; another broker's stay.
    func testADisconnectCancelsTheBrokersQuotesAndCrosses() {
        _ = replay.run("""
            B01 NEW cid=n1 acct=A sym=C1 side=SELL qty=100 px=10.50
            B01 QUOTE cid=q1 acct=A sym=C1 side=SELL qty=100 px=10.40
            B01 CROSS cid=x1 acct=D sym=N1 side=BUY qty=100 px=10.00 ref=R cp=B02
            B02 QUOTE cid=q2 acct=B sym=N1 side=SELL qty=100 px=10.20
            """)
        guard var matcher = Matcher.restore(replay.matcher.snapshot(), config: Self.config, limits: Self.limits) else {
            return XCTFail("the snapshot does not restore")
        }
        var out = EventBuffer()
        matcher.process(Command(kind: .cancelOnDisconnect, broker: 0, ts: replay.clock + 1), into: &out)
        let text = ReplayText(directory: replay.directory)
        var bytes: [UInt8] = []
        for e in out.array { text.append(e, to: &bytes) }
        ReplayChecks.assertLines(ReplayChecks.untimed(String(decoding: bytes, as: UTF8.self)), """
            B01 CANCELED seq=4 cid=x1 oid=3 leaves=0 reason=ADMIN
            B01 CANCELED seq=5 cid=n1 oid=1 leaves=0 reason=ADMIN
            B01 CANCELED seq=6 cid=q1 oid=2 leaves=0 reason=ADMIN
            * QUOTE sym=C1 mdseq=2 qid=2 side=SELL qty=0 px=10.40 broker=B01
            """, file: #filePath, line: #line)
        XCTAssertEqual(matcher.negotiatedOrders(instrument: 0).map(\.oid), [4])
        XCTAssertEqual(matcher.ledger.accounts[Int(replay.directory.account("D"))].frozenCash, 0)
        XCTAssertNil(matcher.verify())
    }

    /// The example day through a data directory, as an operator runs it: the output is the
    /// in-memory replay's; the journal dumps the three verbs back as they were sent; the `ROLL`
    /// writes trades.csv with each trade's kind and instruments.csv counting the trust as 3
    /// holders and 5.05 as the next reference price; `journal verify` agrees.
    func testTheExampleDayThroughADataDirectory() throws {
        let here = URL(fileURLWithPath: #filePath)
        let example = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/examples/negotiated-day.txt").path
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-negotiated-\(getpid())-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let run = try CrashTests.runCuohe(["replay", "--data", data, "--no-prefault", example])
        XCTAssertEqual(run.status, 0, run.stderr)
        var memory = Replay(config: DemoMarket.config, limits: Self.limits)
        XCTAssertEqual(run.stdout, memory.run(try String(contentsOfFile: example, encoding: .utf8)))
        let dump = try CrashTests.runCuohe(["journal", "dump", data])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        for line in ["B03 ACCEPT cid=a1 acct=T3001 quote=1 qty=400",
                     "B02 CROSS cid=x1 acct=A2001 sym=ZJ300155 side=SELL qty=500 px=5.05 ref=AG20261201 cp=B03",
                     "B01 QUOTE cid=q1 acct=A1001 sym=ZJ300155 side=SELL qty=1000 px=5.10"] {
            XCTAssertTrue(dump.stdout.contains(line), "journal dump lacks \(line):\n\(dump.stdout)")
        }
        let day = data + "/eod/2026-12-01/"
        XCTAssertEqual(try String(contentsOfFile: day + "trades.csv", encoding: .utf8), """
            tid,date,ts,sym,px,qty,buyer,buyerBroker,seller,sellerBroker,buyerFee,sellerFee,stampDuty,kind
            1,2026-12-01,1796054400000000002,ZJ300155,5.10,400,T3001,B03,A1001,B01,0.61,0.61,2.04,QUOTE
            2,2026-12-01,1796054400000000006,ZJ300155,5.05,500,T3001,B03,A2001,B02,0.75,0.75,2.52,CROSS

            """)
        let instruments = try String(contentsOfFile: day + "instruments.csv", encoding: .utf8)
        XCTAssertTrue(instruments.hasSuffix("\nZJ300155,2026-12-01,5.00,5.05,2,900,4565.00,5\n"), instruments)
        let verify = try CrashTests.runCuohe(["journal", "verify", data])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.contains("eod_days=1"), verify.stdout)
    }

    /// A snapshot is checked, not trusted: one whose day's quotes list a resting book order's oid
    /// (so an `ACCEPT` of it would trade against the book) is refused, though every other byte is
    /// what the engine wrote.
    func testASnapshotWhoseQuotesNameABookOrderIsRefused() throws {
        _ = replay.run("""
            B01 NEW cid=n1 acct=A sym=C1 side=SELL qty=100 px=10.50
            B01 QUOTE cid=q1 acct=A sym=C1 side=SELL qty=100 px=10.40
            """)
        let bytes = replay.matcher.snapshot()
        func restores(_ bytes: [UInt8]) -> Bool {
            guard let m = Matcher.restore(bytes, config: Self.config, limits: Self.limits) else { return false }
            return m.verify() == nil
        }
        XCTAssertTrue(restores(bytes))
        func section(_ entries: [(oid: Int64, record: Int64)]) -> [UInt8] {
            var out = withUnsafeBytes(of: UInt32(entries.count).littleEndian) { Array($0) }
            for e in entries {
                out += withUnsafeBytes(of: e.oid.littleEndian) { Array($0) } + withUnsafeBytes(of: e.record.littleEndian) { Array($0) }
            }
            return out
        }
        // The quote is oid 2 with cid record 1; the book order oid 1, record 0. The forged list
        // keeps the quote and adds the book order.
        let genuine = section([(2, 1)])
        let at = try XCTUnwrap((0...(bytes.count - genuine.count)).first { Array(bytes[$0..<($0 + genuine.count)]) == genuine })
        var forged = bytes
        forged.replaceSubrange(at..<(at + genuine.count), with: section([(2, 1), (1, 0)]))
        XCTAssertFalse(restores(forged))
    }
}
