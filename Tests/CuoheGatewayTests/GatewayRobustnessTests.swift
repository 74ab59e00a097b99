import XCTest
import Foundation
import BenchSupport

/// What a broker cannot do to the gateway: garbage, floods, crowds, a crash under load.
final class GatewayRobustnessTests: XCTestCase {
    override func setUp() { signal(SIGPIPE, SIG_IGN) }

    static let templates = [
        "NEW cid=f1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00",
        "NEW cid=f2 acct=A2001 sym=ZJ100231 side=SELL qty=100 px=12.00 tif=IOC",
        "NEW cid=f3 acct=A1001 sym=ZJ100518 side=BUY qty=100 type=MARKET",
        "CANCEL cid=f1", "REPLACE cid=f1 newcid=f9 qty=200 px=12.10", "STATUS cid=f2",
        "SUB sym=ZJ100231 depth=5", "UNSUB sym=ZJ100231", "PING t=abc", "HALT sym=ZJ100231",
        "DEPOSIT acct=A1001 amount=5", "ROLL date=2026-12-02", "LOGIN broker=B01 token=secret1",
    ]

    /// One fuzz line: random bytes (NULs, control and high bytes, some far past the line
    /// bound), a mutated well-formed line, or a well-formed one.
    static func fuzzLine(_ r: inout SplitMix64) -> [UInt8] {
        switch r.below(10) {
        case 0...2:
            let n = r.below(8) == 0 ? 1000 + r.below(3000) : r.below(80)
            return (0..<n).map { _ in let b = UInt8(truncatingIfNeeded: r.next()); return b == 10 ? 0 : b }
        case 3...7:
            var line = Array(templates[r.below(templates.count)].utf8)
            for _ in 0..<(1 + r.below(4)) {
                let at = r.below(line.count + 1)
                switch r.below(3) {
                case 0 where at < line.count: line.remove(at: at)
                case 1: line.insert(UInt8(truncatingIfNeeded: r.next() | 1) == 10 ? 32 : UInt8(truncatingIfNeeded: r.next() | 1), at: at)
                default: if at < line.count { line[at] = [0, 13, 32, 61, 0xff, 0x80, 9, 65][r.below(8)] }
                }
            }
            return line.map { $0 == 10 ? 32 : $0 }
        default:
            return Array(templates[r.below(templates.count - 1)].utf8)
        }
    }

