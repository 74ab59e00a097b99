import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

final class JournalTests: XCTestCase {
    var dir: String = ""

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-journal-\(getpid())-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testCRC32CKnownVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([]), 0)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum(Array(0..<32)), 0x46DD_794E)
        // Continuing equals one pass, whatever the split.
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let whole = CRC32C.checksum(bytes)
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let first = CRC32C.checksum(Array(bytes[..<split]))
            let both = Array(bytes[split...]).withUnsafeBytes { CRC32C.checksum($0, continuing: first) }
            XCTAssertEqual(both, whole, "split at \(split)")
        }
    }

    static func randomCommands(_ n: Int, seed: UInt64) -> [Command] {
        var x = seed
        func next() -> UInt64 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return x >> 11
        }
        return (0..<n).map { i in
            var c = Command(kind: CommandKind(rawValue: UInt8(1 + next() % 11))!, broker: Int32(next() % 5), ts: Int64(i))
            c.side = next() % 2 == 0 ? .buy : .sell
            c.type = next() % 2 == 0 ? .limit : .market
            c.tif = TimeInForce(rawValue: UInt8(next() % 4))!
            c.phase = TradingPhase(rawValue: UInt8(next() % 3))!
            c.account = Int32(truncatingIfNeeded: Int64(next() % 100) - 1)
            c.instrument = Int32(truncatingIfNeeded: Int64(next() % 4) - 1)
            c.date = CivilDate(daysSinceEpoch: Int32(next() % 30_000))
            c.qty = Int64(next() % 1_000_000) - 2
            c.price = Int64(next() % 10_000_000) - 2
            c.cid = ClientOrderID("c\(next() % 100_000)")!
            c.newCid = ClientOrderID("n\(next())")!
            return c
        }
    }

    func assertSame(_ a: Command, _ b: Command, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual([a.kind.rawValue, a.side.rawValue, a.type.rawValue, a.tif.rawValue, a.phase.rawValue],
                       [b.kind.rawValue, b.side.rawValue, b.type.rawValue, b.tif.rawValue, b.phase.rawValue], file: file, line: line)
        XCTAssertEqual([Int64(a.broker), Int64(a.account), Int64(a.instrument), Int64(a.date.daysSinceEpoch), a.ts, a.qty, a.price],
                       [Int64(b.broker), Int64(b.account), Int64(b.instrument), Int64(b.date.daysSinceEpoch), b.ts, b.qty, b.price],
                       file: file, line: line)
        XCTAssertEqual(a.cid, b.cid, file: file, line: line)
        XCTAssertEqual(a.newCid, b.newCid, file: file, line: line)
    }

    /// The CPU's CRC32 instruction and the table-driven code agree on every length and alignment,
    /// and on the known vectors.
    func testHardwareAndSoftwareCRC32CAgree() {
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { CRC32C.software($0) }, 0xE306_9283)
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { CRC32C.checksum($0) }, 0xE306_9283)
        #if arch(x86_64)
        XCTAssertTrue(CRC32C.hardware, "every x86-64 machine this runs on has SSE 4.2: the comparison must be real")
        #endif
        var x: UInt64 = 0x1234_5678
        let bytes = (0..<4096).map { _ -> UInt8 in
            x = x &* 6_364_136_223_846_793_005 &+ 1
            return UInt8(truncatingIfNeeded: x >> 56)
        }
        bytes.withUnsafeBytes { all in
            for start in [0, 1, 3, 7, 8] {
                for count in [0, 1, 7, 8, 9, 15, 16, 120, 121, 1000, 4000] {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + count)])
                    XCTAssertEqual(CRC32C.checksum(slice), CRC32C.software(slice), "start \(start) count \(count)")
                    XCTAssertEqual(CRC32C.checksum(slice, continuing: 0xDEAD_BEEF),
                                   CRC32C.software(slice, continuing: 0xDEAD_BEEF))
                }
            }
        }
        print("CRC-32C by the CPU's instruction: \(CRC32C.hardware)")
    }

    func testRecordsRoundTripAndEqualCommandsGiveEqualBytes() {
        let commands = Self.randomCommands(500, seed: 1)
        var bytes: [UInt8] = []
        for (i, c) in commands.enumerated() { JournalRecord.append(c, seq: UInt64(i + 1), to: &bytes) }
        XCTAssertEqual(bytes.count, 500 * JournalRecord.recordBytes)
        for (i, c) in commands.enumerated() {
            let result = bytes.withUnsafeBytes { JournalRecord.read($0, at: i * JournalRecord.recordBytes) }
            guard case .success(let (seq, decoded)) = result else { return XCTFail("record \(i): \(result)") }
            XCTAssertEqual(seq, UInt64(i + 1))
            assertSame(decoded, c)
        }
        var again: [UInt8] = []
        for (i, c) in commands.enumerated() { JournalRecord.append(c, seq: UInt64(i + 1), to: &again) }
        XCTAssertEqual(again, bytes, "the format is a function of the command: no padding bytes leak in")
    }

    func testAppendsAcrossSegmentsReadBackInOrder() throws {
        let commands = Self.randomCommands(1000, seed: 2)
        var logs: [String] = []
        let (journal, recovered) = try Journal.open(directory: dir, segmentBytesMax: 20 * JournalRecord.recordBytes,
                                                    durability: .sync) { logs.append($0) }
        XCTAssertTrue(recovered.isEmpty)
        var i = 0
        var size = 1
        while i < commands.count {
            let n = min(size, commands.count - i)
            try journal.append(Array(commands[i..<(i + n)]))
            i += n
            size = size % 13 + 1
        }
        XCTAssertEqual(journal.nextSeq, 1001)
        let contents = try Journal.read(directory: dir)
        XCTAssertGreaterThan(contents.segments.count, 40, "rotation happened")
        XCTAssertEqual(contents.segments, Array(1...contents.segments.count))
        XCTAssertEqual(contents.commands.count, 1000)
        for (a, b) in zip(contents.commands, commands) { assertSame(a, b) }
        XCTAssertNil(contents.tornTail)
        XCTAssertTrue(logs.isEmpty)
        // Reopening continues the sequence where it ended.
        let (reopened, again) = try Journal.open(directory: dir, segmentBytesMax: 20 * JournalRecord.recordBytes) { _ in }
        XCTAssertEqual(again.count, 1000)
        XCTAssertEqual(reopened.nextSeq, 1001)
        try reopened.append(Array(commands[0..<3]))
        XCTAssertEqual(try Journal.read(directory: dir).commands.count, 1003)
    }

    func lastSegment() -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.hasSuffix(".log") }.sorted() ?? []
        return dir + "/" + names.last!
    }

    func testTornLastRecordIsTruncatedWithALogLine() throws {
        let commands = Self.randomCommands(10, seed: 3)
        do {
            let (journal, _) = try Journal.open(directory: dir) { _ in }
            try journal.append(commands)
        }
        // A crash cut the next write short: 50 bytes of an 11th record.
        var partial: [UInt8] = []
        JournalRecord.append(commands[0], seq: 11, to: &partial)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: lastSegment()))
        handle.seekToEndOfFile()
        handle.write(Data(partial[0..<50]))
        try handle.close()
        var logs: [String] = []
        let (journal, recovered) = try Journal.open(directory: dir) { logs.append($0) }
        XCTAssertEqual(recovered.count, 10)
        XCTAssertEqual(logs.count, 1)
        XCTAssertTrue(logs[0].contains("torn last record at offset \(JournalSegmentHeader.bytes + 10 * JournalRecord.recordBytes) (50 bytes"),
                      logs[0])
        try journal.append([commands[1]])
        let contents = try Journal.read(directory: dir)
        XCTAssertEqual(contents.commands.count, 11)
        XCTAssertNil(contents.tornTail)
    }

    func testAFlippedByteBeforeTheEndIsRefusedNamingFileAndOffset() throws {
        let (journal, _) = try Journal.open(directory: dir) { _ in }
        try journal.append(Self.randomCommands(10, seed: 4))
        let path = lastSegment()
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let victim = JournalSegmentHeader.bytes + 3 * JournalRecord.recordBytes + 40
        bytes[victim] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Journal.read(directory: dir)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path), message)
            XCTAssertTrue(message.contains("offset \(JournalSegmentHeader.bytes + 3 * JournalRecord.recordBytes): checksum mismatch"),
                          message)
        }
        XCTAssertThrowsError(try Journal.open(directory: dir) { _ in }, "the engine refuses to start")
    }

    /// A whole last record that does not check out is damage, not a torn write: a killed write
    /// leaves a prefix, so only a record cut short may be dropped. Refused, nothing truncated.
    func testAWholeDamagedLastRecordIsRefusedNotTruncated() throws {
        do {
            let (journal, _) = try Journal.open(directory: dir) { _ in }
            try journal.append(Self.randomCommands(5, seed: 8))
        }
        let path = lastSegment()
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[JournalSegmentHeader.bytes + 4 * JournalRecord.recordBytes + 60] ^= 0x04
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Journal.open(directory: dir) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("offset \(JournalSegmentHeader.bytes + 4 * JournalRecord.recordBytes): checksum mismatch"),
                          "\(error)")
        }
        XCTAssertEqual(try Array(Data(contentsOf: URL(fileURLWithPath: path))), bytes, "nothing was cut")
    }

    /// A snapshot that covers more records than the journal holds stops the start before the
    /// journal is touched (its torn tail included).
    func testRequiredRecordsAreCheckedBeforeAnythingChanges() throws {
        do {
            let (journal, _) = try Journal.open(directory: dir) { _ in }
            try journal.append(Self.randomCommands(5, seed: 9))
        }
        var partial: [UInt8] = []
        JournalRecord.append(Self.randomCommands(1, seed: 10)[0], seq: 6, to: &partial)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: lastSegment()))
        handle.seekToEndOfFile()
        handle.write(Data(partial[0..<30]))  // a torn 6th record
        try handle.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: lastSegment()))
        XCTAssertThrowsError(try Journal.open(directory: dir, requiredRecords: 6) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("a snapshot covers record 6 but the journal holds 5"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: lastSegment())), before)
        XCTAssertEqual(try Journal.open(directory: dir, requiredRecords: 5) { _ in }.1.count, 5)
    }

    /// One process at a time: a second lock on a data directory is refused until the first goes.
    func testTheDataDirectoryIsLockedByOneProcess() throws {
        func lockAndRelease() throws { _ = try DataDirectory.lock(dir) }
        do {
            let first = try DataDirectory.lock(dir)
            XCTAssertThrowsError(try lockAndRelease()) { error in
                XCTAssertTrue("\(error)".contains("in use by another cuohe process"), "\(error)")
            }
            _ = first
        }
        XCTAssertNoThrow(try lockAndRelease(), "released when the first lock went away")
    }

    func testAMissingSegmentIsRefused() throws {
        let (journal, _) = try Journal.open(directory: dir, segmentBytesMax: 5 * JournalRecord.recordBytes) { _ in }
        for c in Self.randomCommands(20, seed: 5) { try journal.append([c]) }
        try FileManager.default.removeItem(atPath: dir + "/" + Journal.segmentName(2))
        XCTAssertThrowsError(try Journal.read(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("missing segment 00000002.log"), "\(error)")
        }
    }

    func testASequenceGapIsRefused() throws {
        var bytes = JournalSegmentHeader.encode(segment: 1, digest: 0)
        let commands = Self.randomCommands(3, seed: 6)
        JournalRecord.append(commands[0], seq: 1, to: &bytes)
        JournalRecord.append(commands[1], seq: 3, to: &bytes)
        JournalRecord.append(commands[2], seq: 4, to: &bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + Journal.segmentName(1)))
        XCTAssertThrowsError(try Journal.read(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("offset \(JournalSegmentHeader.bytes + JournalRecord.recordBytes): sequence 3 where 2 "
                                             + "was expected"), "\(error)")
        }
    }

    func testAFailedWriteIsAnErrorNotASilentLoss() throws {
        // A segment that is a device (here /dev/full) is refused before anything is written.
        XCTAssertEqual(symlink("/dev/full", dir + "/" + Journal.segmentName(1)), 0)
        XCTAssertThrowsError(try Journal.open(directory: dir) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("00000001.log: not a regular file"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: dir + "/" + Journal.segmentName(1))
        // The disk fills mid-batch (a file size limit makes the write fail, as ENOSPC would): the
        // batch is an error, the journal takes no more appends, and what was written before is
        // intact, the cut-off batch a torn tail.
        let (journal, _) = try Journal.open(directory: dir) { _ in }
        try journal.append(Self.randomCommands(4, seed: 7))
        signal(SIGXFSZ, SIG_IGN)
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        var small = saved
        small.rlim_cur = rlim_t(JournalSegmentHeader.bytes + 5 * JournalRecord.recordBytes - 50)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small), 0)
        defer { setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved) }
        XCTAssertThrowsError(try journal.append(Self.randomCommands(2, seed: 8))) { error in
            XCTAssertTrue("\(error)".contains("00000001.log: cannot write: File too large"), "\(error)")
        }
        XCTAssertThrowsError(try journal.append(Self.randomCommands(1, seed: 9)), "no appends after a failed write")
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let contents = try Journal.read(directory: dir)
        XCTAssertEqual(contents.commands.count, 4)
        XCTAssertNotNil(contents.tornTail, "the cut-off batch")
    }

    /// Every segment starts with a header naming it and the market it was written for: a segment
    /// renamed, one of another market, a damaged header, or a header a crash cut short (only the
    /// last segment's, with no record after it, which the next start writes again).
    func testSegmentHeadersNameTheSegmentAndTheMarket() throws {
        do {
            let (journal, _) = try Journal.open(directory: dir, segmentBytesMax: 4 * JournalRecord.recordBytes,
                                                configDigest: 0xABCD) { _ in }
            for c in Self.randomCommands(10, seed: 11) { try journal.append([c]) }
        }
        XCTAssertEqual(try Journal.storedConfigDigest(directory: dir), 0xABCD)
        XCTAssertEqual(try Journal.read(directory: dir).configDigest, 0xABCD)
        XCTAssertThrowsError(try Journal.open(directory: dir, configDigest: 0xABCE) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("written for another market (market digest 000000000000abcd, not "
                                             + "000000000000abce)"), "\(error)")
            XCTAssertTrue((error as? JournalError)?.isConfiguration == true)
        }
        let second = dir + "/" + Journal.segmentName(2)
        let original = try Data(contentsOf: URL(fileURLWithPath: second))
        // Another market's segment in its place.
        var foreign = Array(original)
        foreign.replaceSubrange(0..<JournalSegmentHeader.bytes, with: JournalSegmentHeader.encode(segment: 2, digest: 7))
        try Data(foreign).write(to: URL(fileURLWithPath: second))
        XCTAssertThrowsError(try Journal.read(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("00000002.log: written for another market than the segments before it"), "\(error)")
        }
        // Segment 3's file under segment 2's name.
        var renamed = Array(original)
        renamed.replaceSubrange(0..<JournalSegmentHeader.bytes, with: JournalSegmentHeader.encode(segment: 3, digest: 0xABCD))
        try Data(renamed).write(to: URL(fileURLWithPath: second))
        XCTAssertThrowsError(try Journal.read(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("the header names segment 3: not this file"), "\(error)")
        }
        // A flipped header byte.
        var flipped = Array(original)
        flipped[17] ^= 1
        try Data(flipped).write(to: URL(fileURLWithPath: second))
        XCTAssertThrowsError(try Journal.read(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("offset 0: segment header checksum mismatch"), "\(error)")
        }
        try original.write(to: URL(fileURLWithPath: second))
        // A rotation cut short: the newest segment holds 20 bytes of its header.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".log") }.sorted()
        let next = dir + "/" + Journal.segmentName(names.count + 1)
        try Data(JournalSegmentHeader.encode(segment: UInt64(names.count + 1), digest: 0xABCD)[0..<20])
            .write(to: URL(fileURLWithPath: next))
        var logs: [String] = []
        let (journal, recovered) = try Journal.open(directory: dir, configDigest: 0xABCD) { logs.append($0) }
        XCTAssertEqual(recovered.count, 10)
        XCTAssertTrue(logs.first?.contains("torn segment header at offset 0 (20 bytes") == true, "\(logs)")
        try journal.append(Self.randomCommands(1, seed: 12))
        XCTAssertEqual(try Journal.read(directory: dir).commands.count, 11)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: next)).count,
                       JournalSegmentHeader.bytes + JournalRecord.recordBytes)
    }

    /// A record that checks out but holds values the edge never sequences (a writer other than
    /// the engine, or a forged checksum) is refused where it lies, "record does not decode":
    /// a ROLL past 2262, a time of `Int64.max`, a negative broker, a quantity past 10^12.
    /// The negotiated verbs keep their own fields in the record's unused slots (`ref` in newcid's,
    /// `cp` in the date's, the quote's oid in the price's) and read back the same; a `CROSS`
    /// whose `cp` is not configured (-1) is a command the edge writes, one below -1 is not.
    func testNegotiatedCommandsRoundTrip() throws {
        let quote = Command.quote(broker: 1, ts: 10, cid: ClientOrderID("q1")!, account: 2, instrument: 3, side: .sell,
                                  qty: 300, price: 101_000)
        let accept = Command.accept(broker: 2, ts: 11, cid: ClientOrderID("a1")!, account: 4, quoteOid: 1_234_567, qty: 100)
        let cross = Command.cross(broker: 0, ts: 12, cid: ClientOrderID("x1")!, account: 1, instrument: 0, side: .buy,
                                  qty: 200, price: 99_500, ref: ClientOrderID("AG2026x0001")!, counterBroker: 3)
        var unknown = cross
        unknown.counterBroker = -1
        var bytes: [UInt8] = []
        for (i, c) in [quote, accept, cross, unknown].enumerated() { JournalRecord.append(c, seq: UInt64(i + 1), to: &bytes) }
        var decoded: [Command] = []
        for i in 0..<4 {
            guard case .success(let (_, c)) = bytes.withUnsafeBytes({ JournalRecord.read($0, at: i * JournalRecord.recordBytes) })
            else { return XCTFail("record \(i) does not decode") }
            decoded.append(c)
        }
        for (a, b) in zip(decoded, [quote, accept, cross, unknown]) { assertSame(a, b) }
        XCTAssertEqual(decoded.map(\.kind), [.quote, .accept, .cross, .cross])
        XCTAssertEqual(decoded[1].quoteOid, 1_234_567)
        XCTAssertEqual(decoded[2].ref.text, "AG2026x0001")
        XCTAssertEqual(decoded[2].counterBroker, 3)
        XCTAssertEqual(decoded[3].counterBroker, -1)
        var forged = cross
        forged.counterBroker = -2
        var bad: [UInt8] = []
        JournalRecord.append(forged, seq: 1, to: &bad)
        guard case .failure(.badContent) = bad.withUnsafeBytes({ JournalRecord.read($0, at: 0) }) else {
            return XCTFail("a cp below -1 decoded")
        }
    }

    func testARecordTheEdgeCouldNotHaveWrittenIsRefused() throws {
        var forged: [Command] = []
        var roll = Command(kind: .roll, broker: 0, ts: 5)
        roll.date = CivilDate(daysSinceEpoch: 2_000_000_000)
        forged.append(roll)
        forged.append(Command(kind: .stats, broker: 0, ts: .max))
        forged.append(Command(kind: .stats, broker: -5, ts: 5))
        var huge = Command(kind: .new, broker: 0, ts: 5)
        huge.qty = Bounds.quantityMax + 1
        forged.append(huge)
        var stamp = Command(kind: .stats, broker: 0, ts: -7)
        stamp.qty = Command.absent
        forged.append(stamp)
        for (k, command) in forged.enumerated() {
            let directory = dir + "/f\(k)"
            let (journal, _) = try Journal.open(directory: directory) { _ in }
            try journal.append(Self.randomCommands(2, seed: 20) + [command])
            XCTAssertThrowsError(try Journal.read(directory: directory), "forgery \(k)") { error in
                XCTAssertTrue("\(error)".contains("offset \(JournalSegmentHeader.bytes + 2 * JournalRecord.recordBytes): "
                                                 + "record does not decode"), "\(error)")
            }
        }
    }

    /// Files are read only when they are regular files of a size their kind can have: a segment
    /// whose size reads as 1 TB (sparse, or damaged metadata) is refused before anything is
    /// allocated, and a FIFO is refused without blocking.
    func testOversizedFilesAndFIFOsAreRefusedBeforeTheyAreRead() throws {
        let (journal, _) = try Journal.open(directory: dir) { _ in }
        try journal.append(Self.randomCommands(3, seed: 21))
        XCTAssertEqual(truncate(lastSegment(), off_t(1) << 40), 0)
        XCTAssertThrowsError(try Journal.read(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("1099511627776 bytes, more than such a file can hold"), "\(error)")
        }
        let fifo = dir + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        XCTAssertThrowsError(try FileSystem.readFile(fifo, bytesMax: 1 << 20)) { error in
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
        XCTAssertThrowsError(try FileSystem.readFile(dir, bytesMax: 1 << 20)) { error in
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
    }
}
