import XCTest
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// One test per protocol rule and reject reason, driven through `Replay` exactly as an operator
/// re-running a day would, on the built-in demo market (see `cuohe demo`):
/// ZJ100231 tick 0.01 lot 100 band 10.80–13.20; ZJ100518 band 7.65–9.35; ZJ200077 tick 0.05 lot 1
/// band 2.60–3.80. Accounts A1001, A1002 (broker B01), A2001, A2002 (B02), A3001 (B03); OPS operates.
final class ReplayRulesTests: XCTestCase {
    /// Small capacities: these tests need few orders, and a smaller arena starts faster.
    static let limits = EngineLimits(ordersLiveMax: 4096, cidsPerDayMax: 16384)

    /// Replays `input` on a fresh demo market; output lines with their `ts=` field removed.
    func run(_ input: String, config: MarketConfig = DemoMarket.config) -> [String] {
        var replay = Replay(config: config, limits: ReplayRulesTests.limits)
        return ReplayChecks.untimed(replay.run(input))
    }

    func check(_ input: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        ReplayChecks.assertLines(run(input), expected, file: file, line: line)
    }

    // MARK: - Matching

    func testRestingOrderIsAcknowledged() {
        check("B01 NEW cid=a1 acct=A1001 sym=ZJ100231 side=BUY qty=200 px=12.30", """
            B01 ACK seq=1 cid=a1 oid=1 acct=A1001 sym=ZJ100231 side=BUY qty=200 px=12.30 tif=DAY
            """)
    }

    func testCrossTradesAtRestingPriceWithTakerThenMakerFills() {
        check("""
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.10
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.20
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.10 tif=DAY
            B02 ACK seq=1 cid=b1 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.20 tif=DAY
            B02 FILL seq=2 cid=b1 oid=2 tid=1 px=12.10 qty=200 leaves=0 cum=200 liq=TAKER
            B01 FILL seq=2 cid=s1 oid=1 tid=1 px=12.10 qty=200 leaves=100 cum=200 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.10 qty=200 kind=BOOK
            """)
    }

    func testPriceThenTimePriority() {
        // Two asks at 12.10 (s1 older than s2) and a better one at 12.05: a sweep takes 12.05
        // first, then s1 before s2.
        check("""
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.10
            B02 NEW cid=s2 acct=A2002 sym=ZJ100231 side=SELL qty=100 px=12.10
            B01 NEW cid=s3 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.05
            B03 NEW cid=b1 acct=A3001 sym=ZJ100518 side=BUY qty=100 px=8.00
            B02 NEW cid=b2 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.10
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.10 tif=DAY
            B02 ACK seq=1 cid=s2 oid=2 acct=A2002 sym=ZJ100231 side=SELL qty=100 px=12.10 tif=DAY
            B01 ACK seq=2 cid=s3 oid=3 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.05 tif=DAY
            B03 ACK seq=1 cid=b1 oid=4 acct=A3001 sym=ZJ100518 side=BUY qty=100 px=8.00 tif=DAY
            B02 ACK seq=2 cid=b2 oid=5 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.10 tif=DAY
            B02 FILL seq=3 cid=b2 oid=5 tid=1 px=12.05 qty=100 leaves=200 cum=100 liq=TAKER
            B01 FILL seq=3 cid=s3 oid=3 tid=1 px=12.05 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.05 qty=100 kind=BOOK
            B02 FILL seq=4 cid=b2 oid=5 tid=2 px=12.10 qty=100 leaves=100 cum=200 liq=TAKER
            B01 FILL seq=4 cid=s1 oid=1 tid=2 px=12.10 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=2 tid=2 px=12.10 qty=100 kind=BOOK
            B02 FILL seq=5 cid=b2 oid=5 tid=3 px=12.10 qty=100 leaves=0 cum=300 liq=TAKER
            B02 FILL seq=6 cid=s2 oid=2 tid=3 px=12.10 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=3 tid=3 px=12.10 qty=100 kind=BOOK
            """)
    }

    func testLimitDoesNotTradeThroughItsPrice() {
        check("""
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.20
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.19
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.20 tif=DAY
            B02 ACK seq=1 cid=b1 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.19 tif=DAY
            """)
    }

