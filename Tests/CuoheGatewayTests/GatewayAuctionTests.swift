import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The call auction and the trading schedule as brokers meet them: the real `cuohe serve`, real
/// sockets. An auction collects crossing orders, shows its indicative price in `BOOK` and
/// uncrosses at one price; a schedule fires on its own on a day nobody trades, once, and only
/// operators hear of it.
final class GatewayAuctionTests: XCTestCase {
    override func setUp() { signal(SIGPIPE, SIG_IGN) }

    /// An auction on the demo's ZJ100231 (reference 12.00): a buy of 300 at 12.30 and a sell
    /// of 200 at 12.10 cross without trading. Every tick from 12.10 to 12.30 executes 200 with an
    /// imbalance of 100 (below 12.10 nothing sells, above 12.30 nothing buys), so the reference
    /// decides: 12.10 is the nearest to 12.00.
    func testAnAuctionOverTheWire() throws {
        let server = try ServerProcess(data: ServerProcess.temporaryDirectory("auction"))
        let ops = Client(port: server.port), b1 = Client(port: server.port)
        let b2 = Client(port: server.port), watcher = Client(port: server.port)
        ops.login("OPS", "opsecret")
        b1.login("B01", "secret1")
        b2.login("B02", "secret2")
        watcher.login("B03", "secret3")
        watcher.send("SUB sym=ZJ100231 depth=5\n")
        let continuous = watcher.expect("BOOK sym=ZJ100231 mdseq=0 bids= asks= ")
        XCTAssertNil(field(continuous, "iop"), "no indicative price outside an auction: \(continuous)")

        phase(ops, "AUCTION")
        let empty = try book(watcher) { field($0, "iop") != nil }
        XCTAssertTrue(empty.contains(" bids= asks= iop= iov= ts="), "nothing would trade yet: \(empty)")

        collectCrossingOrders(b1, b2)
        let crossed = try book(watcher) { $0.contains(" bids=12.30:300 asks=12.10:200 ") && field($0, "iop") != "" }
        XCTAssertEqual(field(crossed, "iop"), "12.10", crossed)
        XCTAssertEqual(field(crossed, "iov"), "200", crossed)
        XCTAssertEqual(field(crossed, "mdseq"), "0", "nothing traded: \(crossed)")

        rejectsWhatCannotRest(b1)
        phase(ops, "OPEN")
        try checkUncross(b1, b2, watcher)
        XCTAssertEqual(server.terminate(), 0)
    }

    /// The operator moves ZJ100231's phase and gets its own `OK` (the demo's scheduled
    /// `OK`s for ZJ200077 may come in between: skipped).
    func phase(_ ops: Client, _ phase: String, file: StaticString = #filePath, line: UInt = #line) {
        ops.send("PHASE sym=ZJ100231 phase=\(phase)\n")
        let ok = ops.lines { $0.hasPrefix("OK verb=PHASE sym=ZJ100231 ") }.last ?? ""
        XCTAssertTrue(ok.hasPrefix("OK verb=PHASE sym=ZJ100231 phase=\(phase) ts="), "got \(ok)", file: file, line: line)
    }

    /// The first `BOOK` that `matches`. Pictures may be conflated, so the ones before it are
    /// passed over; none within the timeout fails with what was seen.
    func book(_ c: Client, file: StaticString = #filePath, line: UInt = #line,
              matching matches: (String) -> Bool) throws -> String {
        let seen = c.lines { $0.hasPrefix("BOOK ") && matches($0) }
        guard let last = seen.last, last.hasPrefix("BOOK "), matches(last) else {
            XCTFail("no such BOOK; saw \(seen)", file: file, line: line)
            throw CocoaError(.coderValueNotFound)
        }
        return last
    }