    /// A million random and mutated lines, split at random points across sends, from three
    /// logged-in brokers and one connection that never logs in; then a well-formed client is
    /// still answered, the server stops cleanly and its journal verifies.
    func testAMillionFuzzLinesLeaveTheServerServing() throws {
        let data = ServerProcess.temporaryDirectory("fuzz")
        let server = try ServerProcess(data: data, metrics: true, extra: ["--durability", "none"])
        let brokers = [("B01", "secret1"), ("B02", "secret2"), ("OPS", "opsecret"), ("", "")]
        var r = SplitMix64(state: 20261201)
        func open(_ k: Int) -> Client {
            let c = Client(port: server.port)
            if !brokers[k].0.isEmpty { c.login(brokers[k].0, brokers[k].1) }
            return c
        }
        var clients = (0..<brokers.count).map(open)
        var reconnects = 0
        var pending = [[UInt8]](repeating: [], count: brokers.count)
        for _ in 0..<1_000_000 {
            let k = r.below(brokers.count)
            pending[k] += GatewayRobustnessTests.fuzzLine(&r) + [10]
            if pending[k].count < 1 + r.below(4096) { continue }
            let cut = r.below(pending[k].count + 1)
            let ok = clients[k].send(Array(pending[k][..<cut]))
            pending[k].removeFirst(cut)
            if !ok || clients[k].drain() < 0 {
                clients[k] = open(k)  // a mutated line may log out or be refused: start again
                reconnects += 1
            }
        }
        for k in 0..<brokers.count { clients[k].send(pending[k] + [10]) }
        XCTAssertTrue(server.process.isRunning)
        let fresh = Client(port: server.port)
        fresh.login("B03", "secret3")
        fresh.send("PING t=alive\n")
        XCTAssertTrue(fresh.lines(timeout: 60) { $0 == "PONG t=alive" }.contains("PONG t=alive"))
        // ZJ100518 is open all day (ZJ200077 starts CLOSED), and no fuzz line can sell A3001's shares.
        fresh.send("NEW cid=ok1 acct=A3001 sym=ZJ100518 side=SELL qty=100 px=8.50\n")
        fresh.expect("ACK", timeout: 30)
        XCTAssertLessThan(reconnects, 100_000)
        let page = try XCTUnwrap(GatewayMetricsTests.get(port: try XCTUnwrap(server.metricsPort), path: "/metrics")).body
        let lines = page.split(separator: "\n").first { $0.hasPrefix("cuohe_lines_in_total ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        let commands = page.split(separator: "\n").first { $0.hasPrefix("cuohe_commands_sequenced_total ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        print("fuzz: \(lines) lines read, \(commands) commands journaled, \(reconnects) reconnects")
        XCTAssertGreaterThan(lines, 700_000, "the lines reached the gateway")
        XCTAssertGreaterThan(commands, 100_000, "mutated lines reached the core")
        XCTAssertEqual(server.terminate(), 0)
        let verify = Process()
        verify.executableURL = ServerProcess.binary
        verify.arguments = ["journal", "verify", data]
        verify.standardOutput = FileHandle.nullDevice
        try verify.run()
        verify.waitUntilExit()
        XCTAssertEqual(verify.terminationStatus, 0, "the journal written under fuzz verifies")
    }

    /// A thousand brokers connected at once, each logged in, each trading.
    func testAThousandConcurrentSessions() throws {
        let dir = ServerProcess.temporaryDirectory("crowd")
        try FileManager.default.createDirectory(atPath: dir + "-cfg", withIntermediateDirectories: true)
        let config = dir + "-cfg/market.json"
        let n = 1000
        let instruments = (0..<5).map {
            "{ \"symbol\": \"ZJ10000\($0)\", \"name\": \"I\($0)\", \"tick\": \"0.01\", \"lot\": 100, \"referencePrice\": \"10.00\", \"bandPercent\": 10 }"
        }
        let brokers = (0..<n).map { "{ \"id\": \"K\($0)\", \"token\": \"t\($0)\" }" }
        let accounts = (0..<n).map {
            "{ \"id\": \"C\($0)\", \"broker\": \"K\($0)\", \"qualifiedUntil\": \"2027-12-31\", \"cash\": \"100000.00\" }"
        }
        try """
        { "tradingDate": "2026-12-01", "instruments": [\(instruments.joined(separator: ","))],
          "brokers": [\(brokers.joined(separator: ","))], "accounts": [\(accounts.joined(separator: ","))] }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ServerProcess(data: dir, config: config, metrics: true)
        let clients = (0..<n).map { _ in Client(port: server.port) }
        for (k, c) in clients.enumerated() { c.send("LOGIN broker=K\(k) token=t\(k)\n") }
        for (k, c) in clients.enumerated() { c.expect("LOGGEDIN broker=K\(k) next=1") }
        for (k, c) in clients.enumerated() {
            c.send("NEW cid=o\(k) acct=C\(k) sym=ZJ10000\(k % 5) side=BUY qty=100 px=\(9 + Double(k % 100) / 100)\n")
        }
        for (k, c) in clients.enumerated() { c.expect("ACK seq=1 cid=o\(k) ") }
        let page = try XCTUnwrap(GatewayMetricsTests.get(port: try XCTUnwrap(server.metricsPort), path: "/metrics"))
        XCTAssertTrue(page.body.contains("cuohe_sessions_connected 1000\n"))
        XCTAssertEqual(server.terminate(), 0)
        for c in clients.prefix(10) { XCTAssertEqual(c.expect("BYE"), "BYE reason=SHUTDOWN") }
    }

    /// The server is killed (SIGKILL) while a broker streams orders; after the restart the
    /// broker's resume tells every line it had received, byte for byte, and the rest, gap-free.
    func testKilledUnderLoadThenResumedNothingMissing() throws {
        let data = ServerProcess.temporaryDirectory("kill")
        var server = try ServerProcess(data: data)
        let c = Client(port: server.port)
        c.login("B01", "secret1")
        var received: [String] = []
        for i in 1...4000 {
            c.send("NEW cid=k\(i) acct=A1001 sym=ZJ100231 side=BUY qty=100 px=\(i % 2 == 0 ? "11.00" : "99")\n")
            if i == 3000 {
                received += c.lines(timeout: 10) { field($0, "seq") == "500" }
                server.killHard()
                break
            }
        }
        while let l = c.line(timeout: 1) { received.append(l) }
        let got = received.filter { field($0, "seq") != nil }
        XCTAssertGreaterThanOrEqual(got.count, 500)
        server = try ServerProcess(data: data)
        let r = Client(port: server.port)
        let next = r.login("B01", "secret1", resume: 0)
        XCTAssertGreaterThanOrEqual(next, Int64(got.count) + 1, "everything acknowledged survived")
        let replayed = r.lines(timeout: 30) { field($0, "seq") == "\(next - 1)" }
        XCTAssertEqual(replayed.count, Int(next - 1))
        XCTAssertTrue(Array(replayed.prefix(got.count)) == got, "every line received before the kill, told again unchanged")
        XCTAssertTrue(replayed.map { Int(field($0, "seq")!)! } == Array(1...Int(next - 1)))
        XCTAssertEqual(server.terminate(), 0)
    }
}
