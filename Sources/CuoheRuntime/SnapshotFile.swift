#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CuoheCore

/// Snapshot files in a data directory's `snapshots/`: the whole engine state after journal record
/// `seq`, so a restart replays only the journal after it. Written atomically (temporary file,
/// fsync, rename, directory fsync); the newest few are kept.
///
///     "CUOHESN2", u64 seq, i64 clock, i64 the day's first trade id (where the day's trade log
///     starts), u32 CRC-32C of those three fields and the payload, payload (`Matcher.snapshot()`)
public enum SnapshotFile {
    public static let magic: [UInt8] = Array("CUOHESN2".utf8)
    public static let headerBytes = 8 + 8 + 8 + 8 + 4

    /// A loaded snapshot: the matcher, the sequencing clock and the day's first trade id.
    public struct Loaded {
        public var matcher: Matcher
        public var clock: Int64
        public var dayFirstTid: Int64
    }
    /// Older snapshots are deleted beyond this many: a damaged newest one still leaves a fallback.
    public static let keep = 3

    public static func directory(_ data: String) -> String { data + "/snapshots" }
    static func name(_ seq: UInt64) -> String { String(format: "%016llu.snap", seq) }
    public static func path(_ data: String, _ seq: UInt64) -> String { directory(data) + "/" + name(seq) }

    /// Writes a snapshot (`payload`: `Matcher.snapshot()`) taken after journal record `seq`.
    public static func write(data: String, seq: UInt64, clock: Int64, dayFirstTid: Int64, payload: [UInt8]) throws(JournalError) {
        let dir = directory(data)
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw JournalError(message: "\(dir): cannot create: \(String(cString: strerror(errno)))")
        }
        var bytes = magic
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: seq >> (8 * UInt64(i)))) }
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: clock) >> (8 * UInt64(i)))) }
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: dayFirstTid) >> (8 * UInt64(i)))) }
        let crc = checksum(header: bytes[8..<32], payload: payload)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i)))) }
        bytes += payload
        let path = dir + "/" + name(seq)
        if let problem = EndOfDay.writeAtomically(path, bytes: bytes) { throw JournalError(message: problem) }
        try DataDirectory.syncDirectory(dir)
        for old in list(data).dropFirst(keep) { unlink(dir + "/" + name(old)) }
    }

    /// The CRC-32C of the header's fields (seq, clock, the day's first trade id), then the payload.
    static func checksum(header: ArraySlice<UInt8>, payload: [UInt8]) -> UInt32 {
        let head = header.withUnsafeBytes { CRC32C.checksum($0) }
        return payload.withUnsafeBytes { CRC32C.checksum($0, continuing: head) }
    }

    /// Snapshot sequence numbers present, newest first.
    public static func list(_ data: String) -> [UInt64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory(data))) ?? []
        return names.compactMap { $0.hasSuffix(".snap") ? UInt64($0.dropLast(5)) : nil }.sorted(by: >)
    }

    /// The engine state in snapshot `seq`, or a reason it cannot be used.
    public static func load(data: String, seq: UInt64, config: MarketConfig,
                            limits: EngineLimits) -> Result<Loaded, JournalError> {
        let path = directory(data) + "/" + name(seq)
        let bytes: [UInt8]
        do {
            bytes = try Journal.readFile(path)
        } catch {
            return .failure(error)
        }
        func le(_ at: Int, _ n: Int) -> UInt64 { (0..<n).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        guard bytes.count >= headerBytes, Array(bytes[0..<8]) == magic, le(8, 8) == seq else {
            return .failure(JournalError(message: "\(path): not a snapshot of record \(seq)"))
        }
        let payload = Array(bytes[headerBytes...])
        guard checksum(header: bytes[8..<32], payload: payload) == UInt32(le(32, 4)) else {
            return .failure(JournalError(message: "\(path): checksum mismatch"))
        }
        guard let matcher = Matcher.restore(payload, config: config, limits: limits) else {
            return .failure(JournalError(message: "\(path): does not restore onto this market"))
        }
        return .success(Loaded(matcher: matcher, clock: Int64(bitPattern: le(16, 8)),
                               dayFirstTid: Int64(bitPattern: le(24, 8))))
    }
}
