import XCTest
import Foundation

/// Every session rule of PROTOCOL.md, over real TCP on 127.0.0.1 against `cuohe serve`.
final class GatewaySessionTests: XCTestCase {
    override func setUp() { signal(SIGPIPE, SIG_IGN) }

    /// Two brokers and an operator trade a session: orders, fills, status, replace, cancel,
    /// halt, deposit, stats, market data; and neither broker sees or touches the other's.
    func testAFullTradingSessionThroughTwoBrokersAndAnOperator() throws {
        let server = try ServerProcess(data: ServerProcess.temporaryDirectory("session"))
        let b1 = Client(port: server.port), b2 = Client(port: server.port), ops = Client(port: server.port)
        XCTAssertEqual(b1.login("B01", "secret1"), 1)
        XCTAssertEqual(b2.login("B02", "secret2"), 1)
        ops.login("OPS", "opsecret")
        b2.send("SUB sym=ZJ100231 depth=2\n")
        XCTAssertTrue(b2.expect("BOOK sym=ZJ100231 mdseq=0").contains("bids= asks="))  // the picture on subscribe
        b1.send("NEW cid=b1 acct=A1001 sym=ZJ100231 side=BUY qty=300 px=12.30\n")
        let ack = b1.expect("ACK seq=1 cid=b1 oid=")
        XCTAssertEqual(field(ack, "qty"), "300")
        XCTAssertTrue(b2.expect("BOOK sym=ZJ100231").contains("bids=12.30:300 asks="))
        // Isolation: B02 can neither cancel B01's order nor trade B01's account.
        b2.send("CANCEL cid=b1\n")
        b2.expect("REJ seq=1 cid=b1 reason=UNKNOWN_ORDER")
        b2.send("NEW cid=x1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.30\n")
        b2.expect("REJ seq=2 cid=x1 reason=NOT_YOUR_ACCOUNT")
        b2.send("NEW cid=s1 acct=A2001 sym=ZJ100231 side=SELL qty=100 px=12.30\n")
        b2.expect("ACK seq=3 cid=s1")
        let takerFill = b2.expect("FILL seq=4 cid=s1")
        XCTAssertEqual(field(takerFill, "liq"), "TAKER")
        let trade = b2.expect("TRADE sym=ZJ100231 mdseq=1")
        XCTAssertEqual(field(trade, "qty"), "100")
        XCTAssertTrue(b2.expect("BOOK sym=ZJ100231").contains("bids=12.30:200 asks="))
        let makerFill = b1.expect("FILL seq=2 cid=b1")
        XCTAssertEqual(field(makerFill, "leaves"), "200")
        XCTAssertEqual(field(makerFill, "liq"), "MAKER")
        b1.send("STATUS cid=b1\n")
        XCTAssertEqual(field(b1.expect("STATUS seq=3 cid=b1"), "state"), "PARTIAL")
        b1.send("REPLACE cid=b1 newcid=b1r qty=200\n")
        b1.expect("REPLACED seq=4 cid=b1")
        // Operator verbs: a broker without the role is refused; the operator's take effect.
        b1.send("HALT sym=ZJ100231\n")
        b1.expect("REJ reason=NOT_PERMITTED")
        ops.send("HALT sym=ZJ100231\n")
        ops.expect("OK verb=HALT sym=ZJ100231")
        b1.send("NEW cid=b2 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00\n")
        b1.expect("REJ seq=5 cid=b2 reason=HALTED")
        b1.send("CANCEL cid=b1r\n")
        b1.expect("CANCELED seq=6 cid=b1r")
        ops.send("RESUME sym=ZJ100231\nDEPOSIT acct=A1001 amount=100\nSTATS\n")
        ops.expect("OK verb=RESUME")
        XCTAssertNotNil(field(ops.expect("OK verb=DEPOSIT acct=A1001 amount=100"), "cash"))
        XCTAssertEqual(field(ops.expect("STATS commands="), "trades"), "1")
        // B01 saw only its own messages, B02 only its own and the public ones.
        b1.send("PING t=end\n")
        b1.expect("PONG t=end")
        b2.send("PING t=end\n")
        let rest = b2.lines(timeout: 5) { $0 == "PONG t=end" }
        XCTAssertFalse(rest.contains { $0.contains("cid=b1") || $0.contains("A1001") }, "\(rest)")
        XCTAssertEqual(server.terminate(), 0)
        XCTAssertEqual(b1.expect("BYE reason=SHUTDOWN"), "BYE reason=SHUTDOWN")
        XCTAssertTrue(b1.waitClosed())
    }

