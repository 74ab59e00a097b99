#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CuoheCore

/// Why a snapshot cannot be used (derived data: it is set aside and an older one, or the
/// journal, stands in).
public enum SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    case io(IOError)
    /// Too short, a wrong magic, or a header naming another record.
    case notASnapshot(path: String, seq: UInt64)
    case checksumMismatch(path: String)
    /// Taken on another market than the one being opened.
    case otherMarket(path: String, digest: UInt64, expected: UInt64)
    /// Whole and checksummed, but its state does not fit this market or does not check out.
    case doesNotRestore(path: String)

    public var description: String {
        switch self {
        case .io(let e): return "\(e)"
        case .notASnapshot(let path, let seq): return "\(path): not a snapshot of record \(seq)"
        case .checksumMismatch(let path): return "\(path): checksum mismatch"
        case .otherMarket(let path, let digest, let expected):
            return "\(path): taken on another market (market digest \(Journal.hex(digest)), not \(Journal.hex(expected)))"
        case .doesNotRestore(let path): return "\(path): does not restore onto this market"
        }
    }
}

/// Snapshot files in a data directory's `snapshots/`: the whole engine state after journal record
/// `seq`, so a restart replays only the journal after it. Written atomically (temporary file,
/// fsync, rename, directory fsync); the newest few are kept.
///
///     "CUOHESN3", u64 seq, i64 clock, i64 the day's first trade id (where the day's trade log
///     starts), u64 market digest (`DataDirectory.configDigest` of the market.json it was taken
///     on), u32 CRC-32C of those four fields and the payload, payload (`Matcher.snapshot()`)
public enum SnapshotFile {
    public static let magic: [UInt8] = Array("CUOHESN3".utf8)
    public static let headerBytes = 8 + 8 + 8 + 8 + 8 + 4

    /// A snapshot's header fields.
    public struct Header: Sendable, Equatable {
        public var seq: UInt64
        public var clock: Int64
        public var dayFirstTid: Int64
        public var configDigest: UInt64
    }

    /// A loaded snapshot: the matcher, the sequencing clock and the day's first trade id.
    public struct Loaded: ~Copyable {
        public var matcher: Matcher
        public var clock: Int64
        public var dayFirstTid: Int64
    }
    /// The largest a snapshot can be: twice the engine storage a market may need (a snapshot
    /// writes less than the state it holds), far past any real one (tens of MB).
    public static let bytesMax = 2 * Bounds.engineBytesMax
    /// Older snapshots are deleted beyond this many: a damaged newest one still leaves a fallback.
    public static let keep = 3

    public static func directory(_ data: String) -> String { data + "/snapshots" }
    static func name(_ seq: UInt64) -> String { String(format: "%016llu.snap", seq) }
    public static func path(_ data: String, _ seq: UInt64) -> String { directory(data) + "/" + name(seq) }

    /// Writes a snapshot (`payload`: `Matcher.snapshot()`) taken after journal record `seq`.
    public static func write(data: String, header: Header, payload: [UInt8]) throws(IOError) {
        let dir = directory(data)
        try FileSystem.makeDirectory(dir)
        var bytes = magic
        for field in [header.seq, UInt64(bitPattern: header.clock), UInt64(bitPattern: header.dayFirstTid),
                      header.configDigest] { bytes.appendLittleEndian(field) }
        bytes.appendLittleEndian(checksum(header: bytes[8..<40], payload: payload[...]))
        bytes += payload
        try FileSystem.writeAtomically(dir + "/" + name(header.seq), bytes: bytes)
        try FileSystem.syncDirectory(dir)
        for old in list(data).dropFirst(keep) { unlink(dir + "/" + name(old)) }
    }

    /// The CRC-32C of the header's fields (seq, clock, the day's first trade id, the market
    /// digest), then the payload.
    static func checksum(header: ArraySlice<UInt8>, payload: ArraySlice<UInt8>) -> UInt32 {
        let head = header.withUnsafeBytes { CRC32C.checksum($0) }
        return payload.withUnsafeBytes { CRC32C.checksum($0, continuing: head) }
    }

    /// Snapshot sequence numbers present, newest first.
    public static func list(_ data: String) -> [UInt64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory(data))) ?? []
        return names.compactMap { $0.hasSuffix(".snap") ? UInt64($0.dropLast(5)) : nil }.sorted(by: >)
    }

    /// Snapshot `seq`'s header and payload, if the file is a whole snapshot of that record with a
    /// good checksum (nothing is restored: a damaged file is told from a good one cheaply).
    public static func read(data: String, seq: UInt64) -> Result<(Header, ArraySlice<UInt8>), SnapshotError> {
        let path = directory(data) + "/" + name(seq)
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path, bytesMax: bytesMax)
        } catch {
            return .failure(.io(error))
        }
        func le(_ at: Int) -> UInt64 { bytes.littleEndian(at: at) }
        guard bytes.count >= headerBytes, Array(bytes[0..<8]) == magic, le(8) == seq else {
            return .failure(.notASnapshot(path: path, seq: seq))
        }
        let payload = bytes[headerBytes...]
        let stored: UInt32 = bytes.littleEndian(at: 40)
        guard checksum(header: bytes[8..<40], payload: payload) == stored else {
            return .failure(.checksumMismatch(path: path))
        }
        return .success((Header(seq: seq, clock: Int64(bitPattern: le(16)), dayFirstTid: Int64(bitPattern: le(24)),
                                configDigest: le(32)), payload))
    }

    /// The engine state in snapshot `seq`, or a reason it cannot be used: damaged, taken on
    /// another market than `configDigest`'s, or not restorable onto `config`.
    public static func load(data: String, seq: UInt64, config: MarketConfig, configDigest: UInt64,
                            limits: EngineLimits) -> Result<Loaded, SnapshotError> {
        let header: Header
        let payload: ArraySlice<UInt8>
        switch read(data: data, seq: seq) {
        case .success(let read): (header, payload) = read
        case .failure(let error): return .failure(error)
        }
        let path = self.path(data, seq)
        guard header.configDigest == configDigest else {
            return .failure(.otherMarket(path: path, digest: header.configDigest, expected: configDigest))
        }
        // The clock continues from here: it must be one the edge could have had.
        guard header.clock >= -1 && header.clock <= CivilDate.lastTimestamp,
              let matcher = Matcher.restore(Array(payload), config: config, limits: limits) else {
            return .failure(.doesNotRestore(path: path))
        }
        return .success(Loaded(matcher: matcher, clock: header.clock, dayFirstTid: header.dayFirstTid))
    }
}