    func testMarketOrderTradesWithinBandAndCancelsTheRest() {
        check("""
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.50
            B02 NEW cid=m1 acct=A2001 sym=ZJ100231 side=BUY qty=300 type=MARKET
            B02 NEW cid=m2 acct=A2001 sym=ZJ100231 side=SELL qty=100 type=MARKET tif=GTC
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.50 tif=DAY
            B02 ACK seq=1 cid=m1 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=13.20 tif=IOC type=MARKET
            B02 FILL seq=2 cid=m1 oid=2 tid=1 px=12.50 qty=100 leaves=200 cum=100 liq=TAKER
            B01 FILL seq=2 cid=s1 oid=1 tid=1 px=12.50 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.50 qty=100 kind=BOOK
            B02 CANCELED seq=3 cid=m1 oid=2 leaves=0 reason=IOC
            B02 ACK seq=4 cid=m2 oid=3 acct=A2001 sym=ZJ100231 side=SELL qty=100 px=10.80 tif=IOC type=MARKET
            B02 CANCELED seq=5 cid=m2 oid=3 leaves=0 reason=IOC
            """)
    }

    func testIocRemainderIsCanceled() {
        check("""
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00
            B02 NEW cid=i1 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.00 tif=IOC
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00 tif=DAY
            B02 ACK seq=1 cid=i1 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.00 tif=IOC
            B02 FILL seq=2 cid=i1 oid=2 tid=1 px=12.00 qty=100 leaves=100 cum=100 liq=TAKER
            B01 FILL seq=2 cid=s1 oid=1 tid=1 px=12.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.00 qty=100 kind=BOOK
            B02 CANCELED seq=3 cid=i1 oid=2 leaves=0 reason=IOC
            """)
    }

    func testFokFillsCompletelyOrNotAtAll() {
        check("""
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00
            B01 NEW cid=s2 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.10
            B02 NEW cid=f1 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.10 tif=FOK
            B02 NEW cid=f2 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.10 tif=FOK
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00 tif=DAY
            B01 ACK seq=2 cid=s2 oid=2 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.10 tif=DAY
            B02 ACK seq=1 cid=f1 oid=3 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.10 tif=FOK
            B02 CANCELED seq=2 cid=f1 oid=3 leaves=0 reason=FOK
            B02 ACK seq=3 cid=f2 oid=4 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.10 tif=FOK
            B02 FILL seq=4 cid=f2 oid=4 tid=1 px=12.00 qty=100 leaves=100 cum=100 liq=TAKER
            B01 FILL seq=3 cid=s1 oid=1 tid=1 px=12.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.00 qty=100 kind=BOOK
            B02 FILL seq=5 cid=f2 oid=4 tid=2 px=12.10 qty=100 leaves=0 cum=200 liq=TAKER
            B01 FILL seq=4 cid=s2 oid=2 tid=2 px=12.10 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=2 tid=2 px=12.10 qty=100 kind=BOOK
            """)
    }

    func testSelfTradePreventionCancelsTheIncomingRemainder() {
        // A2001's buy takes A1001's ask, then meets its own account's ask (A2001) and stops.
        check("""
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00
            B02 NEW cid=s2 acct=A2001 sym=ZJ100231 side=SELL qty=100 px=12.05
            B01 NEW cid=s3 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.05
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.10
            B02 STATUS cid=s2
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00 tif=DAY
            B02 ACK seq=1 cid=s2 oid=2 acct=A2001 sym=ZJ100231 side=SELL qty=100 px=12.05 tif=DAY
            B01 ACK seq=2 cid=s3 oid=3 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.05 tif=DAY
            B02 ACK seq=2 cid=b1 oid=4 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.10 tif=DAY
            B02 FILL seq=3 cid=b1 oid=4 tid=1 px=12.00 qty=100 leaves=200 cum=100 liq=TAKER
            B01 FILL seq=3 cid=s1 oid=1 tid=1 px=12.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.00 qty=100 kind=BOOK
            B02 CANCELED seq=4 cid=b1 oid=4 leaves=0 reason=SELF_TRADE
            B02 STATUS seq=5 cid=s2 oid=2 state=NEW qty=100 px=12.05 leaves=100 cum=0
            """)
    }

    func testFokBlockedByOwnOrderIsCanceledSelfTrade() {
        check("""
            B02 NEW cid=s1 acct=A2001 sym=ZJ100231 side=SELL qty=100 px=12.00
            B01 NEW cid=s2 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00
            B02 NEW cid=f1 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=FOK
            """, """
            B02 ACK seq=1 cid=s1 oid=1 acct=A2001 sym=ZJ100231 side=SELL qty=100 px=12.00 tif=DAY
            B01 ACK seq=1 cid=s2 oid=2 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00 tif=DAY
            B02 ACK seq=2 cid=f1 oid=3 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=FOK
            B02 CANCELED seq=3 cid=f1 oid=3 leaves=0 reason=SELF_TRADE
            """)
    }

