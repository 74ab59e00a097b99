import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// `Recovery` called directly, as `cuohe replay --data`, `serve` and the `journal` commands do.
final class RecoveryTests: XCTestCase {
    var root = ""
    let limits = EngineLimits(ordersLiveMax: 1 << 14, cidsPerDayMax: 1 << 15, positionsMax: 1 << 12, lockLotsMax: 1 << 12)

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-recovery-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    /// Journals `lines` into `data` through the binary (with snapshots every `every` commands).
    func journal(_ lines: String, into data: String, snapshotEvery every: Int = 1_000) throws {
        let input = root + "/input-\(UUID().uuidString).txt"
        try lines.write(toFile: input, atomically: true, encoding: .utf8)
        let r = try CrashTests.runCuohe(["replay", "--data", data, "--no-prefault", "--snapshot-every", "\(every)", input])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func open(_ data: String, logs: LogLines = LogLines(), options: RecoveryOptions? = nil) throws -> RecoveredEngine {
        try Recovery.open(data: data, configText: nil, configName: nil, options: options ?? RecoveryOptions(limits: limits),
                          log: { logs.append($0) })
    }

    /// Recovering gives the state a clean in-memory replay of the same lines gives, from the
    /// newest snapshot and the journal after it, and the clock where the journal ended.
    func testRecoveryEqualsACleanReplay() throws {
        let data = root + "/data"
        let lines = CrashTests.stream(lines: 3_000, seed: 9, days: 3)
        try journal(lines, into: data, snapshotEvery: 700)
        var clean = Replay(config: DemoMarket.config, limits: limits, recordsTrades: false)
        let output = clean.run(lines)
        // The stream reaches negotiated transfer both ways, and leaves sides waiting.
        for seen in ["kind=QUOTE", "kind=CROSS", "type=CROSS", "reason=EXPIRED"] { XCTAssertTrue(output.contains(seen), seen) }
        do {
            let logs = LogLines()
            let engine = try open(data, logs: logs)
            XCTAssertEqual(engine.replayer.matcher.stateDigest(), clean.matcher.stateDigest())
            XCTAssertEqual(engine.replayer.clock.now, clean.clock)
            XCTAssertEqual(engine.replayer.clock.tradingDate, clean.matcher.tradingDate)
            XCTAssertEqual(engine.snapshotSeq, engine.journal.nextSeq - 1, "the run ended with a snapshot of its last record")
            XCTAssertTrue(logs.lines.contains { $0.contains("(snapshot at \(engine.snapshotSeq)") }, "\(logs.lines)")
        }
        // The whole journal, keeping trades (for --export): the same state.
        let whole = try reopen(data, wholeJournal: true)
        XCTAssertEqual(whole.replayer.matcher.stateDigest(), clean.matcher.stateDigest())
        XCTAssertEqual(whole.snapshotSeq, 0)
        XCTAssertGreaterThan(whole.replayer.trades?.count ?? 0, 10)
    }

    /// Opens again once `engine`-holding code is done with the directory (its lock released).
    func reopen(_ data: String, wholeJournal: Bool) throws -> RecoveredEngine {
        try open(data, options: RecoveryOptions(limits: limits, wholeJournal: wholeJournal))
    }

    /// A recovered engine holds the directory: a second open or a verify is refused until it goes.
    func testARecoveredEngineHoldsTheDirectory() throws {
        let data = root + "/data"
        try journal("B01 STATUS cid=a\n", into: data)
        do {
            let engine = try open(data)
            XCTAssertThrowsError(try Recovery.verify(data: data)) { error in
                guard case RecoveryError.inUse(let dir, _, let purpose) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(dir, data)
                XCTAssertEqual(purpose, "verify it")
            }
            XCTAssertThrowsError(try open(data).snapshotSeq) { error in
                guard case RecoveryError.inUse = error else { return XCTFail("\(error)") }
            }
            _ = engine.snapshotSeq
        }
        let report = try Recovery.verify(data: data)
        XCTAssertTrue(report.summary.hasPrefix("journal ok: segments=1 records=1 last_seq=1 snapshots=1 "), report.summary)
        XCTAssertEqual(report.damagedSnapshots, 0)
        XCTAssertNil(report.endOfDayProblem)
    }

    /// `verify` and `rebuild-eod` directly: a damaged end-of-day file is named, rebuilding
    /// repairs it, and the report says so.
    func testVerifyNamesADamagedFileAndRebuildRepairsIt() throws {
        let data = root + "/data"
        try journal(CrashTests.stream(lines: 1_500, seed: 4, days: 2), into: data)
        XCTAssertNil(try Recovery.verify(data: data).endOfDayProblem)
        let day = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: data + "/eod").sorted().first)
        let register = data + "/eod/" + day + "/register.csv"
        try "sym,acct,shares,sellable\n".write(toFile: register, atomically: true, encoding: .utf8)
        let damaged = try Recovery.verify(data: data)
        XCTAssertEqual(damaged.endOfDayProblem?.hasPrefix("\(data)/eod/\(day)/register.csv differs from what the journal gives"),
                       true, "\(String(describing: damaged.endOfDayProblem))")
        XCTAssertGreaterThanOrEqual(try Recovery.rebuildEndOfDay(data: data), 1)
        XCTAssertNil(try Recovery.verify(data: data).endOfDayProblem)
    }

    /// The errors are typed: a missing market is a configuration error naming the journal, a
    /// directory that was never one is not.
    func testErrorsSayWhatIsWrong() throws {
        let data = root + "/data"
        try journal("B01 STATUS cid=a\n", into: data)
        try FileManager.default.removeItem(atPath: DataDirectory.marketPath(data))
        XCTAssertThrowsError(try open(data).snapshotSeq) { error in
            guard let error = error as? RecoveryError, case .marketMissing(let dir, let source, _) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(dir, data)
            XCTAssertTrue(source.hasPrefix("its journal"), source)
            XCTAssertTrue(error.isConfiguration)
        }
        let empty = root + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try Recovery.verify(data: empty)) { error in
            guard let error = error as? RecoveryError, case .notADataDirectory = error else { return XCTFail("\(error)") }
            XCTAssertFalse(error.isConfiguration)
        }
    }
}

/// Log lines gathered from another thread.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}
