import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// A data directory as an operator meets it through `cuohe`: it only ever replays its journal on
/// the market it was written for, tidies what a crash left half-written, sets damaged snapshots
/// aside instead of stopping, and is checked only while no engine is changing it.
final class DataDirectoryTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-dd-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func cuohe(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try CrashTests.runCuohe(arguments)
    }

    /// The demo market with other tokens and an operator named differently: the same lines mean
    /// other things on it (OPS is not an operator there).
    var otherMarket: String {
        DemoMarket.json.replacingOccurrences(of: "\"opsecret\"", with: "\"changed\"")
    }

    /// A short day on the demo market (an operator's HALT among it) written to `dir`.
    func day(_ dir: String, config: String? = nil) throws -> String {
        let input = root + "/day.txt"
        try """
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.10
            OPS HALT sym=ZJ100231
            OPS RESUME sym=ZJ100231
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.20

            """.write(toFile: input, atomically: true, encoding: .utf8)
        let r = try cuohe(["replay", "--data", dir, "--no-prefault"] + (config.map { ["--config", $0] } ?? []) + [input])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout
    }

    /// A journal without its market.json used to be replayed on the demo market, so acknowledged
    /// commands changed meaning. Now the start is refused (exit 3) naming what is missing, nothing
    /// is written, and `journal verify` refuses too; started with `--config` naming the very file
    /// the journal was written for, the engine puts it back and goes on; another file is refused.
    func testAJournalWithoutItsMarketIsNeverReplayedOnAnother() throws {
        let data = root + "/data"
        let configPath = root + "/market.json"
        try otherMarket.write(toFile: configPath, atomically: true, encoding: .utf8)
        _ = try day(data, config: configPath)
        try FileManager.default.removeItem(atPath: DataDirectory.marketPath(data))
        let refused = try cuohe(["replay", "--data", data, "--no-prefault", "/dev/null"])
        XCTAssertEqual(refused.status, 3, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("\(data): has its journal (\(data)/journal/00000001.log) but no market.json: "
                                              + "the market it was written for is missing"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: DataDirectory.marketPath(data)), "nothing written")
        let verify = try cuohe(["journal", "verify", data])
        XCTAssertEqual(verify.status, 1)
        XCTAssertTrue(verify.stderr.contains("but no market.json"), verify.stderr)
        // The demo market is another market: refused.
        let demoPath = root + "/demo.json"
        try DemoMarket.json.write(toFile: demoPath, atomically: true, encoding: .utf8)
        XCTAssertEqual(try cuohe(["replay", "--data", data, "--no-prefault", "--config", demoPath, "/dev/null"]).status, 3)
        // The very file: put back, and the directory checks out.
        let restored = try cuohe(["replay", "--data", data, "--no-prefault", "--config", configPath, "/dev/null"])
        XCTAssertEqual(restored.status, 0, restored.stderr)
        XCTAssertTrue(restored.stderr.contains("was missing: put back from \(configPath)"), restored.stderr)
        XCTAssertEqual(try String(contentsOfFile: DataDirectory.marketPath(data), encoding: .utf8), otherMarket)
        XCTAssertEqual(try cuohe(["journal", "verify", data]).status, 0)
    }

    /// A market.json changed in place (here a token, a change that still loads) is detected at
    /// start from the digest every journal segment carries, not only by `verify`.
    func testAMarketChangedInPlaceIsRefusedAtStart() throws {
        let data = root + "/data"
        _ = try day(data)
        let market = DataDirectory.marketPath(data)
        let original = try String(contentsOfFile: market, encoding: .utf8)
        try otherMarket.write(toFile: market, atomically: true, encoding: .utf8)
        let refused = try cuohe(["replay", "--data", data, "--no-prefault", "/dev/null"])
        XCTAssertEqual(refused.status, 3, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("\(market): changed since its journal (\(data)/journal/00000001.log) was written"),
                      refused.stderr)
        XCTAssertEqual(try cuohe(["journal", "verify", data]).status, 1)
        try original.write(toFile: market, atomically: true, encoding: .utf8)
        XCTAssertEqual(try cuohe(["replay", "--data", data, "--no-prefault", "/dev/null"]).status, 0)
        XCTAssertEqual(try cuohe(["journal", "verify", data]).status, 0)
    }

    /// A kill during an atomic write leaves `*.tmp` behind: `verify` lists it, the next start
    /// removes it with a log line.
    func testHalfWrittenFilesAreListedByVerifyAndRemovedAtStart() throws {
        let data = root + "/data"
        _ = try day(data)
        let stale = [SnapshotFile.directory(data) + "/0000000000000003.snap.tmp", data + "/eod/2026-12-01/trades.csv.tmp"]
        try FileManager.default.createDirectory(atPath: data + "/eod/2026-12-01", withIntermediateDirectories: true)
        for path in stale { try Data("half".utf8).write(to: URL(fileURLWithPath: path)) }
        let verify = try cuohe(["journal", "verify", data])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        for path in stale {
            XCTAssertTrue(verify.stdout.contains("left half-written by an earlier run: \(path) (the next start removes it)"),
                          verify.stdout)
        }
        let start = try cuohe(["replay", "--data", data, "--no-prefault", "/dev/null"])
        XCTAssertEqual(start.status, 0, start.stderr)
        for path in stale {
            XCTAssertTrue(start.stderr.contains("\(path): left half-written by an earlier run: removed"), start.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        }
    }

    /// A garbage file named like a snapshot far beyond the journal used to stop the start ("ahead
    /// of the journal"); so did a snapshot of another market. Both are damaged derived data: `verify`
    /// lists them (exit 1, the journal checks out), the start sets them aside and recovers.
    func testDamagedOrForeignSnapshotsAreSetAsideEvenBeyondTheJournal() throws {
        let data = root + "/data"
        let printed = try day(data)
        let garbage = SnapshotFile.path(data, 999_999)
        try Data(repeating: 0x5A, count: 300).write(to: URL(fileURLWithPath: garbage))
        // Another market's good snapshot of the same record, in place of this directory's own.
        let other = root + "/other"
        let configPath = root + "/other.json"
        try otherMarket.write(toFile: configPath, atomically: true, encoding: .utf8)
        _ = try day(other, config: configPath)
        let foreign = SnapshotFile.path(data, 4)
        try FileManager.default.removeItem(atPath: foreign)
        try FileManager.default.copyItem(atPath: SnapshotFile.path(other, 4), toPath: foreign)
        let verify = try cuohe(["journal", "verify", data])
        XCTAssertEqual(verify.status, 1)
        XCTAssertTrue(verify.stdout.contains("damaged snapshot: \(garbage): not a snapshot of record 999999"), verify.stdout)
        XCTAssertTrue(verify.stdout.contains("damaged snapshot: \(foreign): taken on another market"), verify.stdout)
        XCTAssertTrue(verify.stderr.contains("2 damaged snapshot(s); the journal checks out"), verify.stderr)
        let start = try cuohe(["replay", "--data", data, "--no-prefault", "/dev/null"])
        XCTAssertEqual(start.status, 0, start.stderr)
        XCTAssertTrue(start.stderr.contains("set aside as \(garbage).damaged"), start.stderr)
        XCTAssertTrue(start.stderr.contains("set aside as \(foreign).damaged"), start.stderr)
        let after = try cuohe(["journal", "verify", data])
        XCTAssertEqual(after.status, 0, after.stdout + after.stderr)
        XCTAssertTrue(after.stdout.contains("records=4"), after.stdout)
        XCTAssertFalse(printed.isEmpty)
    }

    /// `journal verify` and `rebuild-eod` on a directory an engine has open are refused with a
    /// clear message (they used to report damage when a snapshot was pruned mid-check); `dump`
    /// reads whole records only, so it may look at a live journal.
    func testVerifyRefusesADirectoryInUse() throws {
        let data = root + "/data"
        _ = try day(data)
        // A running engine: its input is a pipe this test keeps open.
        let engine = Process()
        engine.executableURL = CrashTests.binary
        engine.arguments = ["replay", "--data", data, "--no-prefault"]
        let input = Pipe()
        engine.standardInput = input
        engine.standardOutput = FileHandle.nullDevice
        engine.standardError = FileHandle.nullDevice
        try engine.run()
        defer {
            try? input.fileHandleForWriting.close()
            engine.waitUntilExit()
        }
        // Wait until it holds the lock.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let fd = open(data + "/lock", O_RDWR)
            let free = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0
            if fd >= 0 { close(fd) }
            if !free { break }
            usleep(20_000)
        }
        let verify = try cuohe(["journal", "verify", data])
        XCTAssertEqual(verify.status, 1)
        XCTAssertTrue(verify.stderr.contains("\(data): in use by another cuohe process (\(data)/lock is held); refusing to "
                                             + "verify it"), verify.stderr)
        let rebuild = try cuohe(["journal", "rebuild-eod", data])
        XCTAssertEqual(rebuild.status, 1)
        XCTAssertTrue(rebuild.stderr.contains("refusing to rebuild it"), rebuild.stderr)
        let dump = try cuohe(["journal", "dump", data])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        XCTAssertTrue(dump.stdout.contains("seq=2 ts=1796054400000000001 OPS HALT sym=ZJ100231"), dump.stdout)
        try input.fileHandleForWriting.close()
        engine.waitUntilExit()
        XCTAssertEqual(engine.terminationStatus, 0)
        XCTAssertEqual(try cuohe(["journal", "verify", data]).status, 0)
    }

    /// A journal record naming a broker the market does not have (something other than the
    /// engine wrote it) stops recovery and `verify` with a message; it never reaches the matcher,
    /// which trusts the edge's broker ids.
    func testARecordOfAnUnknownBrokerStopsRecovery() throws {
        let data = root + "/data"
        _ = try day(data)
        let digest = DataDirectory.configDigest(try FileSystem.readFile(DataDirectory.marketPath(data), bytesMax: 1 << 20))
        do {
            let (journal, _) = try Journal.open(directory: DataDirectory.journalPath(data), configDigest: digest) { _ in }
            try journal.append([Command(kind: .stats, broker: 99, ts: 1_796_083_300_000_000_000)])
        }
        for arguments in [["replay", "--data", data, "--no-prefault", "/dev/null"], ["journal", "verify", data]] {
            let r = try cuohe(arguments)
            XCTAssertEqual(r.status, 1, "\(arguments)")
            XCTAssertTrue(r.stderr.contains("broker 99 is not one of the market's 4; the journal will not be replayed"),
                          r.stderr)
        }
    }

    /// A data directory file that reads as 1 TB (sparse, or damaged metadata) or is a FIFO is
    /// refused with its name; nothing allocates its size and nothing blocks. A snapshot like that
    /// is set aside and the start goes on from the journal.
    func testOversizedFilesAndFIFOsInTheDirectoryAreRefused() throws {
        let data = root + "/data"
        _ = try day(data)
        let snapshot = try XCTUnwrap(SnapshotFile.list(data).first)
        XCTAssertEqual(truncate(SnapshotFile.path(data, snapshot), off_t(1) << 40), 0)
        let start = try cuohe(["replay", "--data", data, "--no-prefault", "/dev/null"])
        XCTAssertEqual(start.status, 0, start.stderr)
        XCTAssertTrue(start.stderr.contains("more than such a file can hold"), start.stderr)
        XCTAssertTrue(start.stderr.contains("set aside as"), start.stderr)
        let segment = DataDirectory.journalPath(data) + "/" + Journal.segmentName(1)
        XCTAssertEqual(truncate(segment, off_t(1) << 40), 0)
        for arguments in [["replay", "--data", data, "--no-prefault", "/dev/null"], ["journal", "verify", data],
                          ["journal", "dump", data]] {
            let r = try cuohe(arguments)
            XCTAssertEqual(r.status, 1, "\(arguments)")
            XCTAssertTrue(r.stderr.contains("\(segment): 1099511627776 bytes, more than such a file can hold"), r.stderr)
        }
        let market = DataDirectory.marketPath(data)
        try FileManager.default.removeItem(atPath: market)
        XCTAssertEqual(mkfifo(market, 0o644), 0)
        let fifo = try cuohe(["journal", "verify", data])
        XCTAssertEqual(fifo.status, 1)
        XCTAssertTrue(fifo.stderr.contains("\(market): not a regular file"), fifo.stderr)
    }

    /// A trade log whose record checks out but names an instrument the market lacks used to
    /// crash the `ROLL` that wrote the day's files, journaled, so every restart crashed again.
    /// Now the log is damage: recovery rebuilds it from the journal, and the day closes.
    func testAForgedTradeLogIsRebuiltFromTheJournal() throws {
        let data = root + "/data"
        _ = try day(data)
        let date = CivilDate(year: 2026, month: 12, day: 1)!
        let path = TradeLog.path(data: data, date: date)
        var bytes = Array(try FileSystem.readFile(path, bytesMax: 1 << 20))
        XCTAssertEqual(bytes.count, TradeLog.recordBytes)
        // Instrument 4242, with its checksum made good again.
        withUnsafeBytes(of: Int64(4242).littleEndian) { bytes.replaceSubrange(24..<32, with: $0) }
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<108])) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(108..<112, with: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try rollAndCheckTheDayIsRebuilt(data)
    }

    /// A `ROLL` replayed on `data`, whose trade log of 2026-12-01 is damaged: recovery says so,
    /// rebuilds the log from the journal, and the day closes with its trade.
    func rollAndCheckTheDayIsRebuilt(_ data: String) throws {
        let input = root + "/roll.txt"
        try "OPS ROLL date=2026-12-02\n".write(toFile: input, atomically: true, encoding: .utf8)
        let roll = try cuohe(["replay", "--data", data, "--no-prefault", input])
        XCTAssertEqual(roll.status, 0, roll.stderr)
        XCTAssertTrue(roll.stderr.contains("damaged or out-of-order trade record"), roll.stderr)
        XCTAssertTrue(roll.stdout.contains("OPS OK verb=ROLL date=2026-12-02"), roll.stdout)
        let csv = try String(contentsOfFile: data + "/eod/2026-12-01/trades.csv", encoding: .utf8)
        XCTAssertTrue(csv.contains(",ZJ100231,12.10,200,A2001,B02,A1001,B01,0.72,0.72,2.42,BOOK\n"), csv)
        XCTAssertEqual(try cuohe(["journal", "verify", data]).status, 0)
    }

    /// A trade log of the first format (no kind; written before trades carried one) is damage:
    /// the start rebuilds it from the journal, with each trade's kind, and the day closes.
    func testATradeLogOfTheFormerFormatIsRebuiltFromTheJournal() throws {
        let data = root + "/data"
        _ = try day(data)
        let path = TradeLog.path(data: data, date: CivilDate(year: 2026, month: 12, day: 1)!)
        var bytes = Array(try FileSystem.readFile(path, bytesMax: 1 << 20))
        XCTAssertEqual(bytes.count, TradeLog.recordBytes)
        XCTAssertEqual(bytes[104], TradeKind.book.rawValue)
        XCTAssertEqual(bytes[105], TradeLog.format)
        // The same trade as format 1 wrote it: its checksum of the 104 bytes at 104, zero after.
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<104])) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(104..<108, with: $0) }
        bytes.replaceSubrange(108..<112, with: [0, 0, 0, 0])
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try rollAndCheckTheDayIsRebuilt(data)
        let rebuilt = Array(try FileSystem.readFile(path, bytesMax: 1 << 20))
        XCTAssertEqual(rebuilt.count, TradeLog.recordBytes)
        XCTAssertEqual(rebuilt[105], TradeLog.format, "written again in the current format")
    }
}
