import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Negotiated transfer as brokers and subscribers meet it: the real `cuohe serve`, real sockets,
/// a small market whose one instrument trades by negotiated transfer only. B01 and B02 trade; B03
/// only watches the market data.
final class GatewayNegotiatedTests: XCTestCase {
    override func setUp() { signal(SIGPIPE, SIG_IGN) }

    /// A server on the small market, its three sessions logged in, and B03 subscribed (its empty
    /// first picture read) unless told otherwise.
    func start(_ name: String, subscribe: Bool = true, extra: [String] = []) throws
        -> (ServerProcess, b1: Client, b2: Client, watcher: Client) {
        let dir = ServerProcess.temporaryDirectory(name)
        let server = try ServerProcess(data: dir, config: try NegotiatedMarket.write(beside: dir), extra: extra)
        let b1 = Client(port: server.port), b2 = Client(port: server.port), watcher = Client(port: server.port)
        b1.login("B01", "secret1")
        b2.login("B02", "secret2")
        watcher.login("B03", "secret3")
        if subscribe {
            watcher.send("SUB sym=ZJ300001 depth=5\n")
            XCTAssertEqual(untimed(watcher.expect("BOOK ")), "BOOK sym=ZJ300001 mdseq=0 bids= asks=")
        }
        return (server, b1, b2, watcher)
    }

    /// B01 quotes 1,000 at 10.20; B02 takes 400 of it. Each broker gets its own messages, the
    /// subscriber the quote, the trade and what is left of the quote, mdseq 1, 2, 3.
    func testAQuoteIsPostedAndAcceptedInPart() throws {
        let (server, b1, b2, watcher) = try start("quote")
        b1.send("QUOTE cid=q1 acct=A1001 sym=ZJ300001 side=SELL qty=1000 px=10.20\n")
        XCTAssertEqual(untimed(b1.expect("ACK ")),
                       "ACK seq=1 cid=q1 oid=1 acct=A1001 sym=ZJ300001 side=SELL qty=1000 px=10.20 tif=DAY type=QUOTE")
        let posted = marketData(watcher, through: "QUOTE sym=ZJ300001 mdseq=1 qid=1 side=SELL qty=1000 px=10.20 broker=B01")
        XCTAssertEqual(posted.books, [], "a quote is not in the book")

        b2.send("ACCEPT cid=a1 acct=A2001 quote=1 qty=400\n")
        XCTAssertEqual(untimed(b2.expect("ACK ")),
                       "ACK seq=1 cid=a1 oid=2 acct=A2001 sym=ZJ300001 side=BUY qty=400 px=10.20 tif=DAY type=ACCEPT")
        XCTAssertEqual(untimed(b2.expect("FILL ")),
                       "FILL seq=2 cid=a1 oid=2 tid=1 px=10.20 qty=400 leaves=0 cum=400 liq=TAKER")
        XCTAssertEqual(untimed(b1.expect("FILL ")),
                       "FILL seq=2 cid=q1 oid=1 tid=1 px=10.20 qty=400 leaves=600 cum=400 liq=MAKER")
        let traded = marketData(watcher, through: "QUOTE sym=ZJ300001 mdseq=3 qid=1 side=SELL qty=600 px=10.20 broker=B01")
        XCTAssertEqual(traded.lines, ["TRADE sym=ZJ300001 mdseq=2 tid=1 px=10.20 qty=400 kind=QUOTE",
                                      "QUOTE sym=ZJ300001 mdseq=3 qid=1 side=SELL qty=600 px=10.20 broker=B01"])
        checkGapFree(posted.lines + traded.lines, from: 1)
        // The trade changed the picture's mdseq (not its levels): one BOOK follows, with or after these lines.
        let book = traded.books.last ?? untimed(watcher.expect("BOOK "))
        XCTAssertEqual(book, "BOOK sym=ZJ300001 mdseq=3 bids= asks=")
        checkQuiet([b1, b2, watcher])
        XCTAssertEqual(server.terminate(), 0)
    }