    // MARK: - Cancel, replace, status

    func testCancelAndItsRejections() {
        check("""
            B01 NEW cid=a1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 CANCEL cid=a1
            B01 CANCEL cid=a1
            B01 CANCEL cid=nope
            B02 CANCEL cid=a1
            """, """
            B01 ACK seq=1 cid=a1 oid=1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            B01 CANCELED seq=2 cid=a1 oid=1 leaves=0 reason=USER
            B01 REJ seq=3 cid=a1 reason=ORDER_DONE
            B01 REJ seq=4 cid=nope reason=UNKNOWN_ORDER
            B02 REJ seq=1 cid=a1 reason=UNKNOWN_ORDER
            """)
    }

    func testCancelWorksWhileHaltedButNewAndReplaceDoNot() {
        check("""
            B01 NEW cid=a1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 NEW cid=a2 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            OPS HALT sym=ZJ100231
            B01 NEW cid=a3 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 REPLACE cid=a2 newcid=a4 qty=200
            B01 CANCEL cid=a1
            OPS RESUME sym=ZJ100231
            B01 REPLACE cid=a2 newcid=a4 px=12.01
            """, """
            B01 ACK seq=1 cid=a1 oid=1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            B01 ACK seq=2 cid=a2 oid=2 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            OPS OK verb=HALT sym=ZJ100231
            B01 REJ seq=3 cid=a3 reason=HALTED
            B01 REJ seq=4 cid=a2 reason=HALTED
            B01 CANCELED seq=5 cid=a1 oid=1 leaves=0 reason=USER
            OPS OK verb=RESUME sym=ZJ100231
            B01 REPLACED seq=6 cid=a2 oid=2 newcid=a4 qty=100 px=12.01 leaves=100
            """)
    }

    func testReplaceDownKeepsPriorityUpLosesIt() {
        // b1 and b2 rest at 12.00; b1 shrinks (keeps first place), then b2 grows (goes behind b1
        // anyway); then b1 grows and goes behind b2. A sell sweep shows the queue order.
        check("""
            B01 NEW cid=b1 acct=A1001 sym=ZJ100231 side=BUY qty=300 px=12.00
            B02 NEW cid=b2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 REPLACE cid=b1 newcid=b1x qty=200
            B01 REPLACE cid=b1x newcid=b1y qty=400
            B03 NEW cid=s1 acct=A3001 sym=ZJ100518 side=SELL qty=100 px=9.00
            B02 NEW cid=s2 acct=A2002 sym=ZJ100231 side=SELL qty=200 px=12.00
            """, """
            B01 ACK seq=1 cid=b1 oid=1 acct=A1001 sym=ZJ100231 side=BUY qty=300 px=12.00 tif=DAY
            B02 ACK seq=1 cid=b2 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            B01 REPLACED seq=2 cid=b1 oid=1 newcid=b1x qty=200 px=12.00 leaves=200
            B01 REPLACED seq=3 cid=b1x oid=1 newcid=b1y qty=400 px=12.00 leaves=400
            B03 ACK seq=1 cid=s1 oid=3 acct=A3001 sym=ZJ100518 side=SELL qty=100 px=9.00 tif=DAY
            B02 ACK seq=2 cid=s2 oid=4 acct=A2002 sym=ZJ100231 side=SELL qty=200 px=12.00 tif=DAY
            B02 FILL seq=3 cid=s2 oid=4 tid=1 px=12.00 qty=100 leaves=100 cum=100 liq=TAKER
            B02 FILL seq=4 cid=b2 oid=2 tid=1 px=12.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.00 qty=100 kind=BOOK
            B02 FILL seq=5 cid=s2 oid=4 tid=2 px=12.00 qty=100 leaves=0 cum=200 liq=TAKER
            B01 FILL seq=4 cid=b1y oid=1 tid=2 px=12.00 qty=100 leaves=300 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=2 tid=2 px=12.00 qty=100 kind=BOOK
            """)
    }

