import XCTest
import Foundation

/// `/metrics` as operators meet it: `promtool check metrics` on the page, and a real Prometheus
/// server scraping it. Both come from Debian's `prometheus` package (`.ci/run` installs it); a
/// machine without them skips with the reason printed.
final class GatewayMetricsTests: XCTestCase {
    override func setUp() { signal(SIGPIPE, SIG_IGN) }

    static func tool(_ name: String) -> String? {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }

    /// One HTTP GET over a plain socket; the body, or nil.
    static func get(port: UInt16, path: String) -> (status: String, body: String)? {
        let c = Client(port: port)
        c.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        var text: [String] = []
        while let l = c.line(timeout: 5) { text.append(l) }
        if !c.remainder.isEmpty { text.append(c.remainder) }
        guard let status = text.first else { return nil }
        guard let blank = text.firstIndex(of: "\r") else { return (status, "") }
        return (status, text[(blank + 1)...].joined(separator: "\n") + "\n")
    }

    func testMetricsCountWhatHappenedAndPassPromtool() throws {
        let server = try ServerProcess(data: ServerProcess.temporaryDirectory("metrics"), metrics: true)
        let port = try XCTUnwrap(server.metricsPort)
        let b1 = Client(port: server.port), b2 = Client(port: server.port)
        b1.login("B01", "secret1")
        b2.login("B02", "secret2")
        b1.send("NEW cid=a acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12\n")
        b1.expect("ACK")
        b2.send("NEW cid=b acct=A2001 sym=ZJ100231 side=SELL qty=100 px=12\nNEW cid=c acct=A1001 sym=ZJ100231 side=SELL qty=1 px=12\nFROB\n")
        b2.expect("ACK")
        b2.expect("FILL")
        b2.expect("REJ seq=3 cid=c reason=NOT_YOUR_ACCOUNT")
        b2.expect("REJ reason=UNKNOWN_VERB")
        // Negotiated transfer: a quote posted, then partly taken. Two quote board changes, one more trade.
        b1.send("QUOTE cid=q acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.10\n")
        b1.expect("FILL seq=2 cid=a ")
        let quote = try XCTUnwrap(field(b1.expect("ACK seq=3 cid=q "), "oid"))
        b2.send("ACCEPT cid=t acct=A2001 quote=\(quote) qty=100\n")
        b2.expect("ACK seq=4 cid=t ")
        b2.expect("FILL seq=5 cid=t ")
        let bad = Client(port: server.port)
        bad.send("LOGIN broker=B01 token=no\n")
        _ = bad.waitClosed()
        let page = try XCTUnwrap(GatewayMetricsTests.get(port: port, path: "/metrics"))
        XCTAssertEqual(page.status, "HTTP/1.1 200 OK\r")
        let body = page.body
        for sample in ["cuohe_sessions_connected 2", "cuohe_logins_refused_total 1", "cuohe_commands_total{verb=\"NEW\"} 3",
                       "cuohe_rejects_total{reason=\"NOT_YOUR_ACCOUNT\"} 1", "cuohe_rejects_total{reason=\"UNKNOWN_VERB\"} 1",
                       "cuohe_rejects_total{reason=\"AUTH\"} 1", "cuohe_trades_total 2", "cuohe_quote_updates_total 2",
                       "cuohe_commands_total{verb=\"QUOTE\"} 1", "cuohe_commands_total{verb=\"ACCEPT\"} 1",
                       "cuohe_commands_total{verb=\"CROSS\"} 0",
                       // The three NEWs, QUOTE, ACCEPT, and the demo's four scheduled PHASEs (its date is past:
                       // all due at start).
                       "cuohe_commands_sequenced_total 9", "cuohe_scheduled_phases_total 4",
                       "cuohe_journal_batch_commands_count ", "cuohe_journal_append_seconds_bucket{le=\"+Inf\"} ",
                       "cuohe_ring_occupancy{ring=\"ingress\"} 0"] {
            XCTAssertTrue(body.contains(sample), "missing \(sample)")
        }
        XCTAssertEqual(GatewayMetricsTests.get(port: port, path: "/other")?.status, "HTTP/1.1 404 Not Found\r")
        guard let promtool = GatewayMetricsTests.tool("promtool") else {
            print("SKIPPED promtool check: promtool not installed (Debian package prometheus; .ci/run installs it)")
            return
        }
        let check = Process()
        check.executableURL = URL(fileURLWithPath: promtool)
        check.arguments = ["check", "metrics"]
        let input = Pipe(), out = Pipe()
        check.standardInput = input
        check.standardOutput = out
        check.standardError = out
        try check.run()
        try input.fileHandleForWriting.write(contentsOf: Data(body.utf8))
        try input.fileHandleForWriting.close()
        check.waitUntilExit()
        let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(check.terminationStatus, 0, said)
        XCTAssertEqual(said, "", "promtool finds nothing to say")
        XCTAssertEqual(server.terminate(), 0)
    }

    /// A real Prometheus server scrapes the endpoint: its target is up and it has our samples.
    func testAPrometheusServerScrapesIt() throws {
        guard let prometheus = GatewayMetricsTests.tool("prometheus") else {
            print("SKIPPED Prometheus scrape: prometheus not installed (Debian package prometheus; .ci/run installs it)")
            return
        }
        let server = try ServerProcess(data: ServerProcess.temporaryDirectory("scrape"), metrics: true)
        let port = try XCTUnwrap(server.metricsPort)
        let c = Client(port: server.port)
        c.login("B01", "secret1")
        let dir = ServerProcess.temporaryDirectory("prom")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
        global: { scrape_interval: 1s, scrape_timeout: 1s }
        scrape_configs:
          - job_name: cuohe
            static_configs: [ { targets: ["127.0.0.1:\(port)"] } ]
        """.write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
        let webPort = UInt16.random(in: 20_000...40_000)
        let prom = Process()
        prom.executableURL = URL(fileURLWithPath: prometheus)
        prom.arguments = ["--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/data",
                          "--web.listen-address=127.0.0.1:\(webPort)"]
        prom.standardOutput = FileHandle.nullDevice
        prom.standardError = FileHandle.nullDevice
        try prom.run()
        defer { prom.terminate(); prom.waitUntilExit() }
        var up = "", logins = ""
        let deadline = Date().addingTimeInterval(40)
        while Date() < deadline && (up.isEmpty || logins.isEmpty) {
            usleep(500_000)
            if up.isEmpty, let r = GatewayMetricsTests.get(port: webPort, path: "/api/v1/query?query=up%7Bjob%3D%22cuohe%22%7D"),
               r.body.contains("\"value\":[") && r.body.contains("\"1\"]") { up = r.body }
            if logins.isEmpty, let r = GatewayMetricsTests.get(port: webPort, path: "/api/v1/query?query=cuohe_logins_total"),
               r.body.contains("\"1\"]") { logins = r.body }
        }
        XCTAssertFalse(up.isEmpty, "Prometheus never saw the target up")
        XCTAssertFalse(logins.isEmpty, "Prometheus never stored cuohe_logins_total 1")
        XCTAssertEqual(server.terminate(), 0)
    }
}
