#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CuoheCore

/// When a batch of commands counts as durable.
public enum Durability: String, Sendable {
    /// One `write` and one `fdatasync` per batch, before any of its outputs are released.
    case sync
    /// One `write` per batch, no sync: the OS decides (load tests only).
    case none
}

/// A journal that cannot be trusted or written. Never "repaired" silently.
public enum JournalError: Error, Equatable, Sendable, CustomStringConvertible {
    case io(IOError)
    /// A `.log` file whose name is not a segment number.
    case badSegmentName(path: String)
    case missingSegment(directory: String, expected: Int, found: Int)
    case damagedHeader(path: String, JournalSegmentHeader.Problem)
    /// A segment whose header names another segment (a file renamed or copied in).
    case wrongSegment(path: String, named: UInt64)
    /// A segment written for another market than the segments before it.
    case mixedMarkets(path: String, digest: UInt64, expected: UInt64)
    case damagedRecord(path: String, offset: Int, JournalRecord.Problem)
    case sequenceGap(path: String, offset: Int, seq: UInt64, expected: UInt64)
    /// The whole journal was written for another market than the one it is opened for.
    case otherMarket(directory: String, stored: UInt64, expected: UInt64)
    /// A snapshot covers records the journal no longer holds.
    case recordsMissing(directory: String, required: UInt64, held: Int)
    /// An append after an earlier failed write.
    case closed(directory: String)

    /// The problem is the market's configuration (the operator's file or the stored one).
    public var isConfiguration: Bool {
        if case .otherMarket = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .io(let e): return "\(e)"
        case .badSegmentName(let path): return "\(path): not a journal segment name"
        case .missingSegment(let dir, let expected, let found):
            return "\(dir): missing segment \(Journal.segmentName(expected)) (found \(Journal.segmentName(found)))"
        case .damagedHeader(let path, let problem):
            return "\(path): offset 0: \(problem); the journal is damaged and will not be replayed"
        case .wrongSegment(let path, let named): return "\(path): the header names segment \(named): not this file"
        case .mixedMarkets(let path, let digest, let expected):
            return "\(path): written for another market than the segments before it (market digest "
                + "\(Journal.hex(digest)), not \(Journal.hex(expected)))"
        case .damagedRecord(let path, let offset, let problem):
            return "\(path): offset \(offset): \(problem); the journal is damaged before its end and will not be replayed"
        case .sequenceGap(let path, let offset, let seq, let expected):
            return "\(path): offset \(offset): sequence \(seq) where \(expected) was expected"
        case .otherMarket(let dir, let stored, let expected):
            return "\(dir): written for another market (market digest \(Journal.hex(stored)), not "
                + "\(Journal.hex(expected))); refusing to start"
        case .recordsMissing(let dir, let required, let held):
            return "\(dir): a snapshot covers record \(required) but the journal holds \(held): journal records are "
                + "missing; refusing to start"
        case .closed(let dir): return "\(dir): journal closed after an earlier write error"
        }
    }
}

/// The append-only command journal: segment files `00000001.log`, `00000002.log`, … each a
/// `JournalSegmentHeader` (its number, the market it was written for) then `JournalRecord`s, each
/// with its sequence number and CRC-32C. Group commit: a batch is one `write` and (under `sync`)
/// one `fdatasync`. A batch never spans two segments; a segment is closed and a new one started
/// once it passes `segmentBytesMax`.
public final class Journal {
    public static let segmentBytesDefault = 64 << 20
    /// The most records one `append` may carry (the pipeline commits at most 4,096 at a time).
    public static let batchRecordsMax = 1 << 16
    /// The longest `--segment-bytes` the engine accepts.
    public static let segmentBytesLimit = 1 << 32
    /// The largest a segment file can be: a batch never spans two segments, so the last batch
    /// may pass the segment's size by up to a whole batch.
    public static let segmentFileBytesMax = JournalSegmentHeader.bytes + segmentBytesLimit
        + batchRecordsMax * JournalRecord.recordBytes

