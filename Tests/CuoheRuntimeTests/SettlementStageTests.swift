import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// The day's trade log and the end-of-day files the settlement stage writes at every ROLL.
final class SettlementStageTests: XCTestCase {
    var dir: String = ""
    let date = CivilDate(year: 2026, month: 12, day: 1)!
    let market = Directory(config: DemoMarket.config)

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-settle-\(getpid())-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Trade `tid`, of every kind in turn.
    func record(_ tid: Int64) -> TradeRecord {
        TradeRecord(tid: tid, date: date, ts: 1_000 + tid, instrument: 0, price: 120_000 + tid, qty: 100 * tid, buyer: 1,
                    buyerBroker: 2, seller: 3, sellerBroker: 1, buyerFee: 3_600, sellerFee: 3_600, stampDuty: tid,
                    kind: TradeKind(rawValue: UInt8(tid % 4))!)
    }

    /// Writes trades 1...n and syncs.
    func writeLog(_ n: Int64) throws {
        var log = try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 1, log: { _ in })
        for tid in 1...n { try log.append(record(tid)) }
        try log.sync()
    }

    func testRecordsRoundTripAndLaterOnesAreCutOff() throws {
        try writeLog(10)
        var lines: [String] = []
        let log = try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 8, log: { lines.append($0) })
        XCTAssertEqual(log.records, (1...7).map(record))
        XCTAssertEqual(log.records.map(\.kind), [.auction, .quote, .cross, .book, .auction, .quote, .cross])
        XCTAssertEqual(lines.count, 1, "cutting off trades after the snapshot is logged")
        let size = try FileManager.default.attributesOfItem(atPath: log.path)[.size] as? Int
        XCTAssertEqual(size, 7 * TradeLog.recordBytes)
    }

    func testATornRecordAfterTheSnapshotIsDroppedButAMissingOneRefuses() throws {
        try writeLog(5)
        let path = TradeLog.path(data: dir, date: date)
        XCTAssertEqual(truncate(path, off_t(5 * TradeLog.recordBytes - 9)), 0)  // the 5th record torn
        XCTAssertEqual(try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 5, log: { _ in }).records.count, 4)
        XCTAssertThrowsError(try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 6, log: { _ in }).records.count) { error in
            XCTAssertTrue("\(error)".contains("offset \(4 * TradeLog.recordBytes)"), "\(error)")
            XCTAssertTrue("\(error)".contains("missing"), "\(error)")
        }
    }

    func testAFlippedByteBeforeTheSnapshotRefusesNamingTheOffset() throws {
        try writeLog(5)
        let path = TradeLog.path(data: dir, date: date)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[2 * TradeLog.recordBytes + 40] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 6, log: { _ in }).records.count) { error in
            XCTAssertTrue("\(error)".contains("\(path): offset \(2 * TradeLog.recordBytes)"), "\(error)")
        }
        // The same damage after the snapshot's last trade is regenerated data: cut off.
        XCTAssertEqual(try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 3, log: { _ in }).records.count, 2)
    }

    /// A trade record that checks out but names an instrument, account or broker the market does
    /// not have is damage (it used to crash the close that wrote `trades.csv` from it, on every
    /// restart): the log refuses to open, so recovery rebuilds it from the journal.
    func testARecordOfAnotherMarketIsDamage() throws {
        var log = try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 1, log: { _ in })
        try log.append(record(1))
        var foreign = record(2)
        foreign.instrument = 4242
        try log.append(foreign)
        try log.sync()
        XCTAssertThrowsError(try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 3,
                                               log: { _ in }).records.count) { error in
            XCTAssertTrue("\(error)".contains("offset \(TradeLog.recordBytes): damaged or out-of-order trade record"),
                          "\(error)")
        }
        for forge in [{ (r: inout TradeRecord) in r.buyer = 99 }, { $0.sellerBroker = -1 }, { $0.qty = 0 }] {
            var r = record(1)
            forge(&r)
            XCTAssertFalse(r.fits(market))
        }
        XCTAssertTrue(record(1).fits(market))
    }

    /// The log's file as format 1 wrote it: no kind, the checksum of the 104 bytes at 104, zero
    /// at 108.
    func formatOneBytes(_ records: [TradeRecord]) -> [UInt8] {
        var bytes: [UInt8] = []
        for r in records {
            let start = bytes.count
            for v in [r.tid, Int64(r.date.daysSinceEpoch), r.ts, Int64(r.instrument), r.price, r.qty, Int64(r.buyer),
                      Int64(r.buyerBroker), Int64(r.seller), Int64(r.sellerBroker), r.buyerFee, r.sellerFee, r.stampDuty] {
                bytes.appendLittleEndian(v)
            }
            let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<start + 104])) }
            bytes.appendLittleEndian(crc)
            bytes.appendLittleEndian(UInt32(0))
        }
        return bytes
    }

    /// A log written before trades carried their kind is damage at its first record (recovery
    /// then rebuilds it from the journal); as data after the snapshot it is cut off like any.
    func testALogOfTheFormerFormatIsDamage() throws {
        let path = TradeLog.path(data: dir, date: date)
        _ = try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 1, log: { _ in })
        let old = formatOneBytes((1...3).map(record))
        XCTAssertEqual(old.count, 3 * TradeLog.recordBytes)
        try Data(old).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 4,
                                               log: { _ in }).records.count) { error in
            XCTAssertEqual(error as? TradeLogError, .damaged(path: path, offset: 0, tid: 1))
        }
        var lines: [String] = []
        XCTAssertEqual(try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 1,
                                         log: { lines.append($0) }).records, [])
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, 0)
        XCTAssertEqual(lines.count, 1, lines.description)
    }

    /// The kind byte is checked like every other value: one the engine has no kind for does not
    /// decode, even with its checksum made good.
    func testAKindOutsideTheEnumIsDamage() throws {
        try writeLog(2)
        let path = TradeLog.path(data: dir, date: date)
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let second = TradeLog.recordBytes
        XCTAssertEqual(bytes[second + 104], TradeKind.quote.rawValue)
        XCTAssertEqual(bytes[second + 105], TradeLog.format)
        bytes[second + 104] = 4
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[second..<second + 108])) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(second + 108..<second + 112, with: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 3,
                                               log: { _ in }).records.count) { error in
            XCTAssertEqual(error as? TradeLogError, .damaged(path: path, offset: second, tid: 2))
        }
        // The same record with a known kind and its checksum made good decodes: the kind is what failed.
        bytes[second + 104] = TradeKind.cross.rawValue
        let good = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[second..<second + 108])) }
        withUnsafeBytes(of: good.littleEndian) { bytes.replaceSubrange(second + 108..<second + 112, with: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let log = try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 3, log: { _ in })
        XCTAssertEqual(log.records.map(\.kind), [.auction, .cross])
    }

    func testAFullDiskIsAnError() throws {
        var log = try TradeLog.open(data: dir, market: market, date: date, firstTid: 1, nextTid: 1, log: { _ in })
        try log.append(record(1))
        // Point the log's file at /dev/full: the next flush must throw, not drop the record.
        let full = open("/dev/full", O_WRONLY)
        XCTAssertGreaterThanOrEqual(full, 0)
        let fd = try XCTUnwrap(openFileDescriptors(of: log.path).first)
        XCTAssertGreaterThanOrEqual(dup2(full, fd), 0)
        close(full)
        XCTAssertThrowsError(try log.flush()) { error in
            XCTAssertTrue("\(error)".contains("cannot write"), "\(error)")
        }
    }

    /// The descriptors of this process open on `path`.
    func openFileDescriptors(of path: String) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { name in
            guard let fd = Int32(name),
                  let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name),
                  target == path else { return nil }
            return fd
        }
    }

    /// Input over several days, run through `replay --data` in two parts (the second starting from
    /// a mid-day snapshot): each day's files equal what `replay --export` writes for the input up to
    /// and including that day's ROLL (trades.csv: that day's lines of it).
    func testEveryRollWritesTheDaysFilesAsTheExportWould() throws {
        let text = CrashTests.stream(lines: 6_000, seed: 21, days: 4)
        let lines = text.split(separator: "\n").map(String.init)
        let rolls = lines.indices.filter { lines[$0].hasPrefix("OPS ROLL") }
        XCTAssertEqual(rolls.count, 3)
        // Part one ends mid-way through the second day; snapshots every 500 commands.
        let cut = (rolls[0] + rolls[1]) / 2 + 7
        let partOne = dir + "/one.txt", partTwo = dir + "/two.txt"
        try (lines[..<cut].joined(separator: "\n") + "\n").write(toFile: partOne, atomically: true, encoding: .utf8)
        try (lines[cut...].joined(separator: "\n") + "\n").write(toFile: partTwo, atomically: true, encoding: .utf8)
        let data = dir + "/data"
        for part in [partOne, partTwo] {
            let result = try CrashTests.runCuohe(["replay", "--data", data, "--no-prefault", "--snapshot-every", "500", part])
            XCTAssertEqual(result.status, 0)
            if part == partTwo {
                XCTAssertTrue(result.stderr.contains("(snapshot at \(cut), then 0 from the journal)"), result.stderr)
                XCTAssertFalse(result.stderr.contains("replaying the whole journal"), result.stderr)
            }
        }
        XCTAssertFalse(SnapshotFile.list(data).isEmpty)
        let start = CivilDate(year: 2026, month: 12, day: 1)!.daysSinceEpoch
        for (k, roll) in rolls.enumerated() {
            let prefix = dir + "/prefix\(k).txt", export = dir + "/export\(k)"
            try (lines[...roll].joined(separator: "\n") + "\n").write(toFile: prefix, atomically: true, encoding: .utf8)
            XCTAssertEqual(try CrashTests.runCuohe(["replay", "--export", export, prefix]).status, 0)
            let day = CivilDate(daysSinceEpoch: start + Int32(k)).iso
            let eod = data + "/eod/" + day
            for name in ["register.csv", "accounts.csv"] {
                XCTAssertEqual(try String(contentsOfFile: eod + "/" + name, encoding: .utf8),
                               try String(contentsOfFile: export + "/" + name, encoding: .utf8), "\(day) \(name)")
            }
            let exported = try String(contentsOfFile: export + "/trades.csv", encoding: .utf8).split(separator: "\n")
            let days = [exported[0]] + exported.dropFirst().filter { $0.split(separator: ",")[1] == day }
            let written = try String(contentsOfFile: eod + "/trades.csv", encoding: .utf8).split(separator: "\n")
            XCTAssertGreaterThan(written.count, 20, "\(day): a day of trades")
            XCTAssertEqual(written, days, "\(day) trades.csv")
            try checkInstruments(eod: eod, day: day, trades: written.dropFirst().map(String.init), lines: lines, roll: roll,
                                 exportAfter: export)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: data + "/eod/" + CivilDate(daysSinceEpoch: start + 3).iso
                                                      + "/trades.csv"), "the open day has no files yet")
        // `journal verify` rebuilds the files from the journal and finds them equal; a changed
        // share count in a register is named.
        let verify = try CrashTests.runCuohe(["journal", "verify", data])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.contains("eod_days=3"), verify.stdout)
        let register = data + "/eod/" + CivilDate(daysSinceEpoch: start + 1).iso + "/register.csv"
        var registerText = try String(contentsOfFile: register, encoding: .utf8)
        let lastDigit = try XCTUnwrap(registerText.dropLast().last)
        registerText = String(registerText.dropLast(2)) + (lastDigit == "0" ? "1" : "0") + "\n"
        try registerText.write(toFile: register, atomically: true, encoding: .utf8)
        let tampered = try CrashTests.runCuohe(["journal", "verify", data])
        XCTAssertEqual(tampered.status, 1)
        XCTAssertTrue(tampered.stderr.contains(register + " differs from what the journal gives"), tampered.stderr)
        // A closed day's file removed: the next start would not write it again (the snapshot is
        // later), so verify says so; `rebuild-eod` puts everything back.
        try FileManager.default.removeItem(atPath: data + "/eod/" + CivilDate(daysSinceEpoch: start).iso + "/trades.csv")
        let missing = try CrashTests.runCuohe(["journal", "verify", data])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("trades.csv is missing"), missing.stderr)
        let rebuild = try CrashTests.runCuohe(["journal", "rebuild-eod", data])
        XCTAssertEqual(rebuild.status, 0, rebuild.stderr)
        let repaired = try CrashTests.runCuohe(["journal", "verify", data])
        XCTAssertEqual(repaired.status, 0, repaired.stderr)
        XCTAssertTrue(repaired.stdout.contains("eod_days=3"), repaired.stdout)
    }

    /// A closed day's `instruments.csv` is what `--export` of the input before its `ROLL` writes
    /// for that day (the next reference prices are what the ROLL then set), and the export after
    /// the ROLL starts the next day from those prices.
    func checkInstruments(eod: String, day: String, trades: [String], lines: [String], roll: Int,
                          exportAfter: String) throws {
        let before = dir + "/before.txt", export = dir + "/before-export"
        try (lines[..<roll].joined(separator: "\n") + "\n").write(toFile: before, atomically: true, encoding: .utf8)
        XCTAssertEqual(try CrashTests.runCuohe(["replay", "--export", export, before]).status, 0)
        let written = try String(contentsOfFile: eod + "/instruments.csv", encoding: .utf8)
        XCTAssertEqual(written, try String(contentsOfFile: export + "/instruments.csv", encoding: .utf8), "\(day) instruments.csv")
        let rows = written.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.count, 5, written)
        XCTAssertEqual(rows[0].joined(separator: ","), EndOfDay.instrumentsHeader)
        XCTAssertEqual(rows[1][0], "ZJ100231")
        XCTAssertEqual(rows[1][1], Substring(day))
        // The stream trades ZJ100231 in the book and ZJ300155 by negotiated transfer: each line
        // counts that instrument's trades of the day's trades.csv.
        for (row, sym) in [(1, "ZJ100231"), (4, "ZJ300155")] {
            let mine = trades.filter { $0.split(separator: ",")[3] == Substring(sym) }
            XCTAssertEqual(rows[row][0], Substring(sym))
            XCTAssertEqual(Int(rows[row][4]), mine.count, "\(day): the day's \(sym) trades counted")
            XCTAssertEqual(Int64(rows[row][5]), mine.map { Int64($0.split(separator: ",")[5])! }.reduce(0, +), "\(day) \(sym) volume")
        }
        XCTAssertEqual(Int(rows[1][4])! + Int(rows[4][4])!, trades.count, "\(day): no other instrument trades")
        XCTAssertEqual(rows[2][4...6], ["0", "0", "0.00"], "\(day): no trades in ZJ100518")
        let next = try String(contentsOfFile: exportAfter + "/instruments.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",")[2] }
        XCTAssertEqual(next, rows.dropFirst().map { $0[3] }, "\(day): the next day's reference prices")
    }

    /// The trade log is derived data: when the one a snapshot counts on is gone or damaged, the
    /// restart says so and rebuilds every day's files from the whole journal, byte for byte.
    func testALostOrDamagedTradeLogIsRebuiltFromTheJournal() throws {
        let input = dir + "/days.txt"
        try CrashTests.stream(lines: 3_000, seed: 8, days: 3).write(toFile: input, atomically: true, encoding: .utf8)
        let data = dir + "/data"
        XCTAssertEqual(try CrashTests.runCuohe(["replay", "--data", data, "--no-prefault", "--snapshot-every", "700", input]).status, 0)
        let original = try CrashTests.files(under: data + "/eod")
        XCTAssertEqual(original.keys.filter { $0.hasSuffix("trades.csv") }.count, 2, "two closed days")
        let openDay = try XCTUnwrap(original.keys.first { $0.hasSuffix("trades.log") && !original.keys.contains(
            String($0.dropLast("trades.log".count)) + "trades.csv") })

        // Damaged: one byte of the open day's log (which the newest snapshot counts on).
        let path = data + "/eod/" + openDay
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertGreaterThan(bytes.count, TradeLog.recordBytes)
        bytes[TradeLog.recordBytes / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let damaged = try CrashTests.runCuohe(["replay", "--data", data, "--no-prefault", "/dev/null"])
        XCTAssertEqual(damaged.status, 0)
        XCTAssertTrue(damaged.stderr.contains("damaged or out-of-order trade record"), damaged.stderr)
        XCTAssertEqual(try CrashTests.files(under: data + "/eod"), original)

        // Gone: the whole eod directory. Every day's files come back from the whole journal,
        // whichever snapshot is newest (one taken before the open day's first trade counts on no
        // trade of it, so it alone would not say that the closed days' files are missing).
        try FileManager.default.removeItem(atPath: data + "/eod")
        let gone = try CrashTests.runCuohe(["replay", "--data", data, "--no-prefault", "/dev/null"])
        XCTAssertEqual(gone.status, 0, gone.stderr)
        XCTAssertTrue(gone.stderr.contains("eod is missing: replaying the whole journal"), gone.stderr)
        XCTAssertEqual(try CrashTests.files(under: data + "/eod"), original)
    }
}