    func testReplaceDownKeepsFirstPlace() {
        check("""
            B01 NEW cid=b1 acct=A1001 sym=ZJ100231 side=BUY qty=300 px=12.00
            B02 NEW cid=b2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 REPLACE cid=b1 newcid=b1x qty=100
            B02 NEW cid=s2 acct=A2002 sym=ZJ100231 side=SELL qty=100 px=12.00
            """, """
            B01 ACK seq=1 cid=b1 oid=1 acct=A1001 sym=ZJ100231 side=BUY qty=300 px=12.00 tif=DAY
            B02 ACK seq=1 cid=b2 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            B01 REPLACED seq=2 cid=b1 oid=1 newcid=b1x qty=100 px=12.00 leaves=100
            B02 ACK seq=2 cid=s2 oid=3 acct=A2002 sym=ZJ100231 side=SELL qty=100 px=12.00 tif=DAY
            B02 FILL seq=3 cid=s2 oid=3 tid=1 px=12.00 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=3 cid=b1x oid=1 tid=1 px=12.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.00 qty=100 kind=BOOK
            """)
    }

    func testReplaceToACrossingPriceTradesAtOnce() {
        check("""
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.10
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.00
            B02 REPLACE cid=b1 newcid=b2 px=12.10
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.10 tif=DAY
            B02 ACK seq=1 cid=b1 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.00 tif=DAY
            B02 REPLACED seq=2 cid=b1 oid=2 newcid=b2 qty=300 px=12.10 leaves=300
            B02 FILL seq=3 cid=b2 oid=2 tid=1 px=12.10 qty=100 leaves=200 cum=100 liq=TAKER
            B01 FILL seq=2 cid=s1 oid=1 tid=1 px=12.10 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.10 qty=100 kind=BOOK
            """)
    }

    func testReplaceAtOrBelowFilledCancelsAndLeavesNewcidUnused() {
        check("""
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.00
            B02 REPLACE cid=b1 newcid=b2 qty=100
            B02 NEW cid=b2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=11.00
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00 tif=DAY
            B02 ACK seq=1 cid=b1 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.00 tif=DAY
            B02 FILL seq=2 cid=b1 oid=2 tid=1 px=12.00 qty=100 leaves=200 cum=100 liq=TAKER
            B01 FILL seq=2 cid=s1 oid=1 tid=1 px=12.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.00 qty=100 kind=BOOK
            B02 CANCELED seq=3 cid=b1 oid=2 leaves=0 reason=USER
            B02 ACK seq=4 cid=b2 oid=3 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=11.00 tif=DAY
            """)
    }

    func testReplaceRejections() {
        check("""
            B01 NEW cid=a1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 NEW cid=a2 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 REPLACE cid=a1 newcid=a2 qty=200
            B01 REPLACE cid=a1 newcid=a3 qty=150
            B01 REPLACE cid=a1 newcid=a3 px=12.001
            B01 REPLACE cid=a1 newcid=a3 px=13.50
            B01 REPLACE cid=a1 newcid=a3 qty=0
            B01 REPLACE cid=zz newcid=a3 qty=100
            B01 REPLACE cid=a1 newcid=a3
            B01 REPLACE cid=a1 newcid=a3 qty=200
            B01 REPLACE cid=a1 newcid=a4 qty=300
            B01 STATUS cid=a1
            B01 CANCEL cid=a3
            B01 REPLACE cid=a3 newcid=a5 qty=300
            """, """
            B01 ACK seq=1 cid=a1 oid=1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            B01 ACK seq=2 cid=a2 oid=2 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            B01 REJ seq=3 cid=a1 reason=DUPLICATE_CID
            B01 REJ seq=4 cid=a1 reason=LOT_SIZE
            B01 REJ seq=5 cid=a1 reason=TICK_SIZE
            B01 REJ seq=6 cid=a1 reason=PRICE_BAND
            B01 REJ seq=7 cid=a1 reason=BAD_QTY
            B01 REJ seq=8 cid=zz reason=UNKNOWN_ORDER
            B01 REJ cid=a1 reason=MALFORMED detail=QTY_OR_PX_REQUIRED
            B01 REPLACED seq=9 cid=a1 oid=1 newcid=a3 qty=200 px=12.00 leaves=200
            B01 REJ seq=10 cid=a1 reason=UNKNOWN_ORDER detail=REPLACED
            B01 REJ seq=11 cid=a1 reason=UNKNOWN_ORDER detail=REPLACED
            B01 CANCELED seq=12 cid=a3 oid=1 leaves=0 reason=USER
            B01 REJ seq=13 cid=a3 reason=ORDER_DONE
            """)
    }