    /// Every `REJ` a session itself can produce, and the session rules around `LOGIN`.
    func testTheSessionsOwnRejectsAndLoginRules() throws {
        let server = try ServerProcess(data: ServerProcess.temporaryDirectory("rejects"))
        let c = Client(port: server.port)
        c.send("NEW cid=early acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12\n")
        c.expect("REJ cid=early reason=NOT_LOGGED_IN ts=")
        c.send("PING\n")
        c.expect("REJ reason=NOT_LOGGED_IN")
        c.send("\n# a comment\n\r\n")
        c.login("B01", "secret1")
        c.send("NEW cid=m1 acct=A1001 sym=ZJ100231 side=BUY qty=100\n")
        c.expect("REJ seq=1 cid=m1 reason=BAD_PRICE")  // well formed: reaches the core, carries seq
        c.send("NEW cid=m2 acct=A1001 sym=ZJ100231 side=UP qty=100 px=12\n")
        c.expect("REJ cid=m2 reason=MALFORMED detail=BAD_SIDE ts=")
        c.send("FROB cid=z\n")
        c.expect("REJ cid=z reason=UNKNOWN_VERB")
        c.send("NEW cid=m3 cid=m3 acct=A1001\n")
        c.expect("REJ cid=m3 reason=MALFORMED")
        c.send("LOGIN broker=B01 token=secret1\n")
        c.expect("REJ reason=MALFORMED detail=ALREADY_LOGGED_IN")
        c.send("SUB sym=NOPE depth=5\nSUB sym=ZJ100231 depth=99\nUNSUB sym=NOPE\n")
        c.expect("REJ reason=UNKNOWN_SYMBOL")
        c.expect("REJ reason=MALFORMED detail=BAD_DEPTH")
        c.expect("REJ reason=UNKNOWN_SYMBOL")
        // 1,023 bytes and \n is a line; 1,024 and \n is too long, and the rest of it is dropped.
        c.send("PING t=" + String(repeating: "a", count: 1016) + "\n")
        XCTAssertEqual(c.expect("PONG t=").count, 1016 + 7)
        c.send("PING t=" + String(repeating: "a", count: 1017) + "\n")
        c.expect("REJ reason=LINE_TOO_LONG")
        c.send(String(repeating: "x", count: 5000))
        c.expect("REJ reason=LINE_TOO_LONG")
        c.send(String(repeating: "y", count: 5000) + " NEW cid=tail\nPING t=after\n")
        c.expect("PONG t=after")  // the session stays up, the rest of the long line gone
        c.send("LOGOUT\n")
        c.expect("BYE reason=LOGOUT")
        XCTAssertTrue(c.waitClosed())

        let bad = Client(port: server.port)
        bad.send("LOGIN broker=B01 token=wrong\n")
        bad.expect("REJ reason=AUTH")
        XCTAssertTrue(bad.waitClosed())
        let unknown = Client(port: server.port)
        unknown.send("LOGIN broker=NOPE token=secret1\n")
        unknown.expect("REJ reason=AUTH")
        XCTAssertTrue(unknown.waitClosed())
        let ahead = Client(port: server.port)
        ahead.send("LOGIN broker=B01 token=secret1 resume=2\n")
        ahead.expect("REJ reason=SEQ_AHEAD")
        XCTAssertTrue(ahead.waitClosed())
        // One live session per broker: the older is told REPLACED and closed.
        let first = Client(port: server.port), second = Client(port: server.port)
        first.login("B02", "secret2")
        XCTAssertEqual(second.login("B02", "secret2", resume: 0), 1)
        first.expect("BYE reason=REPLACED")
        XCTAssertTrue(first.waitClosed())
        second.send("PING\n")
        second.expect("PONG")
        XCTAssertEqual(server.terminate(), 0)
    }

    /// `LOGIN resume=N` replays every order message after N, in order, gap-free: after a dropped
    /// connection and after the engine restarts.
    func testResumeAfterADroppedConnectionAndAfterARestart() throws {
        let data = ServerProcess.temporaryDirectory("resume")
        var server = try ServerProcess(data: data)
        var c = Client(port: server.port)
        c.login("B01", "secret1")
        for i in 1...20 { c.send("NEW cid=r\(i) acct=A1001 sym=ZJ100231 side=BUY qty=100 px=11.\(10 + i)\n") }
        c.send("NEW cid=bad acct=A1001 sym=ZJ100231 side=BUY qty=100 px=99\n")
        var seen = c.lines { $0.hasPrefix("REJ seq=21") }
        XCTAssertEqual(seen.count, 21)
        c = Client(port: server.port)  // the old connection is dropped
        XCTAssertEqual(c.login("B01", "secret1", resume: 15), 22)
        XCTAssertEqual(c.lines { $0.hasPrefix("REJ seq=21") }, Array(seen[15...]))
        c.send("CANCEL cid=r1\n")
        seen.append(c.expect("CANCELED seq=22 cid=r1"))
        XCTAssertEqual(server.terminate(), 0)
        server = try ServerProcess(data: data)
        c = Client(port: server.port)
        XCTAssertEqual(c.login("B01", "secret1", resume: 0), 23)
        XCTAssertEqual(c.lines { $0.hasPrefix("CANCELED seq=22") }, seen, "every message, told again after a restart")
        c.send("CANCEL cid=r2\n")
        c.expect("CANCELED seq=23 cid=r2")
        XCTAssertEqual(server.terminate(), 0)
    }

