import XCTest
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// The two-way holding rule and actual holders (`../shared/PROTOCOL.md`, "Two-way holding rule and
/// actual holders") through `Replay`, on a small market: X1 has `holdingDays: 5, rebuyDays: 5`
/// (the regional rule), X2 a holder cap of 6; T and T2 are trusts standing for 3 and 2 actual
/// holders. Expected outputs worked out by hand.
final class ReplayTwoWayTests: XCTestCase {
    static let market = """
        {
          "tradingDate": "2026-12-01",
          "instruments": [
            { "symbol": "X1", "name": "Two-way", "tick": "0.01", "lot": 100, "referencePrice": "10.00", "bandPercent": 10,
              "holdingDays": 5, "rebuyDays": 5 },
            { "symbol": "X2", "name": "Capped", "tick": "0.01", "lot": 100, "referencePrice": "10.00", "bandPercent": 10,
              "holderCap": 6 }
          ],
          "brokers": [
            { "id": "B01", "token": "t1" }, { "id": "B02", "token": "t2" }, { "id": "OPS", "token": "t0", "operator": true }
          ],
          "accounts": [
            { "id": "A", "broker": "B01", "qualifiedUntil": "2027-12-31", "cash": "100000.00", "holdings": { "X1": 1000, "X2": 100 } },
            { "id": "B", "broker": "B02", "qualifiedUntil": "2027-12-31", "cash": "100000.00", "holdings": { "X1": 1000 } },
            { "id": "T", "broker": "B02", "qualifiedUntil": "2027-12-31", "cash": "100000.00", "beneficialOwners": 3, "holdings": { "X2": 100 } },
            { "id": "C", "broker": "B01", "qualifiedUntil": "2027-12-31", "cash": "100000.00" },
            { "id": "T2", "broker": "B01", "qualifiedUntil": "2027-12-31", "cash": "100000.00", "beneficialOwners": 2 }
          ]
        }
        """
    static let config = try! ConfigLoader.parse(Array(market.utf8), file: "two-way market")
    var replay = Replay(config: ReplayTwoWayTests.config, limits: EngineLimits(ordersLiveMax: 4096, cidsPerDayMax: 16384))

    func check(_ input: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        ReplayChecks.assertLines(ReplayChecks.untimed(replay.run(input)), expected, file: file, line: line)
        XCTAssertNil(replay.matcher.verify(), file: file, line: line)
    }