    func testStatusStates() {
        check("""
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.00
            B01 STATUS cid=s1
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 STATUS cid=s1
            B02 STATUS cid=b1
            B01 CANCEL cid=s1
            B01 STATUS cid=s1
            B01 STATUS cid=none
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.00 tif=DAY
            B01 STATUS seq=2 cid=s1 oid=1 state=NEW qty=300 px=12.00 leaves=300 cum=0
            B02 ACK seq=1 cid=b1 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            B02 FILL seq=2 cid=b1 oid=2 tid=1 px=12.00 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=3 cid=s1 oid=1 tid=1 px=12.00 qty=100 leaves=200 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.00 qty=100 kind=BOOK
            B01 STATUS seq=4 cid=s1 oid=1 state=PARTIAL qty=300 px=12.00 leaves=200 cum=100
            B02 STATUS seq=3 cid=b1 oid=2 state=FILLED qty=100 px=12.00 leaves=0 cum=100
            B01 CANCELED seq=5 cid=s1 oid=1 leaves=0 reason=USER
            B01 STATUS seq=6 cid=s1 oid=1 state=CANCELED qty=300 px=12.00 leaves=0 cum=100
            B01 REJ seq=7 cid=none reason=UNKNOWN_ORDER
            """)
    }

    // MARK: - Reject reasons of NEW

    func testEveryNewRejectReason() {
        check("""
            B01 NEW cid=r1 acct=A1001 sym=XX999999 side=BUY qty=100 px=12.00
            B01 NEW cid=r2 acct=NOBODY sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 NEW cid=r3 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 NEW cid=r4 acct=A1001 sym=ZJ100231 side=BUY qty=0 px=12.00
            B01 NEW cid=r5 acct=A1001 sym=ZJ100231 side=BUY qty=abc px=12.00
            B01 NEW cid=r6 acct=A1001 sym=ZJ100231 side=BUY qty=1000000000100 px=12.00
            B01 NEW cid=r7 acct=A1001 sym=ZJ100231 side=BUY qty=150 px=12.00
            B01 NEW cid=r8 acct=A1001 sym=ZJ100231 side=BUY qty=100
            B01 NEW cid=r9 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=0
            B01 NEW cid=r10 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=1.2.3
            B01 NEW cid=r11 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00001
            B01 NEW cid=r12 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.005
            B01 NEW cid=r13 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=13.21
            B01 NEW cid=r14 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=10.79
            B01 NEW cid=r15 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12 type=MARKET
            B01 NEW cid=r16 acct=A1001 sym=ZJ200077 side=BUY qty=7 px=3.22
            B01 NEW cid=r1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            """, """
            B01 REJ seq=1 cid=r1 reason=UNKNOWN_SYMBOL
            B01 REJ seq=2 cid=r2 reason=UNKNOWN_ACCOUNT
            B01 REJ seq=3 cid=r3 reason=NOT_YOUR_ACCOUNT
            B01 REJ seq=4 cid=r4 reason=BAD_QTY
            B01 REJ seq=5 cid=r5 reason=BAD_QTY
            B01 REJ seq=6 cid=r6 reason=BAD_QTY
            B01 REJ seq=7 cid=r7 reason=LOT_SIZE
            B01 REJ seq=8 cid=r8 reason=BAD_PRICE detail=PX_REQUIRED
            B01 REJ seq=9 cid=r9 reason=BAD_PRICE detail=ZERO
            B01 REJ seq=10 cid=r10 reason=BAD_PRICE
            B01 REJ seq=11 cid=r11 reason=BAD_PRICE
            B01 REJ seq=12 cid=r12 reason=TICK_SIZE
            B01 REJ seq=13 cid=r13 reason=PRICE_BAND
            B01 REJ seq=14 cid=r14 reason=PRICE_BAND
            B01 REJ seq=15 cid=r15 reason=BAD_PRICE detail=MARKET_TAKES_NO_PX
            B01 REJ seq=16 cid=r16 reason=TICK_SIZE
            B01 REJ seq=17 cid=r1 reason=DUPLICATE_CID
            """)
    }