    /// A resume older than the memory history is told again from the journal.
    func testAResumeOlderThanMemoryComesFromTheJournal() throws {
        let server = try ServerProcess(data: ServerProcess.temporaryDirectory("oldresume"), extra: ["--history-messages", "4"])
        var c = Client(port: server.port)
        c.login("B01", "secret1")
        for i in 1...12 { c.send("NEW cid=o\(i) acct=A1001 sym=ZJ100231 side=BUY qty=100 px=11.\(10 + i)\n") }
        let seen = c.lines { $0.hasPrefix("ACK seq=12") }
        XCTAssertEqual(seen.count, 12)
        c = Client(port: server.port)
        XCTAssertEqual(c.login("B01", "secret1", resume: 1), 13)
        XCTAssertEqual(c.lines { $0.hasPrefix("ACK seq=12") }, Array(seen[1...]))
        XCTAssertEqual(server.terminate(), 0)
    }

    /// Throttling at the broker's `maxMessagesPerSecond`: a token bucket of a second's worth.
    func testThrottlingAtTheBrokersRate() throws {
        let dir = ServerProcess.temporaryDirectory("throttle")
        try FileManager.default.createDirectory(atPath: dir + "-cfg", withIntermediateDirectories: true)
        let config = dir + "-cfg/market.json"
        try GatewaySessionTests.market(rate: 5).write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ServerProcess(data: dir, config: config)
        let c = Client(port: server.port)
        c.login("B01", "secret1")
        c.send(String(repeating: "PING\n", count: 20))
        let answers = (0..<20).map { _ in c.expect("") }
        // Lines after LOGIN count: the bucket holds five.
        XCTAssertEqual(answers.filter { $0 == "PONG" }.count, 5, "\(answers)")
        XCTAssertEqual(answers.filter { $0.hasPrefix("REJ reason=THROTTLED") }.count, 15)
        usleep(1_100_000)
        c.send("NEW cid=t1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12\n")
        c.expect("ACK seq=1 cid=t1")
        XCTAssertEqual(server.terminate(), 0)
    }

