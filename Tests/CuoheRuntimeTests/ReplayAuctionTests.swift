import XCTest
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// The call auction through `Replay`, on the demo market (ZJ100231: tick 0.01, lot 100, reference
/// 12.00, band 10.80–13.20, fees 3 bps a side and 10 bps stamp duty). Each expected output was
/// worked out by hand from the protocol's rules (the comments give the arithmetic); `* IOP` lines
/// are replay's view of the `iop`/`iov` a `BOOK` carries.
final class ReplayAuctionTests: XCTestCase {
    static let limits = EngineLimits(ordersLiveMax: 4096, cidsPerDayMax: 16384)
    var replay = Replay(config: DemoMarket.config, limits: ReplayAuctionTests.limits)

    override func setUp() { replay = Replay(config: DemoMarket.config, limits: ReplayAuctionTests.limits) }

    func check(_ input: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        ReplayChecks.assertLines(ReplayChecks.untimed(replay.run(input)), expected, file: file, line: line)
        XCTAssertNil(replay.matcher.verify(), file: file, line: line)
    }

    func account(_ name: String) -> AccountBalance { replay.account(name) }

    func position(_ name: String, _ sym: String) -> Position? { replay.position(name, sym) }

    /// Rule 1: the largest volume. 12.40–12.50 clears 200 shares, anything nearer the reference
    /// (12.00) only 100, so the uncross is at 12.40 (the nearest of the tied 200-share prices, all
    /// with imbalance 300). The first picture shows rule 2 at work: with 100 shares everywhere from
    /// 12.00 to 12.50, the imbalance is 400 up to 12.20 and 100 above it, so 12.21, not 12.00.
    /// The best buy meets the best sell, again and again, at the one price.
    func testVolumeDecidesBeforeTheReferencePrice() {
        check("""
            OPS PHASE sym=ZJ100231 phase=AUCTION
            B01 NEW cid=x acct=A1002 sym=ZJ100231 side=BUY qty=200 px=12.50
            B02 NEW cid=y acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.20
            B02 NEW cid=z acct=A2002 sym=ZJ100231 side=SELL qty=100 px=12.00
            B01 NEW cid=w acct=A1001 sym=ZJ100231 side=SELL qty=400 px=12.40
            OPS PHASE sym=ZJ100231 phase=OPEN
            """, """
            OPS OK verb=PHASE sym=ZJ100231 phase=AUCTION
            B01 ACK seq=1 cid=x oid=1 acct=A1002 sym=ZJ100231 side=BUY qty=200 px=12.50 tif=DAY
            B02 ACK seq=1 cid=y oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=300 px=12.20 tif=DAY
            B02 ACK seq=2 cid=z oid=3 acct=A2002 sym=ZJ100231 side=SELL qty=100 px=12.00 tif=DAY
            * IOP sym=ZJ100231 iop=12.21 iov=100
            B01 ACK seq=2 cid=w oid=4 acct=A1001 sym=ZJ100231 side=SELL qty=400 px=12.40 tif=DAY
            * IOP sym=ZJ100231 iop=12.40 iov=200
            OPS OK verb=PHASE sym=ZJ100231 phase=OPEN
            B01 FILL seq=3 cid=x oid=1 tid=1 px=12.40 qty=100 leaves=100 cum=100 liq=AUCTION
            B02 FILL seq=3 cid=z oid=3 tid=1 px=12.40 qty=100 leaves=0 cum=100 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.40 qty=100 kind=AUCTION
            B01 FILL seq=4 cid=x oid=1 tid=2 px=12.40 qty=100 leaves=0 cum=200 liq=AUCTION
            B01 FILL seq=5 cid=w oid=4 tid=2 px=12.40 qty=100 leaves=300 cum=100 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=2 tid=2 px=12.40 qty=100 kind=AUCTION
            """)
    }