    /// X1 has `rebuyDays: 5`: A's sell fills on day 0, so its buys are refused REBUY through
    /// the fourth ROLL and accepted after the fifth (the regional five-day rule, selling then
    /// buying).
    func testABuyWaitsRebuyDaysRollsAfterASell() {
        check("""
            B01 NEW cid=s1 acct=A sym=X1 side=SELL qty=100 px=10.00
            B02 NEW cid=b1 acct=B sym=X1 side=BUY qty=100 px=10.00
            B01 NEW cid=b2 acct=A sym=X1 side=BUY qty=100 px=9.90
            OPS ROLL date=2026-12-02
            OPS ROLL date=2026-12-03
            OPS ROLL date=2026-12-04
            OPS ROLL date=2026-12-07
            B01 NEW cid=b3 acct=A sym=X1 side=BUY qty=100 px=9.90
            OPS ROLL date=2026-12-08
            B01 NEW cid=b4 acct=A sym=X1 side=BUY qty=100 px=9.90
            B02 NEW cid=s2 acct=B sym=X1 side=SELL qty=100 px=10.00
            """, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A sym=X1 side=SELL qty=100 px=10.00 tif=DAY
            B02 ACK seq=1 cid=b1 oid=2 acct=B sym=X1 side=BUY qty=100 px=10.00 tif=DAY
            B02 FILL seq=2 cid=b1 oid=2 tid=1 px=10.00 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=2 cid=s1 oid=1 tid=1 px=10.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=X1 mdseq=1 tid=1 px=10.00 qty=100 kind=BOOK
            B01 REJ seq=3 cid=b2 reason=HOLDING_PERIOD detail=REBUY
            OPS OK verb=ROLL date=2026-12-02
            OPS OK verb=ROLL date=2026-12-03
            OPS OK verb=ROLL date=2026-12-04
            OPS OK verb=ROLL date=2026-12-07
            B01 REJ seq=4 cid=b3 reason=HOLDING_PERIOD detail=REBUY
            OPS OK verb=ROLL date=2026-12-08
            B01 ACK seq=5 cid=b4 oid=3 acct=A sym=X1 side=BUY qty=100 px=9.90 tif=DAY
            B02 ACK seq=3 cid=s2 oid=4 acct=B sym=X1 side=SELL qty=100 px=10.00 tif=DAY
            """)
    }

    /// While X1's rule is on, a sell beside an open buy (and a buy beside an open sell) is
    /// refused OPEN_OPPOSITE, so no pair of trades can break the interval; X2, without it, takes both.
    func testNoBuyAndSellOpenAtOnceUnderTheRule() {
        check("""
            B01 NEW cid=b1 acct=A sym=X1 side=BUY qty=100 px=9.00
            B01 NEW cid=s1 acct=A sym=X1 side=SELL qty=100 px=11.00
            B01 CANCEL cid=b1
            B01 NEW cid=s2 acct=A sym=X1 side=SELL qty=100 px=11.00
            B01 NEW cid=b2 acct=A sym=X1 side=BUY qty=100 px=9.00
            B01 NEW cid=s3 acct=A sym=X2 side=SELL qty=100 px=11.00
            B01 NEW cid=b3 acct=A sym=X2 side=BUY qty=100 px=9.00
            """, """
            B01 ACK seq=1 cid=b1 oid=1 acct=A sym=X1 side=BUY qty=100 px=9.00 tif=DAY
            B01 REJ seq=2 cid=s1 reason=HOLDING_PERIOD detail=OPEN_OPPOSITE
            B01 CANCELED seq=3 cid=b1 oid=1 leaves=0 reason=USER
            B01 ACK seq=4 cid=s2 oid=2 acct=A sym=X1 side=SELL qty=100 px=11.00 tif=DAY
            B01 REJ seq=5 cid=b2 reason=HOLDING_PERIOD detail=OPEN_OPPOSITE
            B01 ACK seq=6 cid=s3 oid=3 acct=A sym=X2 side=SELL qty=100 px=11.00 tif=DAY
            B01 ACK seq=7 cid=b3 oid=4 acct=A sym=X2 side=BUY qty=100 px=9.00 tif=DAY
            """)
    }

    /// X2's cap is 6: A (1) and the trust T (3) hold, so 4 places are taken. C's buy takes the 5th;
    /// the trust T2 (2) then does not fit (7), and exactly fits (6) once C's buy is canceled, after
    /// which C does not fit; when T sells its last shares to T2, its 3 places are free again.
    func testHolderCapCountsActualHoldersThroughTrusts() {
        check("""
            B01 NEW cid=c1 acct=C sym=X2 side=BUY qty=100 px=9.00
            B01 NEW cid=t1 acct=T2 sym=X2 side=BUY qty=100 px=9.00
            B01 CANCEL cid=c1
            B01 NEW cid=t2 acct=T2 sym=X2 side=BUY qty=100 px=9.00
            B01 NEW cid=c2 acct=C sym=X2 side=BUY qty=100 px=9.00
            B02 NEW cid=ts acct=T sym=X2 side=SELL qty=100 px=9.00
            B01 NEW cid=c3 acct=C sym=X2 side=BUY qty=100 px=9.00
            """, """
            B01 ACK seq=1 cid=c1 oid=1 acct=C sym=X2 side=BUY qty=100 px=9.00 tif=DAY
            B01 REJ seq=2 cid=t1 reason=HOLDER_LIMIT
            B01 CANCELED seq=3 cid=c1 oid=1 leaves=0 reason=USER
            B01 ACK seq=4 cid=t2 oid=2 acct=T2 sym=X2 side=BUY qty=100 px=9.00 tif=DAY
            B01 REJ seq=5 cid=c2 reason=HOLDER_LIMIT
            B02 ACK seq=1 cid=ts oid=3 acct=T sym=X2 side=SELL qty=100 px=9.00 tif=DAY
            B02 FILL seq=2 cid=ts oid=3 tid=1 px=9.00 qty=100 leaves=0 cum=100 liq=TAKER
            B01 FILL seq=6 cid=t2 oid=2 tid=1 px=9.00 qty=100 leaves=0 cum=100 liq=MAKER
            * TRADE sym=X2 mdseq=1 tid=1 px=9.00 qty=100 kind=BOOK
            B01 ACK seq=7 cid=c3 oid=4 acct=C sym=X2 side=BUY qty=100 px=9.00 tif=DAY
            """)
    }

    /// instruments.csv counts actual holders: after the trust T (3) sells its last shares of X2 to
    /// the trust T2 (2), X2 has A (1) and T2 (2): 3.
    func testTheDayFilesCountActualHolders() throws {
        _ = replay.run("""
            B01 NEW cid=t2 acct=T2 sym=X2 side=BUY qty=100 px=9.00
            B02 NEW cid=ts acct=T sym=X2 side=SELL qty=100 px=9.00
            """)
        let dir = NSTemporaryDirectory() + "cuohe-twoway-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try replay.export(to: dir)
        let csv = try String(contentsOfFile: dir + "/instruments.csv", encoding: .utf8)
        let x2 = csv.split(separator: "\n").first { $0.hasPrefix("X2,") }
        XCTAssertEqual(x2.map(String.init), "X2,2026-12-01,10.00,9.00,1,100,900.00,3", csv)
    }

    /// The rule's state survives a snapshot: restored on the day A sold, the buy is still refused
    /// REBUY, and the restored matcher's future equals the live one's.
    func testTheRuleSurvivesASnapshot() throws {
        _ = replay.run("""
            B01 NEW cid=s1 acct=A sym=X1 side=SELL qty=100 px=10.00
            B02 NEW cid=b1 acct=B sym=X1 side=BUY qty=100 px=10.00
            B02 NEW cid=s2 acct=B sym=X1 side=SELL qty=100 px=10.50
            """)
        let limits = EngineLimits(ordersLiveMax: 4096, cidsPerDayMax: 16384)
        guard let restored = Matcher.restore(replay.matcher.snapshot(), config: Self.config, limits: limits) else {
            return XCTFail("the snapshot does not restore")
        }
        XCTAssertEqual(restored.stateDigest(), replay.matcher.stateDigest())
        var live = Replay(config: Self.config, matcher: restored, clock: replay.clock, recordsTrades: false)
        let after = """
            B01 NEW cid=b2 acct=A sym=X1 side=BUY qty=100 px=9.90
            B02 NEW cid=b3 acct=B sym=X1 side=BUY qty=100 px=9.90
            """
        let expected = replay.run(after)
        XCTAssertEqual(live.run(after), expected)
        XCTAssertTrue(expected.contains("B01 REJ seq=3 cid=b2 reason=HOLDING_PERIOD detail=REBUY"), expected)
        XCTAssertTrue(expected.contains("B02 REJ seq=4 cid=b3 reason=HOLDING_PERIOD detail=OPEN_OPPOSITE"), expected)
    }

    /// `mode: NEGOTIATED`: the book's verbs and `PHASE AUCTION` are refused NEGOTIATED_ONLY.
    func testANegotiatedInstrumentRefusesTheBook() throws {
        var config = Self.config
        config.instruments[1].mode = .negotiated
        var replay = Replay(config: config, limits: EngineLimits(ordersLiveMax: 4096, cidsPerDayMax: 16384))
        let out = ReplayChecks.untimed(replay.run("""
            B01 NEW cid=n1 acct=A sym=X2 side=SELL qty=100 px=10.00
            OPS PHASE sym=X2 phase=AUCTION
            OPS PHASE sym=X2 phase=CLOSED
            B01 NEW cid=n2 acct=A sym=X1 side=SELL qty=100 px=10.00
            """))
        XCTAssertEqual(out, [
            "B01 REJ seq=1 cid=n1 reason=NOT_PERMITTED detail=NEGOTIATED_ONLY",
            "OPS REJ reason=NOT_PERMITTED detail=NEGOTIATED_ONLY",
            "OPS OK verb=PHASE sym=X2 phase=CLOSED",
            "B01 ACK seq=2 cid=n2 oid=1 acct=A sym=X1 side=SELL qty=100 px=10.00 tif=DAY",
        ])
    }
}