    /// The first side of a cross is acknowledged and seen by nobody else; the counterparty's
    /// matching side completes it: both FILLs, a TRADE kind=CROSS, and no quote line.
    func testACrossIsSeenOnlyOnceBothSidesAgree() throws {
        let (server, b1, b2, watcher) = try start("cross")
        b1.send("CROSS cid=x1 acct=A1001 sym=ZJ300001 side=SELL qty=300 px=10.10 ref=AG7 cp=B02\n")
        XCTAssertEqual(untimed(b1.expect("ACK ")),
                       "ACK seq=1 cid=x1 oid=1 acct=A1001 sym=ZJ300001 side=SELL qty=300 px=10.10 tif=DAY type=CROSS")
        checkQuiet([b1, b2, watcher])

        b2.send("CROSS cid=x2 acct=A2001 sym=ZJ300001 side=BUY qty=300 px=10.10 ref=AG7 cp=B01\n")
        XCTAssertEqual(untimed(b2.expect("ACK ")),
                       "ACK seq=1 cid=x2 oid=2 acct=A2001 sym=ZJ300001 side=BUY qty=300 px=10.10 tif=DAY type=CROSS")
        XCTAssertEqual(untimed(b2.expect("FILL ")),
                       "FILL seq=2 cid=x2 oid=2 tid=1 px=10.10 qty=300 leaves=0 cum=300 liq=TAKER")
        XCTAssertEqual(untimed(b1.expect("FILL ")),
                       "FILL seq=2 cid=x1 oid=1 tid=1 px=10.10 qty=300 leaves=0 cum=300 liq=MAKER")
        let traded = marketData(watcher, through: "TRADE sym=ZJ300001 mdseq=1 tid=1 px=10.10 qty=300 kind=CROSS")
        XCTAssertEqual(traded.lines, ["TRADE sym=ZJ300001 mdseq=1 tid=1 px=10.10 qty=300 kind=CROSS"])
        let book = traded.books.last ?? untimed(watcher.expect("BOOK "))
        XCTAssertEqual(book, "BOOK sym=ZJ300001 mdseq=1 bids= asks=")
        checkQuiet([b1, b2, watcher])  // no QUOTE line: a cross is never on the board
        XCTAssertEqual(server.terminate(), 0)
    }

    /// A session that subscribes after two quotes were posted and one changed gets the BOOK (the
    /// instrument's last mdseq, without the quotes in its levels), then each live quote as its
    /// last line said, in qid order; then live lines as everyone does.
    func testALateSubscriberGetsTheBookThenTheBoard() throws {
        let (server, b1, b2, watcher) = try start("late", subscribe: false)
        b1.send("QUOTE cid=q1 acct=A1001 sym=ZJ300001 side=SELL qty=1000 px=10.20\n")
        b1.expect("ACK seq=1 cid=q1 oid=1 ")
        b2.send("QUOTE cid=q2 acct=A2001 sym=ZJ300001 side=BUY qty=500 px=9.90\n")
        b2.expect("ACK seq=1 cid=q2 oid=2 ")
        b2.send("ACCEPT cid=a1 acct=A2001 quote=1 qty=100\n")
        b2.expect("ACK seq=2 cid=a1 oid=3 ")
        b2.expect("FILL seq=3 cid=a1 ")
        b1.expect("FILL seq=2 cid=q1 ")
        // mdseq: 1 quote q1, 2 quote q2, 3 the trade, 4 what is left of q1.
        watcher.send("SUB sym=ZJ300001 depth=5\n")
        XCTAssertEqual(untimed(watcher.expect("BOOK ")), "BOOK sym=ZJ300001 mdseq=4 bids= asks=")
        XCTAssertEqual(untimed(watcher.expect("QUOTE ")), "QUOTE sym=ZJ300001 mdseq=4 qid=1 side=SELL qty=900 px=10.20 broker=B01")
        XCTAssertEqual(untimed(watcher.expect("QUOTE ")), "QUOTE sym=ZJ300001 mdseq=2 qid=2 side=BUY qty=500 px=9.90 broker=B02")
        checkQuiet([watcher])
        b1.send("ACCEPT cid=a2 acct=A1001 quote=2 qty=200\n")
        b1.expect("ACK seq=3 cid=a2 oid=4 ")
        let traded = marketData(watcher, through: "QUOTE sym=ZJ300001 mdseq=6 qid=2 side=BUY qty=300 px=9.90 broker=B02")
        XCTAssertEqual(traded.lines, ["TRADE sym=ZJ300001 mdseq=5 tid=2 px=9.90 qty=200 kind=QUOTE",
                                      "QUOTE sym=ZJ300001 mdseq=6 qid=2 side=BUY qty=300 px=9.90 broker=B02"])
        XCTAssertEqual(server.terminate(), 0)
    }

