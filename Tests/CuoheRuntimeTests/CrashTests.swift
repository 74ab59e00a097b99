import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// `SIGKILL` at random moments: nothing the engine printed may be lost, the journal must verify,
/// and the recovered state must equal a clean replay of the journaled commands.
final class CrashTests: XCTestCase {
    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("cuohe")
    }

    /// Well-formed order flow on the demo market (every line reaches the matcher); with `days` > 1,
    /// an operator's ROLL every `lines / days` lines and now and then a DEPOSIT or WITHDRAW.
    static func stream(lines: Int, seed: UInt64, days: Int = 1) -> String {
        /// Negotiated transfer in ZJ300155 now and then: A1001 posts quotes that A2001 accepts
        /// (one of the last three, so some are already taken), and the two cross by agreement;
        /// every other agreement's second side never comes, so its first side waits until it
        /// expires. Snapshots and crashes so fall while quotes and crosses are open. The quotes'
        /// oids come from running the stream as it is written.
        var engine = Replay(config: DemoMarket.config, limits: EngineLimits(ordersLiveMax: 1 << 15, cidsPerDayMax: 1 << 16),
                            recordsTrades: false)
        var quoteOids: [String] = []
        func negotiated(_ i: Int, _ pick: Int) -> String? {
            let k = i / 53
            switch i % 53 {
            case 7: return "B01 QUOTE cid=q\(i) acct=A1001 sym=ZJ300155 side=SELL qty=100 px=5.0\(k % 10)\n"
            case 19 where !quoteOids.isEmpty:
                return "B02 ACCEPT cid=a\(i) acct=A2001 quote=\(quoteOids[max(0, quoteOids.count - 1 - pick)]) qty=100\n"
            case 23: return "B02 CROSS cid=x\(i) acct=A2001 sym=ZJ300155 side=BUY qty=100 px=5.10 ref=K\(k) cp=B01\n"
            case 41 where k % 2 == 0:
                return "B01 CROSS cid=x\(i) acct=A1001 sym=ZJ300155 side=SELL qty=100 px=5.10 ref=K\(k) cp=B02\n"
            case 47: return "B01 CANCEL cid=q\(i - 40 - 53 * (k % 3))\n"
            default: return nil
            }
        }
        var x = seed
        func next(_ n: Int) -> Int {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((x >> 33) % UInt64(n))
        }
        let accounts = [("B01", "A1001"), ("B02", "A2001"), ("B02", "A2002"), ("B03", "A3001")]
        func line(_ i: Int) -> String {
            if days > 1 && i > 0 && i % (lines / days) == 0 {
                let start = CivilDate(year: 2026, month: 12, day: 1)!.daysSinceEpoch
                return "OPS ROLL date=\(CivilDate(daysSinceEpoch: start + Int32(i / (lines / days))).iso)\n"
            }
            if days > 1 && i % 997 == 500 {
                return "OPS \(next(2) == 0 ? "DEPOSIT" : "WITHDRAW") acct=\(accounts[next(accounts.count)].1) amount=\(1 + next(900)).25\n"
            }
            if i % 211 == 100 || i % 211 == 160 {
                // A call auction now and then: orders collect, then uncross at one price.
                return "OPS PHASE sym=ZJ100231 phase=\(i % 211 == 100 ? "AUCTION" : "OPEN")\n"
            }
            if let line = negotiated(i, next(3)) { return line }
            let (broker, acct) = accounts[next(accounts.count)]
            switch next(10) {
            case 0..<6:
                let px = 1150 + next(100)
                return "\(broker) NEW cid=c\(i) acct=\(acct) sym=ZJ100231 side=\(next(2) == 0 ? "BUY" : "SELL") "
                    + "qty=\((1 + next(3)) * 100) px=\(px / 100).\(px % 100 < 10 ? "0" : "")\(px % 100)\n"
            case 6..<8: return "\(broker) CANCEL cid=c\(next(i + 1))\n"
            case 8: return "\(broker) REPLACE cid=c\(next(i + 1)) newcid=r\(i) qty=\((1 + next(3)) * 100)\n"
            default: return "\(broker) STATUS cid=c\(next(i + 1))\n"
            }
        }
        var out = ""
        for i in 0..<lines {
            let text = line(i)
            out += text
            let answer = engine.run(text)
            if text.contains(" QUOTE "), let oid = answer.firstMatch(of: /ACK .* oid=(\d+)/)?.1 { quoteOids.append(String(oid)) }
        }
        return out
    }

    /// Runs the `cuohe` binary beside the tests to its end.
    func run(_ arguments: [String], killAfter: Double?, input: String? = nil) throws
        -> (status: Int32, stdout: String, stderr: String) {
        if let input, let path = arguments.last { try input.write(toFile: path, atomically: true, encoding: .utf8) }
        return try Self.runCuohe(arguments, killAfter: killAfter)
    }

    /// Runs `cuohe` (killed after `killAfter` seconds if given); standard error is kept in a file
    /// so its log lines can be checked.
    static func runCuohe(_ arguments: [String], killAfter: Double? = nil) throws
        -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe()
        let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-stderr-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let errFile = try XCTUnwrap(FileHandle(forWritingAtPath: errPath))
        process.standardOutput = out
        process.standardError = errFile
        process.standardInput = FileHandle.nullDevice
        try process.run()
        if let killAfter {
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + killAfter) { kill(pid, SIGKILL) }
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try errFile.close()
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), err)
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

    /// SIGTERM to an engine whose input is still open: it stops reading, drains the pipeline,
    /// writes a snapshot of the last record and exits 0; everything it printed is journaled.
    func testSIGTERMStopsCleanlyWithASnapshot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-term-\(getpid())").path
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = root + "/data"
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["replay", "--data", data, "--no-prefault", "-"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let lines = Self.stream(lines: 2_000, seed: 9) + "OPS STATS\n"
        input.fileHandleForWriting.write(Data(lines.utf8))
        // Wait for the answer to the last line written, then stop it with the input still open.
        var printed = Data()
        while !String(decoding: printed, as: UTF8.self).contains("OPS STATS") {
            let more = output.fileHandleForReading.availableData
            if more.isEmpty { break }  // the engine ended early: the checks below say why
            printed += more
        }
        // Half a line, then the stop: it must be dropped, never run cut short.
        input.fileHandleForWriting.write(Data("B01 NEW cid=half acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.1".utf8))
        usleep(300_000)
        kill(process.processIdentifier, SIGTERM)
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        printed += rest
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try? input.fileHandleForWriting.close()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.contains("stopped by signal 15 after journal record 2001"), stderr)
        XCTAssertFalse(String(decoding: printed, as: UTF8.self).contains("cid=half"), "a partial line was run")
        XCTAssertEqual(SnapshotFile.list(data).first, 2_001, "the stop leaves a snapshot of the last record")
        let memory = try run(["replay", root + "/in.txt"], killAfter: nil, input: lines)
        XCTAssertEqual(String(decoding: printed, as: UTF8.self), memory.stdout)
        let verify = try run(["journal", "verify", data], killAfter: nil)
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.contains("records=2001"), verify.stdout)
    }

    /// Input split across a restart prints what the joined input prints in memory, even when the
    /// first part ends with lines the edge answers itself (they are not journaled, so they must
    /// not move the sequencing clock).
    func testARestartBetweenTwoInputsPrintsWhatOneRunPrints() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-split-\(getpid())").path
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = Self.stream(lines: 500, seed: 14) + "B01 FOO\nNOBODY NEW cid=z\nB02 NEW cid=q acct=A2001\nB03 PING\n"
        let second = Self.stream(lines: 500, seed: 15).replacingOccurrences(of: "cid=c", with: "cid=d")
        try first.write(toFile: root + "/a.txt", atomically: true, encoding: .utf8)
        try second.write(toFile: root + "/b.txt", atomically: true, encoding: .utf8)
        try (first + second).write(toFile: root + "/ab.txt", atomically: true, encoding: .utf8)
        let a = try run(["replay", "--data", root + "/data", "--no-prefault", root + "/a.txt"], killAfter: nil)
        let b = try run(["replay", "--data", root + "/data", "--no-prefault", root + "/b.txt"], killAfter: nil)
        let joined = try run(["replay", root + "/ab.txt"], killAfter: nil)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(a.stdout.contains("B01 REJ reason=UNKNOWN_VERB"), a.stdout)
        XCTAssertEqual(a.stdout + b.stdout, joined.stdout)
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
        // Snapshots come at batch ends once 3,000 commands have passed (none while one is still
        // being written), and at the end: at least one before the last, and never more than kept.
        XCTAssertGreaterThanOrEqual(snapshots.count, 2)
        XCTAssertLessThanOrEqual(snapshots.count, SnapshotFile.keep)
        XCTAssertEqual(snapshots.first, 12_000)
        let good = try run(["journal", "verify", data], killAfter: nil)
        XCTAssertTrue(good.stdout.contains("records=12000"), good.stdout)
        XCTAssertTrue(good.stdout.contains("snapshots=\(snapshots.count)"), good.stdout)
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
        XCTAssertTrue(restart.stderr.contains("checksum mismatch; set aside as \(newest).damaged"), restart.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: newest + ".damaged"), "kept for the operator, not deleted")
        // It ends with a fresh snapshot of the same state in place of the damaged one.
        let digest = good.stdout.split(separator: " ").first { $0.hasPrefix("state=") }!
        let after = try run(["journal", "verify", data], killAfter: nil)
        XCTAssertEqual(after.status, 0, after.stdout)
        XCTAssertTrue(after.stdout.contains(String(digest)), after.stdout)
        XCTAssertTrue(after.stdout.contains("damaged snapshot set aside: "), after.stdout)
        // Records lost from the journal's end, behind a snapshot: refuse to start.
        let segment = DataDirectory.journalPath(data) + "/" + Journal.segmentName(1)
        XCTAssertEqual(truncate(segment, off_t(JournalSegmentHeader.bytes + 100 * JournalRecord.recordBytes)), 0)
        let refused = try run(["replay", "--data", data, "--no-prefault", "/dev/null"], killAfter: nil)
        XCTAssertEqual(refused.status, 1)
    }

    func testKillAtRandomMomentsLosesNothingPrinted() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-crash-\(getpid())").path
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let input = root + "/day.txt"
        try Self.stream(lines: 60_000, seed: 11, days: 40).write(toFile: input, atomically: true, encoding: .utf8)
        var rng: UInt64 = 2026
        var daysClosed = 0
        var restartsFromSnapshots = 0
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
            daysClosed += try Self.files(under: data + "/eod").keys.filter { $0.hasSuffix("/trades.csv") }.count
            // Before the restart: the journal verifies, and what the kill left unwritten is listed
            // as pending, not as damage.
            let early = try run(["journal", "verify", data], killAfter: nil)
            XCTAssertEqual(early.status, 0, "round \(round) before the restart: \(early.stderr)")
            let restart = try run(["replay", "--data", data, "--no-prefault", "/dev/null"], killAfter: nil)
            XCTAssertEqual(restart.status, 0, "round \(round): restart failed")
            if restart.stderr.contains("(snapshot at ") { restartsFromSnapshots += 1 }
            XCTAssertFalse(restart.stderr.contains("replaying the whole journal"),
                           "round \(round): the trade log a snapshot counts on was not intact: \(restart.stderr)")
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
            // The end-of-day files and the open day's trade log equal those of a clean run of the
            // journaled commands, byte for byte.
            let reference = root + "/reference\(round)"
            _ = try Self.settleCleanly(contents.commands, data: reference)
            let actualFiles = try Self.files(under: data + "/eod"), expectedFiles = try Self.files(under: reference + "/eod")
            XCTAssertEqual(actualFiles.keys.sorted(), expectedFiles.keys.sorted(), "round \(round): end-of-day files")
            for (name, bytes) in expectedFiles where actualFiles[name] != bytes {
                XCTFail("round \(round): eod/\(name) differs from a clean run's")
            }
            try? FileManager.default.removeItem(atPath: data)
            try? FileManager.default.removeItem(atPath: reference)
        }
        XCTAssertGreaterThanOrEqual(killedMidStream, 5, "most kills should land while output was flowing")
        XCTAssertGreaterThan(daysClosed, 10, "kills should land after some of the day's closes")
        XCTAssertGreaterThan(restartsFromSnapshots, 5, "restarts should mostly start from a snapshot")
    }

    /// Runs `commands` in memory through the matcher and a settlement stage writing into `data`;
    /// returns how many days closed.
    static func settleCleanly(_ commands: [Command], data: String) throws -> Int {
        let config = DemoMarket.config
        let limits = EngineLimits(ordersLiveMax: 1 << 16, cidsPerDayMax: 1 << 17)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let directory = Directory(config: config)
        let stage = try SettlementStage(books: Settlement(config: config, limits: limits), data: data,
                                        directory: directory, dayFirstTid: 1, nextTid: 1,
                                        report: { XCTFail("clean run: \($0)") })
        var clean = JournalReplayer(matcher: Matcher(config: config, limits: limits), settlement: stage,
                                    clock: SequencingClock(tradingDate: config.tradingDate,
                                                           brokerIsOperator: directory.brokerIsOperator,
                                                           schedule: TradingSchedule(config: config)),
                                    brokerCount: directory.brokers.count, keepsTrades: false)
        for c in commands { try clean.apply(c) }
        try clean.settlement.sync()
        XCTAssertEqual(clean.settlement.breaks, 0)
        return clean.settlement.closes
    }

    /// Every file under `dir` (recursively), by path relative to it.
    static func files(under dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: dir) else { return out }
        while let name = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = dir + "/" + name
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                out[name] = try Data(contentsOf: URL(fileURLWithPath: path))
            }
        }
        return out
    }
}