    public let directory: String
    public let segmentBytesMax: Int
    public let durability: Durability
    /// The digest of the market the journal is written for (in every segment's header).
    public let configDigest: UInt64
    /// The sequence number the next appended command gets.
    public private(set) var nextSeq: UInt64
    private var segment: Int
    /// The segment being appended to; nil after a failed write (no appends then).
    private var file: FileDescriptor?
    private var segmentBytes: Int
    private var buffer: [UInt8] = []

    /// What reading the journal found.
    public struct Contents {
        public var commands: [Command] = []
        /// Segment numbers present, in order.
        public var segments: [Int] = []
        /// Bytes of the last segment that hold whole, valid records.
        public var validBytesInLast = 0
        /// A torn last record (a write cut short by a crash): where, and how many bytes.
        public var tornTail: (file: String, offset: Int, bytes: Int)? = nil
        /// The market digest every segment's header carries; nil if there is no whole segment.
        public var configDigest: UInt64? = nil
    }

    public static func segmentName(_ n: Int) -> String { String(format: "%08d.log", n) }

    /// A digest in the form messages print it.
    public static func hex(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The segment numbers in `directory`, checked to run 1, 2, 3, … without a gap.
    static func segmentNumbers(_ directory: String) throws(JournalError) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var numbers: [Int] = []
        for name in names where name.hasSuffix(".log") {
            guard name.count == 12, let n = Int(name.prefix(8)), n > 0 else {
                throw .badSegmentName(path: "\(directory)/\(name)")
            }
            numbers.append(n)
        }
        numbers.sort()
        for (i, n) in numbers.enumerated() where n != i + 1 {
            throw .missingSegment(directory: directory, expected: i + 1, found: n)
        }
        return numbers
    }

    /// Reads and checks every segment: contiguous segment numbers, headers naming their segment
    /// and one market, whole records with good checksums, sequence numbers 1, 2, 3, … A damaged
    /// record anywhere but at the very end of the last segment is an error naming the file and
    /// offset; a damaged last record (or a header a crash cut short) is reported as a torn tail.
    public static func read(directory: String) throws(JournalError) -> Contents {
        var contents = Contents()
        contents.segments = try segmentNumbers(directory)
        for n in contents.segments {
            let path = "\(directory)/\(segmentName(n))"
            let bytes: [UInt8]
            do {
                bytes = try FileSystem.readFile(path, bytesMax: segmentFileBytesMax)
            } catch {
                throw .io(error)
            }
            let isLast = n == contents.segments.last
            guard try readHeader(bytes, path: path, segment: n, isLast: isLast, into: &contents) else { return contents }
            try readRecords(bytes, path: path, isLast: isLast, into: &contents)
        }
        return contents
    }

    /// Checks a segment's header; false if it is the torn header of the last segment.
    static func readHeader(_ bytes: [UInt8], path: String, segment n: Int, isLast: Bool,
                           into contents: inout Contents) throws(JournalError) -> Bool {
        switch bytes.withUnsafeBytes({ JournalSegmentHeader.read($0) }) {
        case .success(let header):
            if header.segment != UInt64(n) { throw .wrongSegment(path: path, named: header.segment) }
            if let digest = contents.configDigest, digest != header.digest {
                throw .mixedMarkets(path: path, digest: header.digest, expected: digest)
            }
            contents.configDigest = header.digest
            return true
        case .failure(.incomplete) where isLast:
            // Created by a rotation a crash cut short: no record can follow a partial header.
            contents.tornTail = (path, 0, bytes.count)
            contents.validBytesInLast = 0
            return false
        case .failure(let problem):
            throw .damagedHeader(path: path, problem)
        }
    }

