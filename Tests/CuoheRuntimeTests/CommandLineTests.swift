import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// The `cuohe` executable as an operator runs it: exit codes, messages, and the replay output.
final class CommandLineTests: XCTestCase {
    /// A child that exits before reading all its input must not take the test process down with
    /// SIGPIPE when the input is written.
    override func setUp() { signal(SIGPIPE, SIG_IGN) }

    /// The `cuohe` binary built beside this test bundle.
    var binary: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent("cuohe")
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func cuohe(_ arguments: [String], stdin: String? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        // Feed standard input from another thread: a child that writes more than a pipe holds
        // before it has read all its input would otherwise deadlock against us.
        let writer = input.fileHandleForWriting
        let data = Data((stdin ?? "").utf8)
        let fed = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? writer.write(contentsOf: data)  // a child that exits early closes its input
            try? writer.close()
            fed.signal()
        }
        let errReader = err.fileHandleForReading
        nonisolated(unsafe) var errData = Data()
        let errDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errData = errReader.readDataToEndOfFile()
            errDone.signal()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        fed.wait()
        errDone.wait()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData, as: UTF8.self))
    }

    func temporaryFile(_ name: String, _ contents: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-cli-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func testReplayFromStandardInputOnTheDemoMarket() throws {
        let r = try cuohe(["replay"], stdin: """
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.10
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.20
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            B01 ACK seq=1 cid=s1 oid=1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.10 tif=DAY ts=1796054400000000000
            B02 ACK seq=1 cid=b1 oid=2 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.20 tif=DAY ts=1796054400000000001
            B02 FILL seq=2 cid=b1 oid=2 tid=1 px=12.10 qty=200 leaves=0 cum=200 liq=TAKER ts=1796054400000000001
            B01 FILL seq=2 cid=s1 oid=1 tid=1 px=12.10 qty=200 leaves=100 cum=200 liq=MAKER ts=1796054400000000001
            * TRADE sym=ZJ100231 mdseq=1 tid=1 px=12.10 qty=200 kind=BOOK ts=1796054400000000001

            """)
    }

    func testReplayWithAConfigFileAndAFile() throws {
        let config = try temporaryFile("market.json", """
            { "tradingDate": "2026-12-01",
              "instruments": [ { "symbol": "ZJ1", "name": "One", "tick": "0.05", "lot": 10,
                                 "referencePrice": "5.00", "bandPercent": 5 } ],
              "brokers": [ { "id": "B1", "token": "t", "operator": false } ],
              "accounts": [ { "id": "X", "broker": "B1", "cash": "100", "qualifiedUntil": "2026-12-31" } ] }
            """)
        let input = try temporaryFile("day.txt", "B1 NEW cid=a acct=X sym=ZJ1 side=BUY qty=10 px=5.25\nB1 NEW cid=b acct=X sym=ZJ1 side=BUY qty=10 px=5.30\n")
        let r = try cuohe(["replay", "--config", config, input])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            B1 ACK seq=1 cid=a oid=1 acct=X sym=ZJ1 side=BUY qty=10 px=5.25 tif=DAY ts=1796083200000000000
            B1 REJ seq=2 cid=b reason=PRICE_BAND ts=1796083200000000001

            """)
    }

    func testBadConfigurationNamesFilePathAndExpectationAndExitsThree() throws {
        let config = try temporaryFile("bad.json", """
            { "tradingDate": "2026-12-01",
              "instruments": [ { "symbol": "ZJ1", "name": "One", "tick": 0.05, "lot": 10,
                                 "referencePrice": "5.00", "bandPercent": 5 } ],
              "brokers": [ { "id": "B1", "token": "t", "operator": false } ],
              "accounts": [] }
            """)
        let r = try cuohe(["replay", "--config", config], stdin: "")
        XCTAssertEqual(r.status, 3)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("bad.json"), r.stderr)
        XCTAssertTrue(r.stderr.contains("$.instruments[0].tick"), r.stderr)
        XCTAssertTrue(r.stderr.contains("expected a decimal string"), r.stderr)
    }

    func testUsageErrorsExitTwoAndMissingInputExitsOne() throws {
        let unknown = try cuohe(["replay", "--frobnicate"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("unknown option --frobnicate"), unknown.stderr)
        let noCommand = try cuohe([])
        XCTAssertEqual(noCommand.status, 2)
        XCTAssertTrue(noCommand.stdout.contains("usage: cuohe serve"))
        XCTAssertTrue(noCommand.stdout.contains("cuohe replay [--config FILE]"))
        let missing = try cuohe(["replay", "/nonexistent/day.txt"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/day.txt: cannot open"), missing.stderr)
        let missingConfig = try cuohe(["replay", "--config", "/nonexistent/market.json"], stdin: "")
        XCTAssertEqual(missingConfig.status, 3)
        XCTAssertTrue(missingConfig.stderr.contains("/nonexistent/market.json"), missingConfig.stderr)
    }

    /// Options that only mean something with a data directory used to be ignored without one; an
    /// operator who mistyped `--data` then ran a day without the journal they asked for.
    func testOptionsThatNeedADataDirectoryAreRefusedWithoutOne() throws {
        for option in [["--durability", "none"], ["--snapshot-every", "10"], ["--segment-bytes", "8192"], ["--no-prefault"]] {
            let r = try cuohe(["replay"] + option, stdin: "B01 STATUS cid=a\n")
            XCTAssertEqual(r.status, 2, "\(option)")
            XCTAssertTrue(r.stderr.contains("\(option[0]) only means something with --data DIR"), r.stderr)
            XCTAssertEqual(r.stdout, "", "nothing ran")
        }
    }

    /// Every command whose output cannot be written (here: standard output is /dev/full) exits 1
    /// saying so, instead of exiting 0 with its output lost.
    func testEveryCommandFailsWhenItsOutputCannotBeWritten() throws {
        let input = try temporaryFile("full-day.txt", "B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.10\n"
                                      + "OPS STATS\n")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-full-\(getpid())").path
        try? FileManager.default.removeItem(atPath: data)
        defer { try? FileManager.default.removeItem(atPath: data) }
        XCTAssertEqual(try cuohe(["replay", "--data", data, "--no-prefault", input]).status, 0)
        for arguments in [["demo"], ["help"], ["replay", input], ["replay", "--data", data, "--no-prefault", input],
                          ["journal", "verify", data], ["journal", "dump", data], ["journal", "rebuild-eod", data]] {
            let process = Process()
            process.executableURL = binary
            process.arguments = arguments
            process.standardOutput = try XCTUnwrap(FileHandle(forWritingAtPath: "/dev/full"))
            let err = Pipe()
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 1, "\(arguments): \(message)")
            XCTAssertTrue(message.contains("writing output: No space left on device"), "\(arguments): \(message)")
        }
    }

    func testSegmentSizeRotatesTheJournalAndIsChecked() throws {
        for bad in ["0", "4095", "lots", "99999999999"] {
            let refused = try cuohe(["replay", "--data", "/tmp/unused", "--segment-bytes", bad], stdin: "")
            XCTAssertEqual(refused.status, 2, bad)
            XCTAssertTrue(refused.stderr.contains("--segment-bytes takes"), refused.stderr)
        }
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-segments-\(getpid())").path
        try? FileManager.default.removeItem(atPath: data)
        defer { try? FileManager.default.removeItem(atPath: data) }
        // 20,000 commands of 128 bytes (2.5 MB) into segments of 64 KiB: a batch never spans two
        // segments, so one may run past the size by a batch (at most 4,096 records, 512 KiB), which
        // still leaves at least four segments.
        let input = CrashTests.stream(lines: 20_000, seed: 4)
        let first = try cuohe(["replay", "--data", data, "--no-prefault", "--segment-bytes", "65536", "-"], stdin: input)
        XCTAssertEqual(first.status, 0, first.stderr)
        let segments = try FileManager.default.contentsOfDirectory(atPath: data + "/journal").filter { $0.hasSuffix(".log") }
        XCTAssertGreaterThanOrEqual(segments.count, 4, "\(segments)")
        let verify = try cuohe(["journal", "verify", data])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.contains("segments=\(segments.count) records=20000"), verify.stdout)
        let memory = try cuohe(["replay", "-"], stdin: input)
        XCTAssertEqual(first.stdout, memory.stdout)
    }

    func testGarbageInputNeverCrashesTheReplay() throws {
        var rng: UInt64 = 99
        var bytes: [UInt8] = []
        let alphabet = Array("B01 NEW CANCEL REPLACE cid= acct=A1001 sym=ZJ100231 side=BUY SELL qty=100 px=12.00 @\r\n=#\t\u{0}\u{7F}é".utf8)
        for _ in 0..<200_000 {
            rng = rng &* 6_364_136_223_846_793_005 &+ 1
            bytes.append(alphabet[Int((rng >> 33) % UInt64(alphabet.count))])
        }
        bytes.append(contentsOf: Array(repeating: UInt8(ascii: "x"), count: 100_000))  // one very long line
        let r = try cuohe(["replay"], stdin: String(decoding: bytes, as: UTF8.self))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("REJ"), "garbage should be rejected line by line")
    }

    /// Inputs at the edges of the engine's number ranges are refused, never a trap: a ROLL past the
    /// last date whose nanosecond timestamps fit, an `@` stamp at the top of Int64, a trading date
    /// in 2300; output errors and configuration errors get their exit codes in every mode.
    func testRangeEdgesAndErrorCodes() throws {
        let r = try cuohe(["replay"], stdin: "OPS ROLL date=2262-04-11\n@9223372036854775807 OPS STATS\nOPS STATS\n"
                            + "OPS ROLL date=2262-04-10\nOPS STATS\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("OPS REJ reason=MALFORMED detail=BAD_DATE"), r.stdout)
        XCTAssertTrue(r.stdout.contains("- REJ reason=MALFORMED detail=BAD_TIMESTAMP"), r.stdout)
        XCTAssertTrue(r.stdout.contains("OPS OK verb=ROLL date=2262-04-10"), r.stdout)
        // The demo market's day starts at local midnight, +08:00.
        let localMidnight = CivilDate(year: 2262, month: 4, day: 10)!.midnightNanos - 8 * 3_600 * 1_000_000_000
        XCTAssertTrue(r.stdout.hasSuffix("rejects=0 ts=\(localMidnight)\n"), r.stdout)

        let late = try temporaryFile("late.json", DemoMarket.json.replacingOccurrences(of: "\"2026-12-01\"", with: "\"2300-01-01\""))
        XCTAssertNotEqual(late, "")
        let lateRun = try cuohe(["replay", "--config", late], stdin: "")
        XCTAssertEqual(lateRun.status, 3, lateRun.stderr)
        XCTAssertTrue(lateRun.stderr.contains("2262-04-10"), lateRun.stderr)

        let data = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-codes-\(getpid())").path
        try? FileManager.default.removeItem(atPath: data)
        defer { try? FileManager.default.removeItem(atPath: data) }
        let broken = try temporaryFile("broken.json", "{ not json")
        XCTAssertEqual(try cuohe(["replay", "--data", data, "--config", broken], stdin: "").status, 3)
        XCTAssertEqual(try cuohe(["replay", "--data", data, "--no-prefault"], stdin: "OPS STATS\n").status, 0)
        XCTAssertEqual(try cuohe(["replay", "--data", data, "--config", late], stdin: "").status, 3,
                       "a data directory made with another configuration")
        let dump = Process()
        dump.executableURL = binary
        dump.arguments = ["journal", "dump", data]
        dump.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
        let err = Pipe()
        dump.standardError = err
        try dump.run()
        dump.waitUntilExit()
        XCTAssertEqual(dump.terminationStatus, 1, "a dump that cannot be written is a failure")
        XCTAssertTrue(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("writing output"))
    }

    /// `--data` and `--export` together write the same files an in-memory replay exports.
    func testDurableReplayExports() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-dx-\(getpid())").path
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let input = CrashTests.stream(lines: 3_000, seed: 12, days: 2)
        let durable = try cuohe(["replay", "--data", root + "/data", "--no-prefault", "--export", root + "/a", "-"], stdin: input)
        XCTAssertEqual(durable.status, 0, durable.stderr)
        let memory = try cuohe(["replay", "--export", root + "/b", "-"], stdin: input)
        XCTAssertEqual(durable.stdout, memory.stdout)
        for name in ["trades.csv", "register.csv", "accounts.csv", "instruments.csv"] {
            let a = try String(contentsOfFile: root + "/a/" + name, encoding: .utf8)
            XCTAssertEqual(a, try String(contentsOfFile: root + "/b/" + name, encoding: .utf8), name)
            XCTAssertGreaterThan(a.split(separator: "\n").count, 3, name)
        }
    }

    func testExportWritesTheEndOfDayFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-eod-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        let r = try cuohe(["replay", "--export", dir], stdin: """
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.10
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.20
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        let trades = try String(contentsOfFile: dir + "/trades.csv", encoding: .utf8)
        XCTAssertEqual(trades, """
            tid,date,ts,sym,px,qty,buyer,buyerBroker,seller,sellerBroker,buyerFee,sellerFee,stampDuty,kind
            1,2026-12-01,1796054400000000001,ZJ100231,12.10,200,A2001,B02,A1001,B01,0.72,0.72,2.42,BOOK

            """)
        // The day still open: its next reference prices are what a ROLL now would set (the last
        // trade's price, or the reference where nothing traded).
        let instruments = try String(contentsOfFile: dir + "/instruments.csv", encoding: .utf8)
        XCTAssertEqual(instruments, """
            sym,date,referencePrice,nextReferencePrice,trades,volume,value,holders
            ZJ100231,2026-12-01,12.00,12.10,1,200,2420.00,3
            ZJ100518,2026-12-01,8.50,8.50,0,0,0.00,3
            ZJ200077,2026-12-01,3.20,3.20,0,0,0.00,3
            ZJ300155,2026-12-01,5.00,5.00,0,0,0.00,2

            """)
        let accounts = try String(contentsOfFile: dir + "/accounts.csv", encoding: .utf8)
        XCTAssertTrue(accounts.hasPrefix("acct,broker,cash,frozenCash,boughtThisYear\nA1001,B01,1002416.86,0.00,0.00\n"), accounts)
        XCTAssertTrue(accounts.contains("\nA2001,B02,1197579.28,0.00,2420.00\n"), accounts)
        XCTAssertTrue(accounts.hasSuffix("\nFEES,,3.86,0.00,0.00\n"), accounts)
        let register = try String(contentsOfFile: dir + "/register.csv", encoding: .utf8)
        XCTAssertTrue(register.hasPrefix("sym,acct,shares,sellable\nZJ100231,A1001,4800,4800\nZJ100231,A2001,2200,2200\n"), register)
        let blocked = try cuohe(["replay", "--export", "/proc/no-such-place/eod"], stdin: "")
        XCTAssertEqual(blocked.status, 1)
        XCTAssertTrue(blocked.stderr.contains("/proc/no-such-place/eod"), blocked.stderr)
    }

    func testDemoPrintsTheMarket() throws {
        let r = try cuohe(["demo"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("ZJ100231"))
        XCTAssertTrue(r.stdout.contains("LOGIN broker=B01 token=secret1"))
    }
}