    /// Rule 2: 300 shares clear anywhere from 11.90 to 12.30; the imbalance is 200 up to 12.10
    /// (the 12.10 bid is left over) and 0 above it, so 12.11, though 12.00 is the reference.
    func testImbalanceDecidesBeforeTheReferencePrice() {
        check("""
            OPS PHASE sym=ZJ100231 phase=AUCTION
            B01 NEW cid=b1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.30
            B02 NEW cid=b2 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.10
            B02 NEW cid=s1 acct=A2002 sym=ZJ100231 side=SELL qty=300 px=11.90
            OPS PHASE sym=ZJ100231 phase=OPEN
            """, """
            OPS OK verb=PHASE sym=ZJ100231 phase=AUCTION
            B01 ACK seq=1 cid=b1 oid=1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.30 tif=DAY
            B02 ACK seq=1 cid=b2 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.10 tif=DAY
            B02 ACK seq=2 cid=s1 oid=3 acct=A2002 sym=ZJ100231 side=SELL qty=300 px=11.90 tif=DAY
            * IOP sym=ZJ100231 iop=12.11 iov=300
            OPS OK verb=PHASE sym=ZJ100231 phase=OPEN
            B01 FILL seq=2 cid=b1 oid=1 tid=1 px=12.11 qty=300 leaves=0 cum=300 liq=AUCTION
            B02 FILL seq=3 cid=s1 oid=3 tid=1 px=12.11 qty=300 leaves=0 cum=300 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.11 qty=300 kind=AUCTION
            """)
    }

    /// Three buys and four sells; 900 shares clear only at 12.10. Five pairings, partial fills
    /// on both sides, every trade at 12.10; what is left (a 12.10 bid, a 12.30 ask) does not cross.
    /// The indicative price moves with each order: 12.11 (imbalance), 12.00 (volume 700), 12.10.
    func testAnUncrossWithManyPartialFillsOnBothSides() {
        check("""
            OPS PHASE sym=ZJ100231 phase=AUCTION
            B01 NEW cid=b1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.30
            B02 NEW cid=b2 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.20
            B03 NEW cid=b3 acct=A3001 sym=ZJ100231 side=BUY qty=500 px=12.10
            B02 NEW cid=s1 acct=A2002 sym=ZJ100231 side=SELL qty=400 px=11.90
            B01 NEW cid=s2 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.00
            B02 NEW cid=s3 acct=A2002 sym=ZJ100231 side=SELL qty=200 px=12.10
            B01 NEW cid=s4 acct=A1001 sym=ZJ100231 side=SELL qty=400 px=12.30
            OPS PHASE sym=ZJ100231 phase=OPEN
            """, """
            OPS OK verb=PHASE sym=ZJ100231 phase=AUCTION
            B01 ACK seq=1 cid=b1 oid=1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.30 tif=DAY
            B02 ACK seq=1 cid=b2 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.20 tif=DAY
            B03 ACK seq=1 cid=b3 oid=3 acct=A3001 sym=ZJ100231 side=BUY qty=500 px=12.10 tif=DAY
            B02 ACK seq=2 cid=s1 oid=4 acct=A2002 sym=ZJ100231 side=SELL qty=400 px=11.90 tif=DAY
            * IOP sym=ZJ100231 iop=12.11 iov=400
            B01 ACK seq=2 cid=s2 oid=5 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.00 tif=DAY
            * IOP sym=ZJ100231 iop=12.00 iov=700
            B02 ACK seq=3 cid=s3 oid=6 acct=A2002 sym=ZJ100231 side=SELL qty=200 px=12.10 tif=DAY
            * IOP sym=ZJ100231 iop=12.10 iov=900
            B01 ACK seq=3 cid=s4 oid=7 acct=A1001 sym=ZJ100231 side=SELL qty=400 px=12.30 tif=DAY
            OPS OK verb=PHASE sym=ZJ100231 phase=OPEN
            B01 FILL seq=4 cid=b1 oid=1 tid=1 px=12.10 qty=300 leaves=0 cum=300 liq=AUCTION
            B02 FILL seq=4 cid=s1 oid=4 tid=1 px=12.10 qty=300 leaves=100 cum=300 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.10 qty=300 kind=AUCTION
            B02 FILL seq=5 cid=b2 oid=2 tid=2 px=12.10 qty=100 leaves=100 cum=100 liq=AUCTION
            B02 FILL seq=6 cid=s1 oid=4 tid=2 px=12.10 qty=100 leaves=0 cum=400 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=2 tid=2 px=12.10 qty=100 kind=AUCTION
            B02 FILL seq=7 cid=b2 oid=2 tid=3 px=12.10 qty=100 leaves=0 cum=200 liq=AUCTION
            B01 FILL seq=5 cid=s2 oid=5 tid=3 px=12.10 qty=100 leaves=200 cum=100 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=3 tid=3 px=12.10 qty=100 kind=AUCTION
            B03 FILL seq=2 cid=b3 oid=3 tid=4 px=12.10 qty=200 leaves=300 cum=200 liq=AUCTION
            B01 FILL seq=6 cid=s2 oid=5 tid=4 px=12.10 qty=200 leaves=0 cum=300 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=4 tid=4 px=12.10 qty=200 kind=AUCTION
            B03 FILL seq=3 cid=b3 oid=3 tid=5 px=12.10 qty=200 leaves=100 cum=400 liq=AUCTION
            B02 FILL seq=8 cid=s3 oid=6 tid=5 px=12.10 qty=200 leaves=0 cum=200 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=5 tid=5 px=12.10 qty=200 kind=AUCTION
            """)
        // Cash frozen at the limit returns the difference: A1002 froze 300 × 12.30 + fee 1.10 and paid
        // 300 × 12.10 + fee 1.08. A3001 bought 400 in two fills (fee 0.72 each) and keeps 100 open.
        XCTAssertEqual(account("A1002").cash, 796_368_9200)
        XCTAssertEqual(account("A1002").frozenCash, 0)
        XCTAssertEqual(position("A1002", "ZJ100231")?.shares, 300)
        XCTAssertEqual(account("A3001").cash, 995_158_5600)
        XCTAssertEqual(account("A3001").frozenCash, 6_051_8100 - 4_841_4400)
        XCTAssertEqual(replay.matcher.bestBid(instrument: 0), 12_1000)
        XCTAssertEqual(replay.matcher.bestAsk(instrument: 0), 12_3000)
    }