    /// Appends a segment's records to `contents`, checking checksums and the sequence.
    static func readRecords(_ bytes: [UInt8], path: String, isLast: Bool, into contents: inout Contents) throws(JournalError) {
        var offset = JournalSegmentHeader.bytes
        while offset < bytes.count {
            switch bytes.withUnsafeBytes({ JournalRecord.read($0, at: offset) }) {
            case .success(let (seq, command)):
                let expected = UInt64(contents.commands.count) + 1
                if seq != expected { throw .sequenceGap(path: path, offset: offset, seq: seq, expected: expected) }
                contents.commands.append(command)
                offset += JournalRecord.recordBytes
            case .failure(let problem):
                // Only a record cut short can be a crash's torn write (a killed write leaves a
                // prefix): a whole record that does not check out is damage, even at the end.
                let atEnd = bytes.count - offset < JournalRecord.recordBytes
                if isLast && atEnd && problem == .incomplete {
                    contents.tornTail = (path, offset, bytes.count - offset)
                    contents.validBytesInLast = offset
                    return
                }
                throw .damagedRecord(path: path, offset: offset, problem)
            }
        }
        if isLast { contents.validBytesInLast = offset }
    }

    /// The market digest the journal's first segment was written for: nil if the journal has no
    /// segment yet (or only one whose creation a crash cut short). Reads the header alone.
    public static func storedConfigDigest(directory: String) throws(JournalError) -> UInt64? {
        let path = "\(directory)/\(segmentName(1))"
        guard FileSystem.exists(path) else { return nil }
        var header = [UInt8](repeating: 0, count: JournalSegmentHeader.bytes)
        let n: Int
        do throws(IOError) {
            let file = try FileDescriptor(path: path, flags: O_RDONLY | O_NONBLOCK)
            guard try file.status().st_mode & S_IFMT == S_IFREG else { throw IOError.notRegularFile(path: path) }
            n = try IOError.typed { try header.withUnsafeMutableBytes { try file.read(into: $0) } }
        } catch {
            throw .io(error)
        }
        switch header[0..<n].withUnsafeBytes({ JournalSegmentHeader.read($0) }) {
        case .success(let h): return h.digest
        case .failure(.incomplete): return nil
        case .failure(let problem): throw .damagedHeader(path: path, problem)
        }
    }

    /// Opens the journal in `directory` (created if missing) for appending after recovery: reads
    /// it, truncates a torn tail (telling `log`), and returns the journal and its commands.
    /// `requiredRecords`: the journal must hold at least this many (a snapshot covers them); if
    /// it does not, the start is refused before anything is changed. `configDigest`: the market
    /// the journal is for; a journal written for another is refused (a configuration error).
    public static func open(directory: String, segmentBytesMax: Int = Journal.segmentBytesDefault,
                            durability: Durability = .sync, requiredRecords: UInt64 = 0, configDigest: UInt64 = 0,
                            log: (String) -> Void) throws(JournalError) -> (Journal, [Command]) {
        do {
            try FileSystem.makeDirectory(directory)
        } catch {
            throw .io(error)
        }
        let contents = try read(directory: directory)
        if let stored = contents.configDigest, stored != configDigest {
            throw .otherMarket(directory: directory, stored: stored, expected: configDigest)
        }
        if UInt64(contents.commands.count) < requiredRecords {
            throw .recordsMissing(directory: directory, required: requiredRecords, held: contents.commands.count)
        }
        if let torn = contents.tornTail {
            let what = torn.offset == 0 ? "segment header" : "last record"
            log("journal: \(torn.file): torn \(what) at offset \(torn.offset) (\(torn.bytes) bytes, a write cut "
                + "short by a crash; never acknowledged): truncated")
            if torn.bytes > 0 && truncate(torn.file, off_t(torn.offset)) != 0 {
                throw .io(.failed(path: torn.file, operation: .truncate, errno: errno))
            }
        }
        let segment = contents.segments.last ?? 1
        let fresh = contents.segments.isEmpty || contents.validBytesInLast == 0
        let file = try openSegment(directory: directory, segment, digest: configDigest, create: fresh)
        return (Journal(directory: directory, segmentBytesMax: segmentBytesMax, durability: durability,
                        configDigest: configDigest, nextSeq: UInt64(contents.commands.count) + 1, segment: segment,
                        file: file, segmentBytes: fresh ? JournalSegmentHeader.bytes : contents.validBytesInLast),
                contents.commands)
    }