    /// The board is rebuilt from the journal at start: after a restart a subscriber gets the live
    /// quote's very line (its `ts` too), and the `BOOK` the instrument's last mdseq.
    func testTheBoardOutlivesARestart() throws {
        var (server, b1, _, watcher) = try start("restart")
        b1.send("QUOTE cid=q1 acct=A1001 sym=ZJ300001 side=BUY qty=300 px=9.80\n")
        b1.expect("ACK seq=1 cid=q1 oid=1 ")
        let line = watcher.expect("QUOTE ")
        XCTAssertEqual(untimed(line), "QUOTE sym=ZJ300001 mdseq=1 qid=1 side=BUY qty=300 px=9.80 broker=B01")
        XCTAssertEqual(server.terminate(), 0)
        server = try ServerProcess(data: server.data)
        watcher = Client(port: server.port)
        watcher.login("B03", "secret3")
        watcher.send("SUB sym=ZJ300001 depth=5\n")
        XCTAssertEqual(untimed(watcher.expect("BOOK ")), "BOOK sym=ZJ300001 mdseq=1 bids= asks=")
        XCTAssertEqual(watcher.expect("QUOTE "), line)
        checkQuiet([watcher])
        XCTAssertEqual(server.terminate(), 0)
    }

    /// Canceling a quote: `CANCELED` to its broker, `qty=0` to subscribers, and a later
    /// subscriber finds the board empty.
    func testACanceledQuoteLeavesTheBoard() throws {
        let (server, b1, _, watcher) = try start("cancel")
        b1.send("QUOTE cid=q1 acct=A1001 sym=ZJ300001 side=SELL qty=1000 px=10.20\n")
        b1.expect("ACK seq=1 cid=q1 oid=1 ")
        _ = marketData(watcher, through: "QUOTE sym=ZJ300001 mdseq=1 qid=1 side=SELL qty=1000 px=10.20 broker=B01")
        b1.send("CANCEL cid=q1\n")
        XCTAssertEqual(untimed(b1.expect("CANCELED ")), "CANCELED seq=2 cid=q1 oid=1 leaves=0 reason=USER")
        let gone = marketData(watcher, through: "QUOTE sym=ZJ300001 mdseq=2 qid=1 side=SELL qty=0 px=10.20 broker=B01")
        XCTAssertEqual(gone.lines, ["QUOTE sym=ZJ300001 mdseq=2 qid=1 side=SELL qty=0 px=10.20 broker=B01"])
        XCTAssertEqual(gone.books, [])
        checkQuiet([b1, watcher])
        let late = Client(port: server.port)
        late.login("B03", "secret3")  // replaces the watcher's session
        late.send("SUB sym=ZJ300001 depth=5\n")
        XCTAssertEqual(untimed(late.expect("BOOK ")), "BOOK sym=ZJ300001 mdseq=2 bids= asks=")
        checkQuiet([late])
        XCTAssertEqual(server.terminate(), 0)
    }