    /// Heartbeats after `hb` idle seconds; `BYE reason=TIMEOUT` after 3 × `hb` of silence.
    func testHeartbeatsAndTheTimeout() throws {
        let server = try ServerProcess(data: ServerProcess.temporaryDirectory("hb"))
        let c = Client(port: server.port)
        c.login("B01", "secret1", hb: 1)
        let start = Date()
        XCTAssertEqual(c.line(timeout: 3), "HEARTBEAT")
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.8)
        let rest = c.lines(timeout: 6) { $0.hasPrefix("BYE") }
        XCTAssertEqual(rest.last, "BYE reason=TIMEOUT")
        XCTAssertTrue(rest.dropLast().allSatisfy { $0 == "HEARTBEAT" })
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 2.5)
        XCTAssertTrue(c.waitClosed())
        // A session that talks stays up.
        let d = Client(port: server.port)
        d.login("B02", "secret2", hb: 1)
        for _ in 0..<8 {
            usleep(500_000)
            d.send("PING\n")
        }
        XCTAssertFalse(d.lines(timeout: 0.5) { $0.hasPrefix("BYE") }.contains { $0.hasPrefix("BYE") })
        XCTAssertEqual(server.terminate(), 0)
    }

    /// A broker that never reads is disconnected once its unsent output passes the bound; its
    /// messages are all there when it resumes.
    func testAClientThatNeverReadsIsASlowConsumerAndLosesNothing() throws {
        let server = try ServerProcess(data: ServerProcess.temporaryDirectory("slow"),
                                       extra: ["--session-output-bytes", "65536"])
        let c = Client(port: server.port, receiveBuffer: 4096)
        c.login("B01", "secret1")
        c.send("NEW cid=s acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12\n")
        let batch = String(repeating: "STATUS cid=s\n", count: 1000)
        for _ in 0..<40 { c.send(batch) }  // 40,001 messages of about 110 bytes: far past 64 KiB
        var all = c.lines(timeout: 20) { $0.hasPrefix("BYE") }
        XCTAssertEqual(all.last, "BYE reason=SLOW_CONSUMER")
        all.removeLast()
        let r = Client(port: server.port)
        let next = r.login("B01", "secret1", resume: Int64(all.count))
        XCTAssertGreaterThan(next, Int64(all.count) + 1, "messages were held back for the resume")
        // Every command read before the disconnect is answered: the history, then live.
        let replayed = r.lines(timeout: 30) { field($0, "seq") == "40001" }
        let seqs = (all + replayed).compactMap { field($0, "seq").flatMap { Int($0) } }
        XCTAssertTrue(seqs == Array(1...seqs.count), "gap-free across the disconnect (\(seqs.count) messages)")
        XCTAssertGreaterThanOrEqual(seqs.count, Int(next - 1))
        XCTAssertEqual(server.terminate(), 0)
    }

    /// A connection that never logs in is told `BYE reason=TIMEOUT` and closed.
    func testAConnectionThatNeverLogsInTimesOut() throws {
        let server = try ServerProcess(data: ServerProcess.temporaryDirectory("logintimeout"), extra: ["--login-timeout", "1"])
        let c = Client(port: server.port)
        let start = Date()
        XCTAssertEqual(c.line(timeout: 5), "BYE reason=TIMEOUT")
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.9)
        XCTAssertTrue(c.waitClosed())
        XCTAssertEqual(server.terminate(), 0)
    }

    /// Market data: the picture on `SUB`, a new one after each change, every `TRADE` with a
    /// gap-free `mdseq`, nothing after `UNSUB`, nothing for instruments not subscribed.
    func testMarketDataForSubscribersOnly() throws {
        let server = try ServerProcess(data: ServerProcess.temporaryDirectory("md"))
        let watcher = Client(port: server.port), b1 = Client(port: server.port), b2 = Client(port: server.port)
        watcher.login("B03", "secret3")
        b1.login("B01", "secret1")
        b2.login("B02", "secret2")
        watcher.send("SUB sym=ZJ100231 depth=1\n")
        watcher.expect("BOOK sym=ZJ100231 mdseq=0 bids= asks=")
        b1.send("NEW cid=x acct=A1002 sym=ZJ100518 side=SELL qty=100 px=8.50\n")  // not subscribed
        b1.expect("ACK")
        for (k, px) in ["12.00", "12.10"].enumerated() {
            b1.send("NEW cid=b\(k) acct=A1001 sym=ZJ100231 side=BUY qty=100 px=\(px)\n")
            b1.expect("ACK")
        }
        let picture = watcher.lines { $0.contains("bids=12.10:100 ") }.last ?? ""
        XCTAssertTrue(picture.contains("bids=12.10:100 asks="), "depth 1 shows the best level only: \(picture)")
        for k in 0..<2 {
            b2.send("NEW cid=s\(k) acct=A2001 sym=ZJ100231 side=SELL qty=100 px=12.00\n")
            b2.expect("ACK")
            b2.expect("FILL")
        }
        let seen = watcher.lines { $0.hasPrefix("TRADE") && field($0, "mdseq") == "2" }
        XCTAssertEqual(seen.filter { $0.hasPrefix("TRADE") }.map { field($0, "mdseq")! }, ["1", "2"])
        XCTAssertFalse(seen.contains { $0.contains("ZJ100518") })
        watcher.send("UNSUB sym=ZJ100231\nPING t=u\n")
        _ = watcher.lines { $0 == "PONG t=u" }
        b1.send("NEW cid=b9 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00\n")
        XCTAssertTrue(b1.lines { $0.hasPrefix("ACK") && $0.contains("cid=b9 ") }.last?.contains("cid=b9 ") ?? false)
        b2.send("NEW cid=s9 acct=A2001 sym=ZJ100231 side=SELL qty=100 px=12.00\n")
        b2.expect("ACK")
        watcher.send("PING t=v\n")
        XCTAssertEqual(watcher.lines { $0 == "PONG t=v" }, ["PONG t=v"], "nothing after UNSUB")
        XCTAssertEqual(server.terminate(), 0)
    }

    /// Past the connection bound, or the bound on connections not yet logged in, a new
    /// connection is closed at once; the others carry on.
    func testConnectionBoundsRefuseNewcomersAndKeepTheRest() throws {
        let server = try ServerProcess(data: ServerProcess.temporaryDirectory("bounds"),
                                       extra: ["--max-connections", "3", "--max-pending-logins", "2"])
        let a = Client(port: server.port), b = Client(port: server.port)
        a.send("PING\n")
        a.expect("REJ reason=NOT_LOGGED_IN")
        b.send("PING\n")
        b.expect("REJ reason=NOT_LOGGED_IN")
        let third = Client(port: server.port)
        XCTAssertTrue(third.waitClosed(), "a third pending login is refused")
        a.login("B01", "secret1")
        let c = Client(port: server.port)
        c.login("B02", "secret2")
        let fourth = Client(port: server.port)
        XCTAssertTrue(fourth.waitClosed(), "a fourth connection is refused")
        a.send("PING t=a\n")
        a.expect("PONG t=a")
        b.login("B03", "secret3")
        XCTAssertEqual(server.terminate(), 0)
    }

    static func market(rate: Int) -> String {
        """
        { "tradingDate": "2026-12-01",
          "instruments": [ { "symbol": "ZJ100231", "name": "Lingxi", "tick": "0.01", "lot": 100,
                             "referencePrice": "12.00", "bandPercent": 10 } ],
          "brokers": [ { "id": "B01", "token": "secret1", "maxMessagesPerSecond": \(rate) },
                       { "id": "OPS", "token": "opsecret", "operator": true } ],
          "accounts": [ { "id": "A1001", "broker": "B01", "qualifiedUntil": "2027-12-31", "cash": "1000000.00" } ] }
        """
    }
}

