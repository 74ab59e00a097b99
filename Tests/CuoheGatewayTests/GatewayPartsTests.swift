import XCTest
import CuoheCore
import CuoheProtocol
import BenchSupport
@testable import CuoheGateway

/// The gateway's parts on their own: the book pictures against the matcher's own book, the
/// resume history's trimming, the token bucket.
final class GatewayPartsTests: XCTestCase {
    /// Seeded random orders, cancels and replaces from two brokers, and phase changes (call
    /// auctions, AUCTION again while collecting) from the operator: after every command the mirror
    /// built from events alone shows exactly the matcher's price levels and indicative price.
    func testTheBookMirrorMatchesTheMatchersBookAfterEveryCommand() {
        let config = DemoMarket.config
        let directory = Directory(config: config)
        let parser = LineParser(directory: directory)
        var matcher = Matcher(config: config)
        var mirror = BookMirror(instruments: config.instruments.count)
        var events = EventBuffer()
        var r = SplitMix64(state: 7)
        let who = [("B01", "A1001"), ("B02", "A2001")]
        var checkedLevels = 0
        var checkedAuctions = 0
        for step in 0..<5_000 {
            let b = r.below(2)
            let cid = "c\(r.below(400))"
            let px = "12.\(String(format: "%02d", 20 + r.below(21)))"
            let line: String
            switch r.below(10) {
            case 0...5:
                let tif = ["DAY", "GTC", "IOC", "FOK"][r.below(4)]
                line = "NEW cid=\(cid)x\(step) acct=\(who[b].1) sym=ZJ100231 side=\(r.below(2) == 0 ? "BUY" : "SELL") qty=\(100 * (1 + r.below(5))) px=\(px) tif=\(tif)"
            case 6: line = "NEW cid=m\(step) acct=\(who[b].1) sym=ZJ100231 side=\(r.below(2) == 0 ? "BUY" : "SELL") qty=100 type=MARKET"
            case 7...8:
                let old = "c\(r.below(400))x\(max(0, step - r.below(50)))"
                line = r.below(2) == 0 ? "CANCEL cid=\(old)" : "REPLACE cid=\(old) newcid=r\(step) qty=\(100 * (1 + r.below(5))) px=\(px)"
            default: line = "PHASE sym=ZJ100231 phase=\(["AUCTION", "AUCTION", "OPEN", "CLOSED"][r.below(4)])"
            }
            let operatorBroker = directory.broker(Array("OPS".utf8))!
            let sender = line.hasPrefix("PHASE") ? operatorBroker : Int32(b)
            guard case .command(var command) = parser.parse(line, broker: sender) else { continue }
            command.ts = Int64(step + 1)
            events.removeAll()
            matcher.process(command, into: &events)
            for i in 0..<events.count { mirror.apply(events[i]) }
            let picture = mirror.picture(0)
            func levels(_ side: Side) -> [(Int64, Int64)] {
                var sums: [Int64: Int64] = [:]
                for o in matcher.restingOrders(instrument: 0, side: side) { sums[o.price, default: 0] += o.leaves }
                return sums.sorted { side == .buy ? $0.key > $1.key : $0.key < $1.key }.prefix(BookMirror.depthMax).map { ($0.key, $0.value) }
            }
            let bids = levels(.buy), asks = levels(.sell)
            let indicative = matcher.instruments[0].phase == .auction
                ? matcher.indicative(0).map { ($0.price, $0.volume) } ?? (0, 0) : nil
            XCTAssertTrue(picture.indicative?.price == indicative?.0 && picture.indicative?.volume == indicative?.1,
                          "after \(line): mirror's indicative \(String(describing: picture.indicative)), matcher's "
                          + "\(String(describing: indicative))")
            if indicative != nil && indicative!.0 > 0 { checkedAuctions += 1 }
            XCTAssertTrue(picture.bids.elementsEqual(bids, by: ==) && picture.asks.elementsEqual(asks, by: ==),
                          "after \(line): mirror \(picture.bids) / \(picture.asks), book \(bids) / \(asks)")
            if picture.bids.count != bids.count || !picture.bids.elementsEqual(bids, by: ==) { return }
            checkedLevels += bids.count + asks.count
        }
        XCTAssertGreaterThan(checkedLevels, 10_000, "the books were deep enough to test something")
        XCTAssertGreaterThan(checkedAuctions, 100, "auctions collected crossed books")
    }

    func testTheHistoryKeepsTheNewestMessagesAndTellsThemBack() {
        var h = ResumeHistory(brokers: 2, messagesMax: 10)
        XCTAssertEqual(h.lastSeq(0), 0)
        for seq in Int64(1)...95 {
            let text = Array("M \(seq)\n".utf8)
            text.withUnsafeBytes { h.append(0, seq: seq, $0) }
        }
        XCTAssertEqual(h.lastSeq(0), 95)
        XCTAssertEqual(h.firstSeq(0), 86)
        for seq in Int64(86)...95 {
            XCTAssertEqual(h.withLine(0, seq: seq) { String(decoding: $0, as: UTF8.self) }, "M \(seq)\n")
        }
        XCTAssertEqual(h.bytes(0, from: 94), "M 94\nM 95\n".utf8.count)
        XCTAssertEqual(h.bytes(0, from: 96), 0)
        XCTAssertEqual(h.lastSeq(1), 0, "brokers apart")
    }

    func testTheHistoryKeepsWithinItsShareOfMemory() {
        var h = ResumeHistory(brokers: 1, messagesMax: 1 << 30, totalBytesMax: 1 << 20)
        let line = [UInt8](repeating: 65, count: 999) + [10]
        for seq in Int64(1)...20_000 { line.withUnsafeBytes { h.append(0, seq: seq, $0) } }
        XCTAssertEqual(h.lastSeq(0), 20_000)
        XCTAssertLessThanOrEqual(h.bytes(0, from: h.firstSeq(0)), 4 << 20, "four chunks at least, no more")
        XCTAssertGreaterThan(h.bytes(0, from: h.firstSeq(0)), 3 << 20, "it keeps what its share allows")
        XCTAssertEqual(h.withLine(0, seq: 20_000) { $0.count }, 1000)
        XCTAssertEqual(h.withLine(0, seq: h.firstSeq(0)) { Array($0) }, line)
    }

    func testTheTokenBucketHoldsASecondsWorth() {
        var bucket = TokenBucket(perSecond: 3, now: 0)
        XCTAssertEqual((0..<5).map { _ in bucket.take(now: 0) }, [true, true, true, false, false])
        XCTAssertFalse(bucket.take(now: 300_000_000))
        XCTAssertTrue(bucket.take(now: 340_000_000), "a third of a second refills one")
        XCTAssertEqual((0..<5).map { _ in bucket.take(now: 100_000_000_000) }, [true, true, true, false, false],
                       "a long pause refills a second's worth, no more")
    }
}