    /// The best buy and best sell are A1001's own: no trade. Both lose the smaller one's 100
    /// shares, as a trade would take them: the sell is canceled SELF_TRADE, the buy reduced to 200
    /// (REPLACED, same cid, reason=SELF_TRADE), and the uncross goes on at its one price.
    func testAnAccountNeverTradesWithItselfInAnUncross() {
        check("""
            OPS PHASE sym=ZJ100231 phase=AUCTION
            B01 NEW cid=b acct=A1001 sym=ZJ100231 side=BUY qty=300 px=12.20
            B01 NEW cid=s acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00
            B02 NEW cid=t acct=A2001 sym=ZJ100231 side=SELL qty=200 px=12.10
            OPS PHASE sym=ZJ100231 phase=OPEN
            B01 STATUS cid=b
            """, """
            OPS OK verb=PHASE sym=ZJ100231 phase=AUCTION
            B01 ACK seq=1 cid=b oid=1 acct=A1001 sym=ZJ100231 side=BUY qty=300 px=12.20 tif=DAY
            B01 ACK seq=2 cid=s oid=2 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.00 tif=DAY
            * IOP sym=ZJ100231 iop=12.00 iov=100
            B02 ACK seq=1 cid=t oid=3 acct=A2001 sym=ZJ100231 side=SELL qty=200 px=12.10 tif=DAY
            * IOP sym=ZJ100231 iop=12.10 iov=300
            OPS OK verb=PHASE sym=ZJ100231 phase=OPEN
            B01 REPLACED seq=3 cid=b oid=1 newcid=b qty=200 px=12.20 leaves=200 reason=SELF_TRADE
            B01 CANCELED seq=4 cid=s oid=2 leaves=0 reason=SELF_TRADE
            B01 FILL seq=5 cid=b oid=1 tid=1 px=12.10 qty=200 leaves=0 cum=200 liq=AUCTION
            B02 FILL seq=2 cid=t oid=3 tid=1 px=12.10 qty=200 leaves=0 cum=200 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.10 qty=200 kind=AUCTION
            B01 STATUS seq=6 cid=b oid=1 state=FILLED qty=200 px=12.20 leaves=0 cum=200
            """)
        // No shares moved from A1001 to itself; its buy paid 200 × 12.10 + fee 0.72 and its sell's
        // shares are free again.
        XCTAssertEqual(account("A1001").cash, 997_579_2800)
        XCTAssertEqual(account("A1001").frozenCash, 0)
        XCTAssertEqual(account("A1001").openBuyValue, 0)
        XCTAssertEqual(position("A1001", "ZJ100231")?.shares, 5_200)
        XCTAssertEqual(position("A1001", "ZJ100231")?.frozenShares, 0)
    }