    func testBandEdgesAreInsideTheBand() {
        // ZJ200077 starts the day CLOSED (its schedule opens it): opened by hand here.
        check("""
            B01 NEW cid=a1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=10.80
            B01 NEW cid=a2 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=13.20
            OPS PHASE sym=ZJ200077 phase=OPEN
            B01 NEW cid=a3 acct=A1001 sym=ZJ200077 side=BUY qty=7 px=2.60
            """, """
            B01 ACK seq=1 cid=a1 oid=1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=10.80 tif=DAY
            B01 ACK seq=2 cid=a2 oid=2 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=13.20 tif=DAY
            OPS OK verb=PHASE sym=ZJ200077 phase=OPEN
            B01 ACK seq=3 cid=a3 oid=3 acct=A1001 sym=ZJ200077 side=BUY qty=7 px=2.60 tif=DAY
            """)
    }

    func testClosedRefusesOrdersAuctionRefusesOnlyWhatCannotWaitAndClosedExpiresDayOrders() {
        check("""
            B01 NEW cid=d1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 NEW cid=g1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=11.90 tif=GTC
            B01 NEW cid=d2 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.50
            OPS PHASE sym=ZJ100231 phase=CLOSED
            B01 NEW cid=n1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 STATUS cid=g1
            OPS PHASE sym=ZJ100231 phase=AUCTION
            B01 NEW cid=n2 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=IOC
            OPS PHASE sym=ZJ100231 phase=OPEN
            B01 NEW cid=n3 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            OPS PHASE sym=ZJ100231 phase=LUNCH
            """, """
            B01 ACK seq=1 cid=d1 oid=1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            B01 ACK seq=2 cid=g1 oid=2 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=11.90 tif=GTC
            B01 ACK seq=3 cid=d2 oid=3 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.50 tif=DAY
            OPS OK verb=PHASE sym=ZJ100231 phase=CLOSED
            B01 CANCELED seq=4 cid=d1 oid=1 leaves=0 reason=EXPIRED
            B01 CANCELED seq=5 cid=d2 oid=3 leaves=0 reason=EXPIRED
            B01 REJ seq=6 cid=n1 reason=MARKET_CLOSED
            B01 STATUS seq=7 cid=g1 oid=2 state=NEW qty=100 px=11.90 leaves=100 cum=0
            OPS OK verb=PHASE sym=ZJ100231 phase=AUCTION
            B01 REJ seq=8 cid=n2 reason=MARKET_CLOSED detail=AUCTION
            OPS OK verb=PHASE sym=ZJ100231 phase=OPEN
            B01 ACK seq=9 cid=n3 oid=4 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            OPS REJ reason=MALFORMED detail=BAD_PHASE
            """)
    }

    func testOperatorVerbsNeedTheOperatorRole() {
        check("""
            B01 HALT sym=ZJ100231
            B01 ROLL date=2026-12-02
            B01 STATS
            OPS HALT sym=NOPE
            OPS ROLL date=2026-12-01
            OPS ROLL date=2026-11-30
            OPS ROLL date=2026-13-01
            """, """
            B01 REJ reason=NOT_PERMITTED
            B01 REJ reason=NOT_PERMITTED
            B01 REJ reason=NOT_PERMITTED
            OPS REJ reason=UNKNOWN_SYMBOL
            OPS REJ reason=MALFORMED detail=DATE_NOT_AFTER_CURRENT
            OPS REJ reason=MALFORMED detail=DATE_NOT_AFTER_CURRENT
            OPS REJ reason=MALFORMED detail=BAD_DATE
            """)
    }

    func testRollExpiresDayOrdersMovesReferenceAndFreesCids() {
        // A trade at 13.00 makes 13.00 the next reference: the band becomes 11.70–14.30, so the GTC
        // bid at 11.00 (outside) expires while the GTC bid at 12.00 survives with its cid reserved.
        check("""
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=13.00
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=13.00
            B02 NEW cid=g1 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=GTC
            B02 NEW cid=g2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=11.00 tif=GTC
            B02 NEW cid=d1 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=11.50
            OPS ROLL date=2026-12-02
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=14.30
            B02 NEW cid=g1 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B02 NEW cid=x1 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=14.31
            B02 STATUS cid=g1
            B02 STATUS cid=d1
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=13.00 tif=DAY
            B02 ACK seq=1 cid=b1 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=13.00 tif=DAY
            B02 FILL seq=2 cid=b1 oid=2 tid=1 px=13.00 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=2 cid=s1 oid=1 tid=1 px=13.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=13.00 qty=100 kind=BOOK
            B02 ACK seq=3 cid=g1 oid=3 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=GTC
            B02 ACK seq=4 cid=g2 oid=4 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=11.00 tif=GTC
            B02 ACK seq=5 cid=d1 oid=5 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=11.50 tif=DAY
            OPS OK verb=ROLL date=2026-12-02
            B02 CANCELED seq=6 cid=d1 oid=5 leaves=0 reason=EXPIRED
            B02 CANCELED seq=7 cid=g2 oid=4 leaves=0 reason=EXPIRED
            B02 ACK seq=8 cid=b1 oid=6 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=14.30 tif=DAY
            B02 REJ seq=9 cid=g1 reason=DUPLICATE_CID
            B02 REJ seq=10 cid=x1 reason=PRICE_BAND
            B02 STATUS seq=11 cid=g1 oid=3 state=NEW qty=100 px=12.00 leaves=100 cum=0
            B02 REJ seq=12 cid=d1 reason=UNKNOWN_ORDER
            """)
    }