    /// Opens segment `n` for appending; `create`: (re)writes its header first and makes the
    /// header and the file's name durable before any record goes in.
    private static func openSegment(directory: String, _ n: Int, digest: UInt64,
                                    create: Bool) throws(JournalError) -> FileDescriptor {
        do throws(IOError) {
            let file = try FileDescriptor(path: "\(directory)/\(segmentName(n))", flags: O_WRONLY | O_CREAT | O_APPEND)
            guard try file.status().st_mode & S_IFMT == S_IFREG else { throw IOError.notRegularFile(path: file.path) }
            guard create else { return file }
            if try file.status().st_size != 0 { try file.truncate(to: 0) }
            try file.writeAll(JournalSegmentHeader.encode(segment: UInt64(n), digest: digest))
            try file.sync()
            try FileSystem.syncDirectory(directory)
            return file
        } catch {
            throw .io(error)
        }
    }

    private init(directory: String, segmentBytesMax: Int, durability: Durability, configDigest: UInt64, nextSeq: UInt64,
                 segment: Int, file: consuming FileDescriptor, segmentBytes: Int) {
        self.directory = directory
        self.segmentBytesMax = segmentBytesMax
        self.durability = durability
        self.configDigest = configDigest
        self.nextSeq = nextSeq
        self.segment = segment
        self.file = consume file
        self.segmentBytes = segmentBytes
    }

    /// Appends a batch: one `write`, then (under `sync`) one `fdatasync`. When this returns the
    /// batch is durable and its outputs may be released. On an error nothing of the batch counts
    /// (a partial write is a torn tail the next start truncates) and the journal refuses further
    /// appends.
    public func append(_ commands: [Command]) throws(JournalError) {
        if commands.isEmpty { return }
        precondition(commands.count <= Journal.batchRecordsMax, "journal batch larger than batchRecordsMax")
        if file == nil { throw .closed(directory: directory) }
        if segmentBytes > JournalSegmentHeader.bytes
            && segmentBytes + commands.count * JournalRecord.recordBytes > segmentBytesMax {
            try rotate()
        }
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: repeatElement(0, count: commands.count * JournalRecord.recordBytes))
        buffer.withUnsafeMutableBytes { out in
            for (i, c) in commands.enumerated() {
                JournalRecord.encode(c, seq: nextSeq + UInt64(i), into: out.baseAddress! + i * JournalRecord.recordBytes)
            }
        }
        do {
            try file!.writeAll(buffer)
            if durability == .sync {
                try file!.datasync()
            } else {
                // Without a sync per batch the segment's pages would all be dirty when it is
                // sealed, and sealing syncs it: start their writeback now so that sync is short
                // (a 64 MiB sync at once stalled the sequencer for tens of milliseconds).
                file!.startWriteback(offset: segmentBytes, count: buffer.count)
            }
        } catch {
            file = nil
            throw .io(error)
        }
        segmentBytes += buffer.count
        nextSeq += UInt64(commands.count)
    }

    private func rotate() throws(JournalError) {
        do {
            try file!.sync()
        } catch {
            file = nil
            throw .io(error)
        }
        file = nil
        let next = segment + 1
        let path = "\(directory)/\(Journal.segmentName(next))"
        if FileSystem.exists(path) { throw .io(.alreadyExists(path: path)) }
        file = try Journal.openSegment(directory: directory, next, digest: configDigest, create: true)
        segment = next
        segmentBytes = JournalSegmentHeader.bytes
    }
}