    /// A book that does not cross: no indicative price, and leaving the auction trades nothing.
    func testAnUncrossWithNothingToTradeChangesNothing() {
        check("""
            OPS PHASE sym=ZJ100231 phase=AUCTION
            B01 NEW cid=b1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.00
            B02 NEW cid=s1 acct=A2002 sym=ZJ100231 side=SELL qty=300 px=12.10
            OPS PHASE sym=ZJ100231 phase=OPEN
            B01 STATUS cid=b1
            """, """
            OPS OK verb=PHASE sym=ZJ100231 phase=AUCTION
            B01 ACK seq=1 cid=b1 oid=1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.00 tif=DAY
            B02 ACK seq=1 cid=s1 oid=2 acct=A2002 sym=ZJ100231 side=SELL qty=300 px=12.10 tif=DAY
            OPS OK verb=PHASE sym=ZJ100231 phase=OPEN
            B01 STATUS seq=2 cid=b1 oid=1 state=NEW qty=300 px=12.00 leaves=300 cum=0
            """)
        XCTAssertEqual(replay.matcher.bestBid(instrument: 0), 12_0000)
        XCTAssertEqual(replay.matcher.bestAsk(instrument: 0), 12_1000)
    }

    /// Collecting: a replace never trades (it crosses, and only the indicative price moves), a
    /// quantity down moves it again, MARKET/IOC/FOK are refused MARKET_CLOSED detail=AUCTION,
    /// STATUS works, a cancel clears it, a ROLL keeps the GTC order and the auction, a new sell
    /// sets it again, PHASE AUCTION again changes nothing, OPEN uncrosses; then the book is open.
    func testTheIndicativePriceFollowsEveryKindOfChange() {
        check("""
            OPS PHASE sym=ZJ100231 phase=AUCTION
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.50
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.00 tif=GTC
            B02 REPLACE cid=b1 newcid=b1r px=12.60
            B02 REPLACE cid=b1r newcid=b1s qty=100
            B02 NEW cid=b2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.70 tif=IOC
            B02 NEW cid=b3 acct=A2001 sym=ZJ100231 side=BUY qty=100 type=MARKET
            B01 NEW cid=s2 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.50 tif=FOK
            B01 STATUS cid=s1
            B01 CANCEL cid=s1
            OPS ROLL date=2026-12-02
            B01 NEW cid=s3 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=11.00
            OPS PHASE sym=ZJ100231 phase=AUCTION
            OPS PHASE sym=ZJ100231 phase=OPEN
            B01 NEW cid=s4 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.60
            """, """
            OPS OK verb=PHASE sym=ZJ100231 phase=AUCTION
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.50 tif=DAY
            B02 ACK seq=1 cid=b1 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.00 tif=GTC
            B02 REPLACED seq=2 cid=b1 oid=2 newcid=b1r qty=200 px=12.60 leaves=200
            * IOP sym=ZJ100231 iop=12.50 iov=200
            B02 REPLACED seq=3 cid=b1r oid=2 newcid=b1s qty=100 px=12.60 leaves=100
            * IOP sym=ZJ100231 iop=12.50 iov=100
            B02 REJ seq=4 cid=b2 reason=MARKET_CLOSED detail=AUCTION
            B02 REJ seq=5 cid=b3 reason=MARKET_CLOSED detail=AUCTION
            B01 REJ seq=2 cid=s2 reason=MARKET_CLOSED detail=AUCTION
            B01 STATUS seq=3 cid=s1 oid=1 state=NEW qty=300 px=12.50 leaves=300 cum=0
            B01 CANCELED seq=4 cid=s1 oid=1 leaves=0 reason=USER
            * IOP sym=ZJ100231 iop= iov=
            OPS OK verb=ROLL date=2026-12-02
            B01 ACK seq=5 cid=s3 oid=3 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=11.00 tif=DAY
            * IOP sym=ZJ100231 iop=12.00 iov=100
            OPS OK verb=PHASE sym=ZJ100231 phase=AUCTION
            OPS OK verb=PHASE sym=ZJ100231 phase=OPEN
            B02 FILL seq=6 cid=b1s oid=2 tid=1 px=12.00 qty=100 leaves=0 cum=100 liq=AUCTION
            B01 FILL seq=6 cid=s3 oid=3 tid=1 px=12.00 qty=100 leaves=0 cum=100 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.00 qty=100 kind=AUCTION
            B01 ACK seq=7 cid=s4 oid=4 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.60 tif=DAY
            """)
    }