    /// A board larger than a session's output bound reaches a late subscriber whole, in qid order,
    /// over several rounds, without it being taken for a slow consumer.
    func testALargeBoardReachesALateSubscriberWithinTheOutputBound() throws {
        let (server, b1, _, watcher) = try start("board", subscribe: false, extra: ["--session-output-bytes", "32768"])
        let quotes = 1_500
        // A hundred at a time: B01's own ACKs stay within the same small bound.
        for first in stride(from: 1, through: quotes, by: 100) {
            let run = first..<min(first + 100, quotes + 1)
            b1.send(run.map { "QUOTE cid=q\($0) acct=A1001 sym=ZJ300001 side=SELL qty=100 px=10.20\n" }.joined())
            for n in run where !b1.expect("ACK seq=\(n) cid=q\(n) oid=\(n) ").hasPrefix("ACK") { return XCTFail("quote \(n)") }
        }
        watcher.send("SUB sym=ZJ300001 depth=5\n")
        XCTAssertEqual(untimed(watcher.expect("BOOK ")), "BOOK sym=ZJ300001 mdseq=\(quotes) bids= asks=")
        for n in 1...quotes {
            let line = untimed(watcher.expect("QUOTE "))
            XCTAssertEqual(line, "QUOTE sym=ZJ300001 mdseq=\(n) qid=\(n) side=SELL qty=100 px=10.20 broker=B01")
            if line.isEmpty { break }
        }
        checkQuiet([watcher])
        XCTAssertEqual(server.terminate(), 0)
    }

    /// Quotes change while a large board is still being sent to a late subscriber: B02 takes half
    /// of twenty of them, B01 cancels ten. Whatever the interleaving, the subscriber gets each
    /// state of a quote at most once, never an older one after a newer, and ends with the board as
    /// it is.
    func testABoardBeingSentMeetsLiveChangesOnce() throws {
        let (server, b1, b2, watcher) = try start("changes", subscribe: false, extra: ["--session-output-bytes", "32768"])
        let quotes = 1_500
        for first in stride(from: 1, through: quotes, by: 100) {
            let run = first..<min(first + 100, quotes + 1)
            b1.send(run.map { "QUOTE cid=q\($0) acct=A1001 sym=ZJ300001 side=SELL qty=200 px=10.20\n" }.joined())
            for n in run where !b1.expect("ACK seq=\(n) cid=q\(n) oid=\(n) ").hasPrefix("ACK") { return XCTFail("quote \(n)") }
        }
        let taken = Array(1_401...1_420), canceled = Array(1...5) + Array(1_491...1_495)
        watcher.send("SUB sym=ZJ300001 depth=5\n")
        b2.send(taken.map { "ACCEPT cid=a\($0) acct=A2001 quote=\($0) qty=100\n" }.joined())
        b1.send(canceled.map { "CANCEL cid=q\($0)\n" }.joined())
        for n in taken { b2.expect("ACK seq=\(2 * n - 2801) cid=a\(n) "); b2.expect("FILL seq=\(2 * n - 2800) cid=a\(n) ") }
        // B01's makers' FILLs and its CANCELEDs, in whatever order the two brokers' lines were sequenced.
        var answers = 0
        let told = b1.lines { answers += $0.hasPrefix("FILL ") || $0.hasPrefix("CANCELED ") ? 1 : 0; return answers == 30 }
        XCTAssertEqual(told.filter { $0.hasPrefix("CANCELED ") }.count, canceled.count, "\(told)")
        watcher.send("PING t=end\n")
        var seen: [String] = [], last = false, pong = false
        while !(last && pong), let l = watcher.line(timeout: 10) {
            seen.append(l)
            last = last || field(l, "qid") == "\(quotes)"
            pong = pong || l == "PONG t=end"
        }
        XCTAssertTrue(last && pong, "the board and the PONG came")
        var state: [String: (mdseq: Int, qty: String)] = [:]
        for l in seen where l.hasPrefix("QUOTE ") {
            let qid = field(l, "qid")!, mdseq = Int(field(l, "mdseq")!)!
            if let before = state[qid] { XCTAssertLessThan(before.mdseq, mdseq, "quote \(qid) again or older: \(l)") }
            state[qid] = (mdseq, field(l, "qty")!)
        }
        for n in 1...quotes {
            let expected = canceled.contains(n) ? nil : taken.contains(n) ? "100" : "200"
            let got = state["\(n)"].flatMap { $0.qty == "0" ? nil : $0.qty }
            XCTAssertEqual(got, expected, "quote \(n) as the subscriber last heard of it")
        }
        XCTAssertEqual(seen.filter { $0.hasPrefix("TRADE ") }.count, taken.count)
        XCTAssertEqual(server.terminate(), 0)
    }

