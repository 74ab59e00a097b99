import XCTest
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// `cuohe-bench` as a load tester runs it: the real binary against a `cuohe serve` it spawns;
/// its JSON, hgrm and SVG read back; its exit code says whether the honesty checks passed.
final class BenchToolTests: XCTestCase {
    static var bench: URL { ServerProcess.binary.deletingLastPathComponent().appendingPathComponent("cuohe-bench") }

    func run(_ args: [String]) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = BenchToolTests.bench
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testASpawnedRunGivesHonestFiguresAndEveryFile() throws {
        let dir = ServerProcess.temporaryDirectory("bench")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let r = try run(["--spawn", "--sessions", "2", "--rate", "2000", "--duration", "2", "--warmup", "0.5",
                         "--durability", "none", "--json", dir + "/a.json", "--hgrm", dir + "/a.hgrm", "--svg", dir + "/a.svg"])
        XCTAssertEqual(r.status, 0, r.out)
        XCTAssertTrue(r.out.contains("honesty checks: all passed"), r.out)
        XCTAssertTrue(r.out.contains("on schedule") || r.out.contains("BEHIND"), "the progress line")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/a.json"))) as? [String: Any])
        let sent = try XCTUnwrap(json["sentPerSecond"] as? Double)
        XCTAssertEqual(sent, 2000, accuracy: 200, "open loop keeps to its timetable")
        XCTAssertEqual((json["violations"] as? [Any])?.count, 0)
        let latency = try XCTUnwrap(json["latencyMicros"] as? [String: [String: Double]])
        let ack = try XCTUnwrap(latency["order-to-ack"])
        XCTAssertGreaterThan(ack["count"] ?? 0, 3_000)
        XCTAssertTrue((ack["p50"] ?? 0) > 0 && (ack["p50"] ?? 0) <= (ack["p99"] ?? 0) && (ack["p99"] ?? 0) <= (ack["max"] ?? 0))
        XCTAssertNotNil(json["statsBefore"] as? String)
        XCTAssertTrue((json["statsAfter"] as? String)?.hasPrefix("STATS commands=") ?? false)
        let hgrm = try String(contentsOfFile: dir + "/a.hgrm", encoding: .utf8)
        XCTAssertTrue(hgrm.contains("1/(1-Percentile)") && hgrm.contains("#[Max     =") && hgrm.contains("#[Buckets ="))
        try checkSVG(dir + "/a.svg")
        // Two runs on one chart.
        let second = try run(["--spawn", "--sessions", "2", "--rate", "1000", "--duration", "1", "--warmup", "0",
                              "--durability", "sync", "--json", dir + "/b.json"])
        XCTAssertEqual(second.status, 0, second.out)
        let plot = try run(["plot", dir + "/a.json", dir + "/b.json", "--svg", dir + "/ab.svg"])
        XCTAssertEqual(plot.status, 0, plot.out)
        let chart = try String(contentsOfFile: dir + "/ab.svg", encoding: .utf8)
        XCTAssertEqual(chart.components(separatedBy: "<polyline").count - 1, 4, "two paths of two runs")
        try checkSVG(dir + "/ab.svg")
    }

    func testInProcessAndBadOptions() throws {
        let r = try run(["--in-process", "--sessions", "2", "--duration", "1", "--warmup", "0", "--durability", "none"])
        XCTAssertEqual(r.status, 0, r.out)
        XCTAssertTrue(r.out.contains("command-to-answer"), r.out)
        let bad = try run(["--mix", "50,50,50,50"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.out.contains("--mix takes four shares of 100"), bad.out)
    }

    /// Well-formed XML with the chart's parts; rendered to PNG by librsvg's `rsvg-convert` when
    /// it is installed (`.ci/run` installs it), else SKIPPED with the reason.
    func checkSVG(_ path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let parser = XMLParser(data: data)
        XCTAssertTrue(parser.parse(), "\(path) is not well-formed XML: \(String(describing: parser.parserError))")
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.contains("<polyline") && text.contains("99.9%") && text.contains("cuohe-bench"))
        guard let rsvg = GatewayMetricsTests.tool("rsvg-convert") else {
            print("SKIPPED SVG rendering: rsvg-convert not installed (Debian package librsvg2-bin; .ci/run installs it)")
            return
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: rsvg)
        p.arguments = ["-o", path + ".png", path]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let png = try Data(contentsOf: URL(fileURLWithPath: path + ".png"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "a PNG")
    }
}