    /// Halted, the auction's end does not match; RESUME does the uncross before trading resumes,
    /// so the book is never crossed while open.
    func testAnAuctionLeftWhileHaltedUncrossesAtResume() {
        check("""
            OPS PHASE sym=ZJ100231 phase=AUCTION
            B01 NEW cid=b1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.20
            B02 NEW cid=s1 acct=A2002 sym=ZJ100231 side=SELL qty=300 px=12.00
            OPS HALT sym=ZJ100231
            OPS PHASE sym=ZJ100231 phase=OPEN
            B02 NEW cid=s2 acct=A2002 sym=ZJ100231 side=SELL qty=100 px=12.00
            OPS RESUME sym=ZJ100231
            """, """
            OPS OK verb=PHASE sym=ZJ100231 phase=AUCTION
            B01 ACK seq=1 cid=b1 oid=1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.20 tif=DAY
            B02 ACK seq=1 cid=s1 oid=2 acct=A2002 sym=ZJ100231 side=SELL qty=300 px=12.00 tif=DAY
            * IOP sym=ZJ100231 iop=12.00 iov=300
            OPS OK verb=HALT sym=ZJ100231
            OPS OK verb=PHASE sym=ZJ100231 phase=OPEN
            B02 REJ seq=2 cid=s2 reason=HALTED
            OPS OK verb=RESUME sym=ZJ100231
            B01 FILL seq=2 cid=b1 oid=1 tid=1 px=12.00 qty=300 leaves=0 cum=300 liq=AUCTION
            B02 FILL seq=3 cid=s1 oid=2 tid=1 px=12.00 qty=300 leaves=0 cum=300 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.00 qty=300 kind=AUCTION
            """)
    }

