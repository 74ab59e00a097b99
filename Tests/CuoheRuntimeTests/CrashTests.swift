import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// `SIGKILL` at random moments: nothing the engine printed may be lost, the journal must verify,
/// and the recovered state must equal a clean replay of the journaled commands.
final class CrashTests: XCTestCase {
    var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("cuohe")
    }

    /// A day of well-formed order flow on the demo market (every line reaches the matcher).
    static func stream(lines: Int, seed: UInt64) -> String {
        var x = seed
        func next(_ n: Int) -> Int {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((x >> 33) % UInt64(n))
        }
        let accounts = [("B01", "A1001"), ("B02", "A2001"), ("B02", "A2002"), ("B03", "A3001")]
        var out = ""
        for i in 0..<lines {
            let (broker, acct) = accounts[next(accounts.count)]
            switch next(10) {
            case 0..<6:
                let px = 1150 + next(100)
                out += "\(broker) NEW cid=c\(i) acct=\(acct) sym=ZJ100231 side=\(next(2) == 0 ? "BUY" : "SELL") "
                    + "qty=\((1 + next(3)) * 100) px=\(px / 100).\(px % 100 < 10 ? "0" : "")\(px % 100)\n"
            case 6..<8: out += "\(broker) CANCEL cid=c\(next(i + 1))\n"
            case 8: out += "\(broker) REPLACE cid=c\(next(i + 1)) newcid=r\(i) qty=\((1 + next(3)) * 100)\n"
            default: out += "\(broker) STATUS cid=c\(next(i + 1))\n"
            }
        }
        return out
    }

    func run(_ arguments: [String], killAfter: Double?) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        if let killAfter {
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + killAfter) { kill(pid, SIGKILL) }
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testThePipelineWritesExactlyWhatTheInMemoryReplayWrites() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-pipe-\(getpid())").path
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Order flow with the edge's own answers mixed in: they must come out in place.
        var lines = Self.stream(lines: 20_000, seed: 3).split(separator: "\n").map(String.init)
        let extras = ["B01 LOGIN broker=B01 token=secret1", "B02 PING t=x", "B01 FOO", "NOBODY NEW cid=q",
                      "B01 NEW cid=m acct=A1001", "# comment", "", "@1796090000000000000 B03 STATUS cid=c1",
                      "OPS ROLL date=2026-12-02", "OPS HALT sym=ZJ100231", "OPS RESUME sym=ZJ100231", "B02 LOGOUT"]
        for (i, extra) in extras.enumerated() { lines.insert(extra, at: 1 + i * 1_500) }
        let input = root + "/day.txt"
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let memory = try run(["replay", input], killAfter: nil)
        let piped = try run(["replay", "--data", root + "/data", "--no-prefault", input], killAfter: nil)
        XCTAssertEqual(memory.status, 0)
        XCTAssertEqual(piped.status, 0)
        XCTAssertTrue(memory.stdout.contains("LOGGEDIN broker=B01 next="))
        XCTAssertEqual(piped.stdout, memory.stdout, "the threaded pipeline must not change a byte")
    }

    func testADamagedSnapshotFallsBackAndASnapshotAheadOfTheJournalIsRefused() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-snap-\(getpid())").path
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let input = root + "/day.txt"
        try Self.stream(lines: 12_000, seed: 5).write(toFile: input, atomically: true, encoding: .utf8)
        let data = root + "/data"
        let first = try run(["replay", "--data", data, "--no-prefault", "--snapshot-every", "3000", input], killAfter: nil)
        XCTAssertEqual(first.status, 0)
        let snapshots = SnapshotFile.list(data)
        XCTAssertEqual(snapshots.count, SnapshotFile.keep)
        XCTAssertEqual(snapshots.first, 12_000)
        let good = try run(["journal", "verify", data], killAfter: nil)
        XCTAssertTrue(good.stdout.contains("records=12000"), good.stdout)
        XCTAssertTrue(good.stdout.contains("snapshots=3"), good.stdout)
        // Damage the newest snapshot: the restart falls back to the one before and still recovers
        // the same state.
        let newest = SnapshotFile.directory(data) + "/" + String(format: "%016llu.snap", UInt64(12_000))
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: newest)))
        bytes[bytes.count / 2] ^= 0x55
        try Data(bytes).write(to: URL(fileURLWithPath: newest))
        let bad = try run(["journal", "verify", data], killAfter: nil)
        XCTAssertEqual(bad.status, 1, "verify rejects a snapshot that does not check out")
        let restart = try run(["replay", "--data", data, "--no-prefault", "/dev/null"], killAfter: nil)
        XCTAssertEqual(restart.status, 0, "the restart falls back to an older snapshot")
        // It ends with a fresh snapshot of the same state in place of the damaged one.
        let digest = good.stdout.split(separator: " ").first { $0.hasPrefix("state=") }!
        let after = try run(["journal", "verify", data], killAfter: nil)
        XCTAssertEqual(after.status, 0, after.stdout)
        XCTAssertTrue(after.stdout.contains(String(digest)), after.stdout)
        // Records lost from the journal's end, behind a snapshot: refuse to start.
        let segment = DataDirectory.journalPath(data) + "/" + Journal.segmentName(1)
        XCTAssertEqual(truncate(segment, off_t(100 * JournalRecord.recordBytes)), 0)
        let refused = try run(["replay", "--data", data, "--no-prefault", "/dev/null"], killAfter: nil)
        XCTAssertEqual(refused.status, 1)
    }

    func testKillAtRandomMomentsLosesNothingPrinted() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-crash-\(getpid())").path
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let input = root + "/day.txt"
        try Self.stream(lines: 60_000, seed: 11).write(toFile: input, atomically: true, encoding: .utf8)
        var rng: UInt64 = 2026
        var killedMidStream = 0
        for round in 0..<20 {
            rng = rng &* 6_364_136_223_846_793_005 &+ 1
            let delay = 0.05 + Double((rng >> 33) % 1000) / 1000.0 * 0.8
            let data = root + "/data\(round)"
            // Snapshots every few thousand commands: kills land around snapshot writes too.
            let first = try run(["replay", "--data", data, "--no-prefault", "--snapshot-every", "4000", input],
                                killAfter: delay)
            // Keep whole lines only: the last element is empty after a final "\n", or a line the
            // kill cut short.
            var printed = first.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            printed.removeLast()
            if first.status != 0 && !printed.isEmpty { killedMidStream += 1 }

            // Restart (recovers, truncating any torn record), then verify.
            let restart = try run(["replay", "--data", data, "--no-prefault", "/dev/null"], killAfter: nil)
            XCTAssertEqual(restart.status, 0, "round \(round): restart failed")
            let verify = try run(["journal", "verify", data], killAfter: nil)
            XCTAssertEqual(verify.status, 0, "round \(round): \(verify.stdout)")

            // A clean replay of the journaled commands reproduces every printed line, in order.
            let contents = try Journal.read(directory: DataDirectory.journalPath(data))
            var clean = Replay(config: DemoMarket.config, limits: EngineLimits(ordersLiveMax: 1 << 16, cidsPerDayMax: 1 << 17),
                               recordsTrades: false)
            var out: [UInt8] = []
            for c in contents.commands { clean.replay(c, into: &out) }
            let reproduced = String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
            XCTAssertGreaterThanOrEqual(reproduced.count, printed.count, "round \(round): printed lines missing from the journal")
            XCTAssertEqual(Array(reproduced.prefix(printed.count)), printed, "round \(round): printed output differs from the journal's")
            // And the state the engine recovered is that clean replay's.
            let hash = String(clean.matcher.stateDigest(), radix: 16)
            XCTAssertTrue(verify.stdout.contains("state=\(hash)"), "round \(round): \(verify.stdout) vs \(hash)")
            XCTAssertTrue(verify.stdout.contains("records=\(contents.commands.count)"))
            try? FileManager.default.removeItem(atPath: data)
        }
        XCTAssertGreaterThanOrEqual(killedMidStream, 5, "most kills should land while output was flowing")
    }
}
