import XCTest
import CuoheCore
import CuoheProtocol
import BenchSupport
@testable import CuoheGateway

/// The gateway's parts on their own: the book pictures and quote board against the matcher's
/// own, the quote board's order, the resume history's trimming, the token bucket.
final class GatewayPartsTests: XCTestCase {
    /// Seeded random orders, cancels and replaces from two brokers, phase changes (call auctions,
    /// AUCTION again while collecting) from the operator, and negotiated transfer (quotes, their
    /// acceptance and cancel, crosses that meet or not): after every command the mirror built from
    /// events alone shows exactly the matcher's price levels, indicative price, quote board and
    /// mdseq.
    func testTheBookMirrorMatchesTheMatchersBookAfterEveryCommand() {
        let config = DemoMarket.config
        let directory = Directory(config: config)
        let parser = LineParser(directory: directory)
        var matcher = Matcher(config: config)
        var mirror = BookMirror(instruments: config.instruments.count)
        var events = EventBuffer()
        var r = SplitMix64(state: 7)
        var checkedLevels = 0, checkedAuctions = 0, checkedQuotes = 0
        var negotiatedTrades: [TradeKind: Int] = [:]
        for step in 0..<6_000 {
            let line = randomLine(step, &r, matcher)
            let operatorBroker = directory.broker(Array("OPS".utf8))!
            let sender = line.text.hasPrefix("PHASE") ? operatorBroker : Int32(line.broker)
            guard case .command(var command) = parser.parse(line.text, broker: sender) else { continue }
            command.ts = Int64(step + 1)
            events.removeAll()
            matcher.process(command, into: &events)
            for i in 0..<events.count {
                mirror.apply(events[i])
                if events[i].kind == .trade { negotiatedTrades[events[i].tradeKind, default: 0] += 1 }
            }
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
                          "after \(line.text): mirror's indicative \(String(describing: picture.indicative)), matcher's "
                          + "\(String(describing: indicative))")
            if indicative != nil && indicative!.0 > 0 { checkedAuctions += 1 }
            XCTAssertTrue(picture.bids.elementsEqual(bids, by: ==) && picture.asks.elementsEqual(asks, by: ==),
                          "after \(line.text): mirror \(picture.bids) / \(picture.asks), book \(bids) / \(asks)")
            if picture.bids.count != bids.count || !picture.bids.elementsEqual(bids, by: ==) { return }
            checkedLevels += bids.count + asks.count
            guard boardMatches(mirror, matcher, after: line.text) else { return }
            checkedQuotes += mirror.boards[0].count
        }
        XCTAssertGreaterThan(checkedLevels, 10_000, "the books were deep enough to test something")
        XCTAssertGreaterThan(checkedAuctions, 100, "auctions collected crossed books")
        XCTAssertGreaterThan(checkedQuotes, 2_000, "the quote board held quotes")
        XCTAssertGreaterThan(negotiatedTrades[.quote] ?? 0, 40, "quotes were accepted")
        XCTAssertGreaterThan(negotiatedTrades[.cross] ?? 0, 10, "crosses met")
    }

    /// One random line of the mix on ZJ100231 and the broker (0 or 1) that sends it.
    func randomLine(_ step: Int, _ r: inout SplitMix64, _ matcher: borrowing Matcher) -> (text: String, broker: Int) {
        let who = [("B01", "A1001"), ("B02", "A2001")]
        let b = r.below(2)
        let acct = who[b].1
        let cid = "c\(r.below(400))"
        let px = "12.\(String(format: "%02d", 20 + r.below(21)))"
        let side = r.below(2) == 0 ? "BUY" : "SELL"
        switch r.below(14) {
        case 0...5:
            let tif = ["DAY", "GTC", "IOC", "FOK"][r.below(4)]
            return ("NEW cid=\(cid)x\(step) acct=\(acct) sym=ZJ100231 side=\(side) qty=\(100 * (1 + r.below(5))) px=\(px) tif=\(tif)", b)
        case 6: return ("NEW cid=m\(step) acct=\(acct) sym=ZJ100231 side=\(side) qty=100 type=MARKET", b)
        case 7...8:
            let old = "c\(r.below(400))x\(max(0, step - r.below(50)))"
            return (r.below(2) == 0 ? "CANCEL cid=\(old)" : "REPLACE cid=\(old) newcid=r\(step) qty=\(100 * (1 + r.below(5))) px=\(px)", b)
        case 9: return ("PHASE sym=ZJ100231 phase=\(["AUCTION", "AUCTION", "OPEN", "CLOSED"][r.below(4)])", b)
        case 10: return ("QUOTE cid=q\(step) acct=\(acct) sym=ZJ100231 side=\(side) qty=\(100 * (1 + r.below(5))) px=\(px)", b)
        case 11:
            // Mostly a live quote (the other broker's, or its own: refused), now and then one gone.
            let live = matcher.negotiatedOrders(instrument: 0).filter { $0.kind == .quote }
            let oid = live.isEmpty || r.below(8) == 0 ? Int64(1 + r.below(step + 1)) : live[r.below(live.count)].oid
            return ("ACCEPT cid=a\(step) acct=\(acct) quote=\(oid) qty=\(100 * (1 + r.below(3)))", b)
        case 12: return ("CANCEL cid=q\(max(0, step - r.below(60)))", b)
        default:
            // Few refs and terms, so that sides meet, mismatch and reuse refs.
            let qty = r.below(4) == 0 ? 200 : 100
            return ("CROSS cid=x\(step) acct=\(acct) sym=ZJ100231 side=\(side) qty=\(qty) px=12.20 ref=R\(r.below(3)) cp=\(who[1 - b].0)", b)
        }
    }

    /// The mirror's quote board of ZJ100231 is the matcher's live quotes (crosses waiting are
    /// nobody else's business), and its mdseq the instrument's.
    func boardMatches(_ mirror: BookMirror, _ matcher: borrowing Matcher, after line: String) -> Bool {
        let board = mirror.boards[0].quotes.map { "\($0.qid) \($0.side) \($0.qty)@\($0.price) \($0.broker)" }
        let live = matcher.negotiatedOrders(instrument: 0).filter { $0.kind == .quote }.sorted { $0.oid < $1.oid }
            .map { "\($0.oid) \($0.side) \($0.leaves)@\($0.price) \($0.broker)" }
        XCTAssertEqual(board, live, "after \(line): the mirror's board")
        XCTAssertEqual(mirror.boards[0].count, live.count, "after \(line): the board's count")
        XCTAssertEqual(mirror.picture(0).mdseq, matcher.instruments[0].mdseq, "after \(line): mdseq")
        if let last = mirror.boards[0].quotes.map(\.mdseq).max() {
            XCTAssertLessThanOrEqual(last, matcher.instruments[0].mdseq, "after \(line): a quote's mdseq")
        }
        return board == live && mirror.picture(0).mdseq == matcher.instruments[0].mdseq
    }

    /// The board through many quotes going oldest first (marked, then compacted): what is live is
    /// always there in qid order, a walk from a qid resumes after it and stops when told.
    func testTheQuoteBoardKeepsItsLiveQuotesInQidOrder() {
        func quote(_ qid: Int64, qty: Int64) -> BoardQuote {
            var e = Event(kind: .quote, broker: 1, ts: qid)
            e.instrument = 0
            e.oid = qid
            e.qty = qty
            e.price = 120_000
            e.mdseq = qid
            return BoardQuote(e)
        }
        var board = QuoteBoard()
        for qid in Int64(1)...1_000 { board.apply(quote(qid * 2, qty: 100)) }
        for qid in Int64(1)...900 { board.apply(quote(qid * 2, qty: 0)) }
        board.apply(quote(1_998, qty: 40))
        board.apply(quote(7, qty: 0))  // never on the board: nothing happens
        XCTAssertEqual(board.count, 100)
        XCTAssertEqual(board.quotes.map(\.qid), Array(stride(from: Int64(1_802), through: 2_000, by: 2)))
        XCTAssertEqual(board.quotes.first { $0.qid == 1_998 }?.qty, 40, "a change replaces the quote's state")
        var seen: [Int64] = []
        XCTAssertFalse(board.forEach(after: 1_900) { seen.append($0.qid); return seen.count < 3 })
        XCTAssertEqual(seen, [1_902, 1_904, 1_906], "from after the qid, until told to stop")
        seen = []
        XCTAssertTrue(board.forEach(after: 1_994) { seen.append($0.qid); return true })
        XCTAssertEqual(seen, [1_996, 1_998, 2_000])
        for qid in Int64(901)...1_000 { board.apply(quote(qid * 2, qty: 0)) }
        XCTAssertEqual(board.count, 0)
        XCTAssertTrue(board.quotes.isEmpty)
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