    func testStatsCountsCommands() {
        check("""
            B01 NEW cid=a1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 NEW cid=a1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            OPS STATS
            """, """
            B01 ACK seq=1 cid=a1 oid=1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            B01 REJ seq=2 cid=a1 reason=DUPLICATE_CID
            OPS STATS commands=3 orders=1 trades=0 resting=1 rejects=1
            """)
    }

    // MARK: - Lines and edge rejections

    func testEdgeRejectionsCarryNoSeqAndUseNoCid() {
        let long = "B01 NEW cid=l1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 " + String(repeating: "x", count: 1000)
        check("""
            B01 FOO cid=f1
            B01 NEW cid=m1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 colour=red
            B01 NEW cid=m1 acct=A1001 sym=ZJ100231 side=BUY qty=100 qty=200 px=12.00
            B01 NEW cid=m1 acct=A1001 sym=ZJ100231 side=HOLD qty=100 px=12.00
            B01 NEW cid=m1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=GTD
            B01 NEW cid=m1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=
            B01 NEW cid=m1 acct=A1001 sym=ZJ100231  side=BUY qty=100 px=12.00
            B01 NEW cid=bad!cid acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 NEW cid=m1 acct=A1001 side=BUY qty=100 px=12.00
            \(long)
            # a comment line

            B01 NEW cid=m1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00   
            B01 new cid=m2
            NOBODY NEW cid=m3 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            """, """
            B01 REJ cid=f1 reason=UNKNOWN_VERB
            B01 REJ cid=m1 reason=MALFORMED detail=UNKNOWN_KEY_COLOUR
            B01 REJ cid=m1 reason=MALFORMED detail=DUPLICATE_KEY
            B01 REJ cid=m1 reason=MALFORMED detail=BAD_SIDE
            B01 REJ cid=m1 reason=MALFORMED detail=BAD_TIF
            B01 REJ cid=m1 reason=MALFORMED detail=EMPTY_VALUE
            B01 REJ cid=m1 reason=MALFORMED detail=FIELD_WITHOUT_VALUE
            B01 REJ reason=MALFORMED detail=BAD_CID
            B01 REJ cid=m1 reason=MALFORMED detail=MISSING_SYM
            B01 REJ reason=LINE_TOO_LONG
            B01 ACK seq=1 cid=m1 oid=1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY
            B01 REJ cid=m2 reason=UNKNOWN_VERB
            NOBODY REJ reason=AUTH detail=UNKNOWN_BROKER
            """)
    }

    func testLineOfExactly1024BytesIsTooLongAnd1023Fits() {
        // 1023 bytes of content + the terminator is the most a line may be.
        let head = "NEW cid=k1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00"
        let fits = head + String(repeating: " ", count: 0)
        XCTAssertLessThan(fits.utf8.count, 1023)
        let parser = LineParser(directory: Directory(config: DemoMarket.config))
        let pad = String(repeating: "9", count: 1023 - "STATUS cid=".utf8.count)
        if case .reject(let reason, _, _) = parser.parse("STATUS cid=" + pad, broker: 0) {
            XCTAssertEqual(reason, .malformed)  // 1023 bytes: accepted as a line, but the cid is too long
        } else {
            XCTFail("a 1023-byte line must be parsed")
        }
        if case .reject(let reason, _, _) = parser.parse("STATUS cid=" + pad + "9", broker: 0) {
            XCTAssertEqual(reason, .lineTooLong)
        } else {
            XCTFail("a 1024-byte line must be LINE_TOO_LONG")
        }
    }