    /// PHASE CLOSED from AUCTION: the uncross first, then DAY orders expire; the GTC bid's rest stays.
    func testLeavingTheAuctionForClosedUncrossesThenExpiresDayOrders() {
        check("""
            OPS PHASE sym=ZJ100231 phase=AUCTION
            B01 NEW cid=b1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.20
            B02 NEW cid=b2 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.10 tif=GTC
            B02 NEW cid=s1 acct=A2002 sym=ZJ100231 side=SELL qty=400 px=12.00
            B01 NEW cid=s2 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.40
            OPS PHASE sym=ZJ100231 phase=CLOSED
            B02 STATUS cid=b2
            """, """
            OPS OK verb=PHASE sym=ZJ100231 phase=AUCTION
            B01 ACK seq=1 cid=b1 oid=1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.20 tif=DAY
            B02 ACK seq=1 cid=b2 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.10 tif=GTC
            B02 ACK seq=2 cid=s1 oid=3 acct=A2002 sym=ZJ100231 side=SELL qty=400 px=12.00 tif=DAY
            * IOP sym=ZJ100231 iop=12.00 iov=400
            B01 ACK seq=2 cid=s2 oid=4 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.40 tif=DAY
            OPS OK verb=PHASE sym=ZJ100231 phase=CLOSED
            B01 FILL seq=3 cid=b1 oid=1 tid=1 px=12.00 qty=300 leaves=0 cum=300 liq=AUCTION
            B02 FILL seq=3 cid=s1 oid=3 tid=1 px=12.00 qty=300 leaves=100 cum=300 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.00 qty=300 kind=AUCTION
            B02 FILL seq=4 cid=b2 oid=2 tid=2 px=12.00 qty=100 leaves=100 cum=100 liq=AUCTION
            B02 FILL seq=5 cid=s1 oid=3 tid=2 px=12.00 qty=100 leaves=0 cum=400 liq=AUCTION
            * TRADE sym=ZJ100231 mdseq=2 tid=2 px=12.00 qty=100 kind=AUCTION
            B01 CANCELED seq=4 cid=s2 oid=4 leaves=0 reason=EXPIRED
            B02 STATUS seq=6 cid=b2 oid=2 state=PARTIAL qty=200 px=12.10 leaves=100 cum=100
            """)
    }

    /// Entry in an auction checks every rule (NOT_QUALIFIED, ANNUAL_LIMIT); the uncross settles
    /// delivery versus payment with fees; the shares bought are held back (T+1: HOLDING_PERIOD).
    func testTheMarketRulesHoldThroughTheAuction() {
        check("""
            OPS PHASE sym=ZJ100518 phase=AUCTION
            B01 NEW cid=b1 acct=A1001 sym=ZJ100518 side=BUY qty=100 px=8.60
            B02 NEW cid=n1 acct=A2002 sym=ZJ100518 side=BUY qty=100 px=8.60
            B03 NEW cid=n2 acct=A3001 sym=ZJ100518 side=BUY qty=20000 px=8.60
            B02 NEW cid=s1 acct=A2001 sym=ZJ100518 side=SELL qty=100 px=8.40
            OPS PHASE sym=ZJ100518 phase=OPEN
            B01 NEW cid=s2 acct=A1001 sym=ZJ100518 side=SELL qty=100 px=8.50
            """, """
            OPS OK verb=PHASE sym=ZJ100518 phase=AUCTION
            B01 ACK seq=1 cid=b1 oid=1 acct=A1001 sym=ZJ100518 side=BUY qty=100 px=8.60 tif=DAY
            B02 REJ seq=1 cid=n1 reason=NOT_QUALIFIED
            B03 REJ seq=1 cid=n2 reason=ANNUAL_LIMIT
            B02 ACK seq=2 cid=s1 oid=2 acct=A2001 sym=ZJ100518 side=SELL qty=100 px=8.40 tif=DAY
            * IOP sym=ZJ100518 iop=8.50 iov=100
            OPS OK verb=PHASE sym=ZJ100518 phase=OPEN
            B01 FILL seq=2 cid=b1 oid=1 tid=1 px=8.50 qty=100 leaves=0 cum=100 liq=AUCTION
            B02 FILL seq=3 cid=s1 oid=2 tid=1 px=8.50 qty=100 leaves=0 cum=100 liq=AUCTION
            * TRADE sym=ZJ100518 mdseq=1 tid=1 px=8.50 qty=100 kind=AUCTION
            B01 REJ seq=3 cid=s2 reason=HOLDING_PERIOD
            """)
        // 100 × 8.50 = 850.00: the buyer pays the fee 0.25, the seller it and stamp duty 0.85;
        // A1001 took a holder place in ZJ100518 (cap 5) and now holds.
        XCTAssertEqual(account("A1001").cash, 999_149_7500)
        XCTAssertEqual(account("A2001").cash, 1_200_848_9000)
        XCTAssertEqual(position("A1001", "ZJ100518")?.lockedShares, 100)
        XCTAssertEqual(replay.matcher.ledger.register.holders[1].holders, 4)
    }