    /// The two crossing orders rest: each broker gets its `ACK` and nothing more. A `PING`'s
    /// answer comes out after everything its broker's earlier lines caused, so a `FILL` would
    /// come before the `PONG`.
    func collectCrossingOrders(_ b1: Client, _ b2: Client) {
        b1.send("NEW cid=bid acct=A1001 sym=ZJ100231 side=BUY qty=300 px=12.30\nPING t=b1\n")
        b1.expect("ACK seq=1 cid=bid ")
        b1.expect("PONG t=b1")
        b2.send("NEW cid=ask acct=A2001 sym=ZJ100231 side=SELL qty=200 px=12.10\nPING t=b2\n")
        b2.expect("ACK seq=1 cid=ask ")
        b2.expect("PONG t=b2")
    }

    /// An auction takes only limit orders that can rest: IOC, FOK and MARKET are refused, each
    /// with its `seq` (it reached the core).
    func rejectsWhatCannotRest(_ b1: Client) {
        b1.send("NEW cid=ioc acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.30 tif=IOC\n"
                + "NEW cid=fok acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.30 tif=FOK\n"
                + "NEW cid=mkt acct=A1001 sym=ZJ100231 side=SELL qty=100 type=MARKET\n")
        for (seq, cid) in [(2, "ioc"), (3, "fok"), (4, "mkt")] {
            let rej = b1.expect("REJ seq=\(seq) cid=\(cid) ")
            XCTAssertEqual(field(rej, "reason"), "MARKET_CLOSED", rej)
            XCTAssertEqual(field(rej, "detail"), "AUCTION", rej)
        }
    }

    /// Leaving the auction: one trade of 200 at 12.10, the buy's and the sell's `FILL` with
    /// `liq=AUCTION`, the public `TRADE kind=AUCTION`, then a picture of the continuous book
    /// (the buy's 100 left at 12.30) without `iop`.
    func checkUncross(_ b1: Client, _ b2: Client, _ watcher: Client) throws {
        let buy = b1.expect("FILL seq=5 cid=bid ")
        let sell = b2.expect("FILL seq=2 cid=ask ")
        for (fill, leaves) in [(buy, "100"), (sell, "0")] {
            XCTAssertEqual(field(fill, "px"), "12.10", fill)
            XCTAssertEqual(field(fill, "qty"), "200", fill)
            XCTAssertEqual(field(fill, "cum"), "200", fill)
            XCTAssertEqual(field(fill, "leaves"), leaves, fill)
            XCTAssertEqual(field(fill, "liq"), "AUCTION", fill)
        }
        XCTAssertEqual(field(buy, "tid"), field(sell, "tid"), "one trade, both sides")
        let trade = watcher.lines { $0.hasPrefix("TRADE ") }.last ?? ""
        XCTAssertTrue(trade.hasPrefix("TRADE sym=ZJ100231 mdseq=1 "), trade)
        XCTAssertEqual(field(trade, "tid"), field(buy, "tid"), trade)
        XCTAssertEqual(field(trade, "px"), "12.10", trade)
        XCTAssertEqual(field(trade, "qty"), "200", trade)
        XCTAssertEqual(field(trade, "kind"), "AUCTION", trade)
        let after = try book(watcher) { _ in true }
        XCTAssertTrue(after.hasPrefix("BOOK sym=ZJ100231 mdseq=1 bids=12.30:100 asks= ts="), after)
        XCTAssertNil(field(after, "iop"), "no indicative price once open: \(after)")
        XCTAssertNil(field(after, "iov"), after)
    }