    func testSeqIsGapFreePerBroker() {
        let lines = run("""
            B01 NEW cid=a1 acct=A1001 sym=ZJ100231 side=SELL qty=500 px=12.00
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 NEW cid=a1 acct=A1001 sym=ZJ100231 side=SELL qty=500 px=12.00
            B01 FOO
            B02 NEW cid=b2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 STATUS cid=a1
            OPS HALT sym=ZJ100231
            B02 CANCEL cid=zz
            """)
        var last: [String: Int] = [:]
        for line in lines where line.contains(" seq=") {
            let broker = String(line.split(separator: " ")[0])
            let seq = Int(line.split(separator: " ").first { $0.hasPrefix("seq=") }!.dropFirst(4))!
            XCTAssertEqual(seq, (last[broker] ?? 0) + 1, "gap in \(broker)'s seq at: \(line)")
            last[broker] = seq
        }
        XCTAssertEqual(last["B01"], 5)
        XCTAssertEqual(last["B02"], 5)
    }

    // MARK: - Replay's clock and determinism

    /// The demo market is in +08:00: its day starts at local midnight, and ZJ200077's 09:15 and
    /// 09:25 entries are carried out, stamped with their times, before the first command after them.
    func testClockStartsAtLocalMidnightAdvancesObeysStampsAndCarriesOutTheSchedule() {
        var replay = Replay(config: DemoMarket.config, limits: ReplayRulesTests.limits)
        let out = replay.run("""
            B01 NEW cid=a1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00
            B01 STATUS cid=a1
            @1796090000000000000 B01 STATUS cid=a1
            B01 STATUS cid=a1
            OPS ROLL date=2026-12-03
            B01 STATUS cid=a1
            @abc B01 STATUS cid=a1
            """)
        let hours8: Int64 = 8 * 3_600 * 1_000_000_000
        let midnight = CivilDate(iso: "2026-12-01")!.midnightNanos - hours8
        let next = CivilDate(iso: "2026-12-03")!.midnightNanos - hours8
        let minute: Int64 = 60 * 1_000_000_000
        let stamps = out.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("ts=") }.map { Int64($0.dropFirst(3))! }
        }
        XCTAssertEqual(stamps, [midnight, midnight + 1, midnight + (9 * 60 + 15) * minute, midnight + (9 * 60 + 25) * minute,
                                1_796_090_000_000_000_000, 1_796_090_000_000_000_001,
                                1_796_090_000_000_000_002, 1_796_090_000_000_000_002, next])
        XCTAssertTrue(out.hasSuffix("- REJ reason=MALFORMED detail=BAD_TIMESTAMP\n"), out)
    }

    func testSameInputGivesByteIdenticalOutput() {
        var rng: UInt64 = 7
        func next(_ n: Int) -> Int {
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((rng >> 33) % UInt64(n))
        }
        var lines: [String] = []
        let accounts = [("B01", "A1001"), ("B01", "A1002"), ("B02", "A2001"), ("B02", "A2002"), ("B03", "A3001")]
        for i in 0..<3000 {
            let (broker, acct) = accounts[next(accounts.count)]
            switch next(10) {
            case 0..<6:
                let px = 1150 + next(100)
                lines.append("\(broker) NEW cid=c\(i) acct=\(acct) sym=ZJ100231 side=\(next(2) == 0 ? "BUY" : "SELL") qty=\((1 + next(5)) * 100) px=\(px / 100).\(String(format: "%02d", px % 100))\(next(8) == 0 ? " tif=IOC" : "")")
            case 6..<8: lines.append("\(broker) CANCEL cid=c\(next(i + 1))")
            case 8: lines.append("\(broker) REPLACE cid=c\(next(i + 1)) newcid=r\(i) qty=\((1 + next(5)) * 100)")
            default: lines.append("\(broker) STATUS cid=c\(next(i + 1))")
            }
        }
        let input = lines.joined(separator: "\n")
        var first = Replay(config: DemoMarket.config, limits: ReplayRulesTests.limits)
        var second = Replay(config: DemoMarket.config, limits: ReplayRulesTests.limits)
        let a = first.run(input)
        let b = second.run(input)
        XCTAssertEqual(a, b)
        XCTAssertEqual(first.matcher.stateDigest(), second.matcher.stateDigest())
        XCTAssertNil(first.matcher.verify())
        XCTAssertGreaterThan(a.components(separatedBy: "* TRADE").count, 50, "the stream should trade")
    }
}