    /// Rule 3: equal volume and imbalance over a run of prices: the reference price when it is in
    /// the run (ZJ100231: 11.80–12.30, reference 12.00), else the nearest end (ZJ100518: 8.70–8.90,
    /// reference 8.50, so 8.70).
    func testTheReferencePriceDecidesBetweenEqualVolumeAndImbalance() {
        check("""
            OPS PHASE sym=ZJ100231 phase=AUCTION
            OPS PHASE sym=ZJ100518 phase=AUCTION
            B01 NEW cid=b1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.30
            B02 NEW cid=s1 acct=A2002 sym=ZJ100231 side=SELL qty=300 px=11.80
            B01 NEW cid=b2 acct=A1001 sym=ZJ100518 side=BUY qty=300 px=8.90
            B02 NEW cid=s2 acct=A2001 sym=ZJ100518 side=SELL qty=300 px=8.70
            """, """
            OPS OK verb=PHASE sym=ZJ100231 phase=AUCTION
            OPS OK verb=PHASE sym=ZJ100518 phase=AUCTION
            B01 ACK seq=1 cid=b1 oid=1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.30 tif=DAY
            B02 ACK seq=1 cid=s1 oid=2 acct=A2002 sym=ZJ100231 side=SELL qty=300 px=11.80 tif=DAY
            * IOP sym=ZJ100231 iop=12.00 iov=300
            B01 ACK seq=2 cid=b2 oid=3 acct=A1001 sym=ZJ100518 side=BUY qty=300 px=8.90 tif=DAY
            B02 ACK seq=2 cid=s2 oid=4 acct=A2001 sym=ZJ100518 side=SELL qty=300 px=8.70 tif=DAY
            * IOP sym=ZJ100518 iop=8.70 iov=300
            """)
        XCTAssertEqual(replay.matcher.indicative(0), Indicative(price: 12_0000, volume: 300))
        XCTAssertEqual(replay.matcher.indicative(1), Indicative(price: 8_7000, volume: 300))
    }

    /// Rule 4, the higher price, can only decide when two ticks are equally near the reference,
    /// which needs a reference between ticks: the loader refuses one (a reference is on the tick,
    /// and the rules' ties always form one run of ticks, so rule 3 leaves one), so this market is
    /// built by hand with a reference of 12.005 on a 0.01 tick. 12.00 and 12.01 tie on volume
    /// (300), imbalance (0) and distance (0.005): 12.01.
    func testTheHigherPriceDecidesTheLastTie() {
        var config = DemoMarket.config
        config.instruments[0].referencePrice = 12_0050
        var replay = Replay(config: config, limits: ReplayAuctionTests.limits)
        let out = replay.run("""
            OPS PHASE sym=ZJ100231 phase=AUCTION
            B01 NEW cid=b1 acct=A1002 sym=ZJ100231 side=BUY qty=300 px=12.01
            B02 NEW cid=s1 acct=A2002 sym=ZJ100231 side=SELL qty=300 px=12.00
            OPS PHASE sym=ZJ100231 phase=OPEN
            """)
        XCTAssertTrue(out.contains("* IOP sym=ZJ100231 iop=12.01 iov=300"), out)
        XCTAssertTrue(out.contains("* TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.01 qty=300 kind=AUCTION"), out)
        XCTAssertEqual(OrderBook.nearest(to: 12_0050, low: 11_0000, high: 13_0000, tick: 100), 12_0100)
        XCTAssertEqual(OrderBook.nearest(to: 12_0040, low: 11_0000, high: 13_0000, tick: 100), 12_0000)
        XCTAssertEqual(OrderBook.nearest(to: 12_0050, low: 12_0200, high: 13_0000, tick: 100), 12_0200)
    }
}