    /// A schedule on today's date fires by the server's own timer while nobody sends anything:
    /// the operator gets each `OK` stamped exactly with its entry's time. A restart on the same
    /// data finds both in the journal and issues neither again.
    func testTheScheduleFiresOnASilentDay() throws {
        guard let day = ScheduledDay.soon() else {
            print("SKIPPED silent-day schedule: its entries would pass midnight UTC")
            return
        }
        let dir = ServerProcess.temporaryDirectory("schedule")
        let config = try day.writeConfig(beside: dir, operators: [("OPS", "opsecret")])
        var server = try ServerProcess(data: dir, config: config, metrics: true)
        let ops = Client(port: server.port)
        ops.login("OPS", "opsecret", hb: 30)  // no heartbeat lines, and no timeout while silent
        guard day.stillAhead() else {
            print("SKIPPED silent-day schedule: the server took too long to start for an entry 3 s ahead")
            return
        }
        let received = day.operatorOKs(ops)
        XCTAssertEqual(received.map(\.line), day.expectedOKs)
        for (got, due) in zip(received, [day.auctionTs, day.openTs]) {
            XCTAssertGreaterThanOrEqual(got.at, due, "issued no earlier than scheduled: \(got.line)")
            XCTAssertLessThan(got.at, due + 5_000_000_000, "issued on time, not at a later command: \(got.line)")
        }
        XCTAssertEqual(try metric("cuohe_scheduled_phases_total", server), "2")
        XCTAssertEqual(server.terminate(), 0)

        server = try ServerProcess(data: dir, metrics: true)
        let again = Client(port: server.port)
        again.login("OPS", "opsecret", hb: 30)
        again.send("PING t=r\n")
        XCTAssertEqual(again.lines { $0 == "PONG t=r" }, ["PONG t=r"], "no PHASE issued again")
        XCTAssertEqual(try metric("cuohe_scheduled_phases_total", server), "0")
        XCTAssertEqual(server.terminate(), 0)
        XCTAssertEqual(try journalDump(dir), [
            "seq=1 ts=\(day.auctionTs) (schedule) PHASE sym=ZJ100231 phase=AUCTION",
            "seq=2 ts=\(day.openTs) (schedule) PHASE sym=ZJ100231 phase=OPEN",
        ])
    }

    /// A scheduled `PHASE`'s `OK` goes to every operator broker's session and to nobody else: a
    /// broker logged in all along reads nothing of it.
    func testAScheduledPhaseReachesEveryOperatorAndNobodyElse() throws {
        guard let day = ScheduledDay.soon() else {
            print("SKIPPED scheduled PHASE audience: its entries would pass midnight UTC")
            return
        }
        let dir = ServerProcess.temporaryDirectory("audience")
        let config = try day.writeConfig(beside: dir, operators: [("OPS", "opsecret"), ("OP2", "op2secret")])
        let server = try ServerProcess(data: dir, config: config)
        let ops = Client(port: server.port), op2 = Client(port: server.port), b1 = Client(port: server.port)
        ops.login("OPS", "opsecret", hb: 30)
        op2.login("OP2", "op2secret", hb: 30)
        b1.login("B01", "secret1", hb: 30)
        guard day.stillAhead() else {
            print("SKIPPED scheduled PHASE audience: the server took too long to start for an entry 3 s ahead")
            return
        }
        XCTAssertEqual(day.operatorOKs(ops).map(\.line), day.expectedOKs)
        XCTAssertEqual(day.operatorOKs(op2).map(\.line), day.expectedOKs)
        // The PING is sequenced after both PHASEs, so an OK meant for B01 would come before its PONG.
        b1.send("PING t=b\n")
        XCTAssertEqual(b1.lines { $0 == "PONG t=b" }, ["PONG t=b"], "a broker without the operator role hears nothing")
        XCTAssertNil(b1.line(timeout: 0.5), "nor later")
        XCTAssertEqual(server.terminate(), 0)
    }

    /// One sample's value on the server's `/metrics` page.
    func metric(_ name: String, _ server: ServerProcess) throws -> String? {
        let page = try XCTUnwrap(GatewayMetricsTests.get(port: try XCTUnwrap(server.metricsPort), path: "/metrics"))
        let sample = page.body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return sample.map { String($0.dropFirst(name.count + 1)) }
    }