/// `cancelOnDisconnect`: a session that ends other than by `LOGOUT` takes its broker's open
/// `DAY` orders with it, through a journaled command (so a restart agrees).
final class CancelOnDisconnectTests: XCTestCase {
    override func setUp() { signal(SIGPIPE, SIG_IGN) }

    func testADroppedSessionCancelsItsDayOrdersAndALogoutDoesNot() throws {
        let dir = ServerProcess.temporaryDirectory("cod")
        try FileManager.default.createDirectory(atPath: dir + "-cfg", withIntermediateDirectories: true)
        let config = dir + "-cfg/market.json"
        try GatewaySessionTests.market(rate: 1000).replacingOccurrences(of: "\"maxMessagesPerSecond\": 1000",
                                                                       with: "\"cancelOnDisconnect\": true")
            .write(toFile: config, atomically: true, encoding: .utf8)
        var server = try ServerProcess(data: dir, config: config)
        var c = Client(port: server.port)
        c.login("B01", "secret1")
        c.send("NEW cid=d1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=11.00\n"
               + "NEW cid=g1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=11.10 tif=GTC\n")
        c.expect("ACK seq=1 cid=d1")
        c.expect("ACK seq=2 cid=g1")
        c.send("LOGOUT\n")
        c.expect("BYE reason=LOGOUT")
        c = Client(port: server.port)
        XCTAssertEqual(c.login("B01", "secret1", resume: 2), 3, "a LOGOUT cancels nothing")
        c.send("NEW cid=d2 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=11.20\n")
        c.expect("ACK seq=3 cid=d2")
        c = Client(port: server.port)  // the old connection is dropped, not logged out
        usleep(300_000)
        let r = Client(port: server.port)
        XCTAssertEqual(r.login("B01", "secret1", resume: 3), 6)
        let canceled = r.lines { $0.hasPrefix("CANCELED seq=5") }
        XCTAssertEqual(canceled.count, 2)
        // Best bid first: d2 (11.20) before d1 (11.00).
        XCTAssertTrue(canceled[0].hasPrefix("CANCELED seq=4 cid=d2 ") && field(canceled[0], "reason") == "ADMIN", canceled[0])
        XCTAssertTrue(canceled[1].hasPrefix("CANCELED seq=5 cid=d1 ") && field(canceled[1], "reason") == "ADMIN", canceled[1])
        r.send("STATUS cid=g1\n")
        XCTAssertEqual(field(r.expect("STATUS seq=6 cid=g1"), "state"), "NEW", "GTC orders stay")
        r.send("LOGOUT\n")
        r.expect("BYE reason=LOGOUT")
        // The journal holds the cancel: after a restart the orders are still gone.
        XCTAssertEqual(server.terminate(), 0)
        server = try ServerProcess(data: dir)
        let again = Client(port: server.port)
        XCTAssertEqual(again.login("B01", "secret1", resume: 6), 7)
        again.send("CANCEL cid=d1\n")
        again.expect("REJ seq=7 cid=d1 reason=ORDER_DONE")
        XCTAssertEqual(server.terminate(), 0)
    }
}