    // MARK: - Helpers

    /// A line without its `ts=` (the wall clock's).
    func untimed(_ line: String) -> String {
        line.split(separator: " ").filter { !$0.hasPrefix("ts=") }.joined(separator: " ")
    }

    /// A subscriber's market data through the line `last` (untimed): the `TRADE` and `QUOTE`
    /// lines, and apart from them the `BOOK`s (pictures follow the batch that changed the book,
    /// so where one falls among the lines is not fixed).
    func marketData(_ c: Client, through last: String, file: StaticString = #filePath, line: UInt = #line)
        -> (lines: [String], books: [String]) {
        var lines: [String] = [], books: [String] = []
        let seen = c.lines { untimed($0) == last }.filter { $0 != "HEARTBEAT" }.map(untimed)
        for l in seen { if l.hasPrefix("BOOK ") { books.append(l) } else { lines.append(l) } }
        XCTAssertEqual(lines.last, last, "never came; saw \(seen)", file: file, line: line)
        return (lines, books)
    }

    /// The lines' mdseq run on by one from `first`.
    func checkGapFree(_ lines: [String], from first: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(lines.map { field($0, "mdseq") }, (first..<(first + lines.count)).map { "\($0)" },
                       "mdseq gap-free: \(lines)", file: file, line: line)
    }

    /// Each session has nothing more: a `PING`'s answer comes out after everything its earlier
    /// lines and the commands before them caused, so whatever was still coming would come first.
    func checkQuiet(_ clients: [Client], file: StaticString = #filePath, line: UInt = #line) {
        for (n, c) in clients.enumerated() {
            c.send("PING t=quiet\(n)\n")
            let seen = c.lines { $0 == "PONG t=quiet\(n)" }.filter { $0 != "HEARTBEAT" }
            XCTAssertEqual(seen, ["PONG t=quiet\(n)"], "nothing else", file: file, line: line)
        }
    }
}

/// A small market for negotiated transfer: ZJ300001 (`mode: NEGOTIATED`, reference 10.00, band
/// 10 %, lot 100); B01's A1001 holds 400,000 of it, B02's A2001 has cash and 5,000; B03 watches.
enum NegotiatedMarket {
    static let json = """
        { "tradingDate": "2026-12-01", "timeZone": "+08:00",
          "instruments": [ { "symbol": "ZJ300001", "name": "Lishui Bamboo", "tick": "0.01", "lot": 100,
                             "referencePrice": "10.00", "bandPercent": 10, "mode": "NEGOTIATED" } ],
          "brokers": [ { "id": "B01", "token": "secret1" }, { "id": "B02", "token": "secret2" },
                       { "id": "B03", "token": "secret3" } ],
          "accounts": [
            { "id": "A1001", "broker": "B01", "qualifiedUntil": "2027-12-31", "cash": "1000000.00",
              "holdings": { "ZJ300001": 400000 } },
            { "id": "A2001", "broker": "B02", "qualifiedUntil": "2027-12-31", "cash": "1000000.00",
              "holdings": { "ZJ300001": 5000 } } ] }
        """

    /// Written beside the data directory; returns its path.
    static func write(beside dir: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir + "-cfg", withIntermediateDirectories: true)
        let path = dir + "-cfg/market.json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