    /// `cuohe journal dump DIR`'s lines.
    func journalDump(_ data: String) throws -> [String] {
        let dump = Process()
        dump.executableURL = ServerProcess.binary
        dump.arguments = ["journal", "dump", data]
        let out = Pipe()
        dump.standardOutput = out
        try dump.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        dump.waitUntilExit()
        XCTAssertEqual(dump.terminationStatus, 0)
        return text.split(separator: "\n").map(String.init)
    }
}

/// Today's UTC trading date with a schedule a few seconds ahead: ZJ100231 goes to `AUCTION` at
/// `auctionAt` and `OPEN` 2 s later (seconds of the day, `timeZone` `+00:00`).
struct ScheduledDay {
    let date: String
    let midnight: Int64
    let auctionAt: Int64
    var openAt: Int64 { auctionAt + 2 }
    var auctionTs: Int64 { (midnight + auctionAt) * 1_000_000_000 }
    var openTs: Int64 { (midnight + openAt) * 1_000_000_000 }

    /// Entries are whole seconds: the next second but three is 3 to 4 s ahead. Nil when the day
    /// would end first.
    static func soon() -> ScheduledDay? {
        let now = wallNanos() / 1_000_000_000
        let midnight = now - now % 86_400
        let day = ScheduledDay(date: civilDate(midnight), midnight: midnight, auctionAt: now - midnight + 4)
        return day.openAt < 86_400 ? day : nil
    }

    /// At least half a second left before the first entry, for the sessions to be in place.
    func stillAhead() -> Bool { ScheduledDay.wallNanos() < auctionTs - 500_000_000 }

    static func wallNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func civilDate(_ seconds: Int64) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let d = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        return "\(d.year!)-\(two(d.month!))-\(two(d.day!))"
    }

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func hms(_ secondOfDay: Int64) -> String {
        let s = Int(secondOfDay)
        return "\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))"
    }

    var expectedOKs: [String] {
        ["OK verb=PHASE sym=ZJ100231 phase=AUCTION ts=\(auctionTs)", "OK verb=PHASE sym=ZJ100231 phase=OPEN ts=\(openTs)"]
    }

    /// A small market: ZJ100231 with the schedule, B01 with one account, and the `operators`.
    /// Written beside the data directory.
    func writeConfig(beside dir: String, operators: [(id: String, token: String)]) throws -> String {
        let brokers = operators.map { "{ \"id\": \"\($0.id)\", \"token\": \"\($0.token)\", \"operator\": true }" }
        let json = """
        { "tradingDate": "\(date)", "timeZone": "+00:00",
          "instruments": [ { "symbol": "ZJ100231", "name": "Lingxi", "tick": "0.01", "lot": 100,
                             "referencePrice": "12.00", "bandPercent": 10,
                             "schedule": [ { "at": "\(ScheduledDay.hms(auctionAt))", "phase": "AUCTION" },
                                           { "at": "\(ScheduledDay.hms(openAt))", "phase": "OPEN" } ] } ],
          "brokers": [ { "id": "B01", "token": "secret1" }, \(brokers.joined(separator: ", ")) ],
          "accounts": [ { "id": "A1001", "broker": "B01", "cash": "1000000.00", "holdings": { "ZJ100231": 5000 } } ] }
        """
        try FileManager.default.createDirectory(atPath: dir + "-cfg", withIntermediateDirectories: true)
        let path = dir + "-cfg/market.json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The next two lines other than heartbeats, each with the wall-clock time it was read,
    /// waiting until a few seconds past the second entry.
    func operatorOKs(_ c: Client) -> [(line: String, at: Int64)] {
        var got: [(line: String, at: Int64)] = []
        let deadline = openTs + 6_000_000_000
        while got.count < 2 {
            let left = Double(deadline - ScheduledDay.wallNanos()) / 1e9
            guard left > 0, let l = c.line(timeout: left) else { break }
            if l != "HEARTBEAT" { got.append((l, ScheduledDay.wallNanos())) }
        }
        return got
    }
}
