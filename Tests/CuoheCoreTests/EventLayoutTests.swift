import XCTest
@testable import CuoheCore

/// The compact event: its size, and the overlaid fields each keeping what was set in them
/// (extremes included) beside the fields their kind also carries.
final class EventLayoutTests: XCTestCase {
    func testAnEventTakesTwoCacheLines() {
        XCTAssertEqual(MemoryLayout<Event>.size, 128)
        XCTAssertEqual(MemoryLayout<Event>.stride, 128)
    }

    func testAReplacedEventKeepsItsNewCidBesideItsOtherFields() {
        let longest = ClientOrderID(String(repeating: "z", count: ClientOrderID.lengthMax))!
        for newCid in [longest, ClientOrderID("R-1.x_Y")!, ClientOrderID.none] {
            var e = Event(kind: .replaced, broker: 7, ts: -5)
            e.seq = Int64.max
            e.cid = ClientOrderID("OLD")!
            e.newCid = newCid
            e.oid = 42
            e.qty = Bounds.quantityMax
            e.price = Bounds.priceMax
            e.leaves = 1
            e.reason = CancelReason.selfTrade.rawValue
            XCTAssertEqual(e.newCid, newCid)
            XCTAssertEqual(e.newCid.text, newCid.text)
            XCTAssertEqual(e.cid.text, "OLD")
            XCTAssertEqual([e.seq, e.oid, e.qty, e.price, e.leaves, e.ts], [Int64.max, 42, Bounds.quantityMax, Bounds.priceMax, 1, -5])
            XCTAssertEqual(e.broker, 7)
        }
    }

    func testATradeKeepsItsFeesAndCounterpartiesBesideItsOtherFields() {
        for (fee, account, broker) in [(Int64(0), Int32(0), Int32(0)), (Int64.max, Int32.max, Int32.max),
                                       (Int64(-1), Int32(-1), Int32(-1)), (Int64(123_4500), Int32(9), Int32(-1))] {
            var e = Event(kind: .trade, broker: 3, ts: 99)
            e.instrument = 2
            e.mdseq = 11
            e.tid = 12
            e.price = 5_0500
            e.qty = 400
            e.account = 1
            e.counterAccount = account
            e.counterBroker = broker
            e.buyerFee = fee
            e.sellerFee = fee &- 1
            e.stampDuty = fee / 3
            XCTAssertEqual(e.counterAccount, account)
            XCTAssertEqual(e.counterBroker, broker)
            XCTAssertEqual([e.buyerFee, e.sellerFee, e.stampDuty], [fee, fee &- 1, fee / 3])
            XCTAssertEqual([e.mdseq, e.tid, e.price, e.qty, e.ts], [11, 12, 5_0500, 400, 99])
            XCTAssertEqual([e.instrument, e.account, e.broker], [2, 1, 3])
            // Set in the other order, the two counterparties do not disturb each other.
            e.counterBroker = account
            e.counterAccount = broker
            XCTAssertEqual([e.counterAccount, e.counterBroker], [broker, account])
        }
    }

    func testAnOkKeepsItsDate() {
        for days in [Int32(0), Int32(20_789), Int32.max, Int32.min] {
            var e = Event(kind: .ok, broker: -1, ts: 1)
            e.verb = .roll
            e.instrument = -1
            e.phase = .closed
            e.date = CivilDate(daysSinceEpoch: days)
            XCTAssertEqual(e.date.daysSinceEpoch, days)
            XCTAssertEqual(e.instrument, -1)
            XCTAssertEqual(e.phase, .closed)
        }
    }
}
