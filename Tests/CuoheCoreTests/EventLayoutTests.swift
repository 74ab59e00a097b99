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

/// The packed cid record and the index's memory: 64 bytes a cid of the day at any capacity, each
/// field kept to its bound.
final class CidRecordLayoutTests: XCTestCase {
    func testACidOfTheDayTakesSixtyFourBytes() {
        XCTAssertEqual(MemoryLayout<CidRecord>.stride, 56)
        for capacity in [8, 100, 1_000, 65_536, 1 << 22, 10_000_016, CidIndex.capacityMax] {
            XCTAssertLessThanOrEqual(CidIndex.bytes(capacity: capacity), 64 * max(capacity, 8), "capacity \(capacity)")
        }
        XCTAssertEqual(CidIndex.bytes(capacity: 1 << 22), 64 << 22)
    }

    func testAFinishedRecordKeepsEveryValueToItsBound() {
        let cid = ClientOrderID(String(repeating: "Z", count: ClientOrderID.lengthMax))!
        let prices: [Int64] = [0, 1, 0xFF_FFFF, 0x100_0000, Bounds.priceMax - 1, Bounds.priceMax]
        let quantities: [Int64] = [0, 1, 100, Bounds.quantityMax - 1, Bounds.quantityMax]
        for state in [CidState.filled, .canceled, .rejected, .replaced] {
            for price in prices {
                for qty in quantities {
                    for cum in [0, qty / 2, qty] {
                        for (oid, broker) in [(Int64(0), Int32(-1)), (CidRecord.oidMax, Int32(Int16.max)), (12_345, 0)] {
                            let r = CidRecord(cid: cid, oid: oid, qty: qty, price: price, cum: cum, broker: broker,
                                              slot: -1, state: state)
                            XCTAssertEqual([r.oid, r.qty, r.price, r.cum], [oid, qty, price, cum])
                            XCTAssertEqual(r.broker, broker)
                            XCTAssertEqual(r.state, state)
                            XCTAssertEqual(r.slot, -1)
                            XCTAssertEqual(r.cid, cid)
                        }
                    }
                }
            }
        }
    }

    func testALiveRecordKeepsItsSlotUntilItEnds() {
        for slot in [Int32(-1), 0, 1, Int32.max] {
            var r = CidRecord(cid: ClientOrderID("L1")!, oid: 9, qty: 500, price: 10_0000, cum: 0, broker: 3, slot: -1,
                              state: .live)
            XCTAssertEqual(r.slot, -1)
            r.slot = slot
            XCTAssertEqual([r.slot], [slot])
            XCTAssertEqual(r.state, .live)
            XCTAssertEqual([r.oid, r.qty], [9, 500])
            XCTAssertEqual(r.broker, 3)
            // While live, the price and the filled quantity are the slot's, not the record's.
            XCTAssertEqual([r.price, r.cum], [0, 0])
            r.end(.canceled, qty: 500, cum: 200, price: Bounds.priceMax)
            XCTAssertEqual(r.slot, -1)
            XCTAssertEqual(r.state, .canceled)
            XCTAssertEqual([r.oid, r.qty, r.cum, r.price], [9, 500, 200, Bounds.priceMax])
        }
    }
}
