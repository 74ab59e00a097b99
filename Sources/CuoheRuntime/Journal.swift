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
public struct JournalError: Error, CustomStringConvertible, Equatable {
    public let message: String
    /// The problem is the market's configuration (the operator's file or the stored one).
    public var isConfiguration = false
    public var description: String { message }

    public init(message: String, isConfiguration: Bool = false) {
        self.message = message
        self.isConfiguration = isConfiguration
    }
}

/// The append-only command journal: segment files `00000001.log`, `00000002.log`, … each a
/// `JournalSegmentHeader` (its number, the market it was written for) then `JournalRecord`s, each
/// with its sequence number and CRC-32C. Group commit: a batch is one `write` and (under `sync`)
/// one `fdatasync`. A batch never spans two segments; a segment is closed and a new one started
/// once it passes `segmentBytesMax`.
public final class Journal {
    public static let segmentBytesDefault = 64 << 20

    public let directory: String
    public let segmentBytesMax: Int
    public let durability: Durability
    /// The digest of the market the journal is written for (in every segment's header).
    public let configDigest: UInt64
    /// The sequence number the next appended command gets.
    public private(set) var nextSeq: UInt64
    private var segment: Int
    private var fd: Int32
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

    /// Reads and checks every segment: contiguous segment numbers, whole records with good
    /// checksums, sequence numbers 1, 2, 3, … A damaged record anywhere but at the very end of
    /// the last segment is an error naming the file and offset; a damaged last record is reported
    /// as a torn tail.
    public static func read(directory: String) throws(JournalError) -> Contents {
        var contents = Contents()
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            return contents
        }
        var numbers: [Int] = []
        for name in names where name.hasSuffix(".log") {
            guard name.count == 12, let n = Int(name.prefix(8)), n > 0 else {
                throw JournalError(message: "\(directory)/\(name): not a journal segment name")
            }
            numbers.append(n)
        }
        numbers.sort()
        for (i, n) in numbers.enumerated() where n != i + 1 {
            throw JournalError(message: "\(directory): missing segment \(segmentName(i + 1)) (found \(segmentName(n)))")
        }
        contents.segments = numbers
        var expected: UInt64 = 1
        for n in numbers {
            let path = "\(directory)/\(segmentName(n))"
            let bytes = try readFile(path, bytesMax: segmentFileBytesMax)
            let isLast = n == numbers.last
            switch bytes.withUnsafeBytes({ JournalSegmentHeader.read($0) }) {
            case .success(let header):
                if header.segment != UInt64(n) {
                    throw JournalError(message: "\(path): the header names segment \(header.segment): not this file")
                }
                if let digest = contents.configDigest, digest != header.digest {
                    throw JournalError(message: "\(path): written for another market than the segments before it "
                                       + "(market digest \(hex(header.digest)), not \(hex(digest)))")
                }
                contents.configDigest = header.digest
            case .failure(.incomplete) where isLast:
                // Created by a rotation a crash cut short: no record can follow a partial header.
                contents.tornTail = (path, 0, bytes.count)
                contents.validBytesInLast = 0
                return contents
            case .failure(let problem):
                throw JournalError(message: "\(path): offset 0: \(describe(problem)); the journal is damaged and will "
                                   + "not be replayed")
            }
            var offset = JournalSegmentHeader.bytes
            while offset < bytes.count {
                let result = bytes.withUnsafeBytes { JournalRecord.read($0, at: offset) }
                switch result {
                case .success(let (seq, command)):
                    if seq != expected {
                        throw JournalError(message: "\(path): offset \(offset): sequence \(seq) where \(expected) was expected")
                    }
                    contents.commands.append(command)
                    expected += 1
                    offset += JournalRecord.recordBytes
                case .failure(let problem):
                    // Only a record cut short can be a crash's torn write (a killed write leaves a
                    // prefix): a whole record that does not check out is damage, even at the end.
                    let atEnd = bytes.count - offset < JournalRecord.recordBytes
                    if isLast && atEnd && problem == .incomplete {
                        contents.tornTail = (path, offset, bytes.count - offset)
                        contents.validBytesInLast = offset
                        return contents
                    }
                    throw JournalError(message: "\(path): offset \(offset): \(describe(problem)); the journal is damaged "
                                       + "before its end and will not be replayed")
                }
            }
            if isLast { contents.validBytesInLast = offset }
        }
        return contents
    }

    static func describe(_ p: JournalSegmentHeader.Problem) -> String {
        switch p {
        case .incomplete: "incomplete segment header"
        case .badMagic: "not a journal segment (no CUOHEJN2 header)"
        case .badChecksum: "segment header checksum mismatch"
        }
    }

    /// A digest in the form messages print it.
    public static func hex(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The market digest the journal's first segment was written for: nil if the journal has no
    /// segment yet (or only one whose creation a crash cut short). Reads the header alone.
    public static func storedConfigDigest(directory: String) throws(JournalError) -> UInt64? {
        let path = "\(directory)/\(segmentName(1))"
        guard access(path, F_OK) == 0 else { return nil }
        let fd = Glibc.open(path, O_RDONLY)
        if fd < 0 { throw JournalError(message: "\(path): cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: JournalSegmentHeader.bytes)
        let n = header.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw JournalError(message: "\(path): cannot read: \(String(cString: strerror(errno)))") }
        switch header[0..<max(n, 0)].withUnsafeBytes({ JournalSegmentHeader.read($0) }) {
        case .success(let h): return h.digest
        case .failure(.incomplete): return nil
        case .failure(let problem): throw JournalError(message: "\(path): offset 0: \(describe(problem))")
        }
    }

    static func describe(_ p: JournalRecord.Problem) -> String {
        switch p {
        case .incomplete: "incomplete record"
        case .badLength(let l): "bad record length \(l)"
        case .badChecksum: "checksum mismatch"
        case .badContent: "record does not decode"
        }
    }

    /// A whole regular file's bytes, refusing anything else before reading it: a file larger than
    /// `bytesMax` (what the file's kind can ever hold: a damaged or sparse file must not make the
    /// engine allocate its reported size), and a FIFO, device or directory (which could block the
    /// open or the read forever; the open itself does not wait).
    public static func readFile(_ path: String, bytesMax: Int) throws(JournalError) -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 { throw JournalError(message: "\(path): cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw JournalError(message: "\(path): cannot stat: \(String(cString: strerror(errno)))") }
        guard st.st_mode & S_IFMT == S_IFREG else { throw JournalError(message: "\(path): not a regular file") }
        let size = Int(st.st_size)
        guard size <= bytesMax else {
            throw JournalError(message: "\(path): \(size) bytes, more than such a file can hold (\(bytesMax))")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, size - done) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw JournalError(message: "\(path): cannot read: \(String(cString: strerror(errno)))") }
            if n == 0 { throw JournalError(message: "\(path): cannot read: the file shrank while being read") }
            done += n
        }
        return bytes
    }

    /// The most records one `append` may carry (the pipeline commits at most 4,096 at a time).
    public static let batchRecordsMax = 1 << 16
    /// The longest `--segment-bytes` the engine accepts.
    public static let segmentBytesLimit = 1 << 32
    /// The largest a segment file can be: a batch never spans two segments, so the last batch
    /// may pass the segment's size by up to a whole batch.
    public static let segmentFileBytesMax = JournalSegmentHeader.bytes + segmentBytesLimit
        + batchRecordsMax * JournalRecord.recordBytes

    /// Opens the journal in `directory` (created if missing) for appending after recovery: reads
    /// it, truncates a torn tail (telling `log`), and returns the journal and its commands.
    /// `requiredRecords`: the journal must hold at least this many (a snapshot covers them); if
    /// it does not, the start is refused before anything is changed. `configDigest`: the market
    /// the journal is for; a journal written for another is refused (a configuration error).
    public static func open(directory: String, segmentBytesMax: Int = Journal.segmentBytesDefault,
                            durability: Durability = .sync, requiredRecords: UInt64 = 0, configDigest: UInt64 = 0,
                            log: (String) -> Void) throws(JournalError) -> (Journal, [Command]) {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw JournalError(message: "\(directory): cannot create: \(String(cString: strerror(errno)))")
        }
        let contents = try read(directory: directory)
        if let stored = contents.configDigest, stored != configDigest {
            throw JournalError(message: "\(directory): written for another market (market digest \(hex(stored)), not "
                               + "\(hex(configDigest))); refusing to start", isConfiguration: true)
        }
        if UInt64(contents.commands.count) < requiredRecords {
            throw JournalError(message: "\(directory): a snapshot covers record \(requiredRecords) but the journal holds "
                               + "\(contents.commands.count): journal records are missing; refusing to start")
        }
        if let torn = contents.tornTail {
            let what = torn.offset == 0 ? "segment header" : "last record"
            log("journal: \(torn.file): torn \(what) at offset \(torn.offset) (\(torn.bytes) bytes, a write cut "
                + "short by a crash; never acknowledged): truncated")
            if torn.bytes > 0 && truncate(torn.file, off_t(torn.offset)) != 0 {
                throw JournalError(message: "\(torn.file): cannot truncate: \(String(cString: strerror(errno)))")
            }
        }
        let segment = contents.segments.last ?? 1
        let fresh = contents.segments.isEmpty || contents.validBytesInLast == 0
        let fd = try openSegment(directory: directory, segment, digest: configDigest, create: fresh)
        return (Journal(directory: directory, segmentBytesMax: segmentBytesMax, durability: durability,
                        configDigest: configDigest, nextSeq: UInt64(contents.commands.count) + 1, segment: segment,
                        fd: fd, segmentBytes: fresh ? JournalSegmentHeader.bytes : contents.validBytesInLast),
                contents.commands)
    }

    /// Opens segment `n` for appending; `create`: (re)writes its header first and makes the
    /// header and the file's name durable before any record goes in.
    private static func openSegment(directory: String, _ n: Int, digest: UInt64, create: Bool) throws(JournalError) -> Int32 {
        let path = "\(directory)/\(segmentName(n))"
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if fd < 0 { throw JournalError(message: "\(path): cannot open for writing: \(String(cString: strerror(errno)))") }
        guard create else { return fd }
        func failure(_ what: String) -> JournalError {
            let error = JournalError(message: "\(path): \(what): \(String(cString: strerror(errno)))")
            close(fd)
            return error
        }
        var st = stat()
        if fstat(fd, &st) != 0 { throw failure("cannot stat") }
        if st.st_size != 0 && ftruncate(fd, 0) != 0 { throw failure("cannot truncate") }
        let header = JournalSegmentHeader.encode(segment: UInt64(n), digest: digest)
        let written = header.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if written != header.count { throw failure("cannot write the segment header") }
        if fsync(fd) != 0 { throw failure("fsync failed") }
        do {
            try DataDirectory.syncDirectory(directory)
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    private init(directory: String, segmentBytesMax: Int, durability: Durability, configDigest: UInt64, nextSeq: UInt64,
                 segment: Int, fd: Int32, segmentBytes: Int) {
        self.directory = directory
        self.segmentBytesMax = segmentBytesMax
        self.durability = durability
        self.configDigest = configDigest
        self.nextSeq = nextSeq
        self.segment = segment
        self.fd = fd
        self.segmentBytes = segmentBytes
    }

    deinit { close(fd) }

    /// Appends a batch: one `write`, then (under `sync`) one `fdatasync`. When this returns the
    /// batch is durable and its outputs may be released. On an error nothing of the batch counts
    /// (a partial write is a torn tail the next start truncates) and the journal refuses further
    /// appends.
    public func append(_ commands: [Command]) throws(JournalError) {
        if commands.isEmpty { return }
        precondition(commands.count <= Journal.batchRecordsMax, "journal batch larger than batchRecordsMax")
        if fd < 0 { throw JournalError(message: "\(directory): journal closed after an earlier write error") }
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
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, buffer.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { try fail("write", errno: n < 0 ? errno : EIO) }
            done += n
        }
        if durability == .sync && fdatasync(fd) != 0 { try fail("fdatasync", errno: errno) }
        segmentBytes += buffer.count
        nextSeq += UInt64(commands.count)
    }

    private func fail(_ what: String, errno code: Int32) throws(JournalError) -> Never {
        let path = "\(directory)/\(Journal.segmentName(segment))"
        close(fd)
        fd = -1
        throw JournalError(message: "\(path): \(what) failed: \(String(cString: strerror(code)))")
    }

    private func rotate() throws(JournalError) {
        if fsync(fd) != 0 { try fail("fsync", errno: errno) }
        close(fd)
        fd = -1
        let next = segment + 1
        let path = "\(directory)/\(Journal.segmentName(next))"
        if access(path, F_OK) == 0 { throw JournalError(message: "\(path): already exists; refusing to overwrite it") }
        fd = try Journal.openSegment(directory: directory, next, digest: configDigest, create: true)
        segment = next
        segmentBytes = JournalSegmentHeader.bytes
    }

}
