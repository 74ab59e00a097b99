#if canImport(Glibc)
import Glibc
#endif
import CuoheCore
import CuoheProtocol
import Foundation

/// Why a data directory cannot be opened, recovered or checked. One case per real failure; the
/// description is the message an operator reads.
public enum RecoveryError: Error, Sendable, CustomStringConvertible {
    case io(IOError)
    case configuration(ConfigError)
    /// Another process holds the directory's lock; `purpose` says what was refused.
    case inUse(directory: String, lock: String, purpose: String)
    case notADataDirectory(directory: String)
    /// `--config` names another file than the directory was created with.
    case otherConfiguration(directory: String, configName: String, market: String)
    /// market.json's digest is not the one the journal (or a snapshot) was written for.
    case marketChanged(market: String, source: String, digest: UInt64, expected: UInt64)
    /// A journal or snapshot without the market.json it was written for.
    case marketMissing(directory: String, source: String, market: String)
    case journal(JournalError)
    case tradeLog(TradeLogError)
    case settlement(SettlementError)
    /// A journal record naming a broker the market does not have.
    case unknownBroker(ts: Int64, broker: Int32, brokers: Int)
    /// A journal record stamped before the one before it.
    case timeGoesBack(ts: Int64, previous: Int64)
    /// `verify`: a snapshot that checks out lies beyond the journal's end.
    case snapshotAhead(directory: String, seq: UInt64, records: Int)
    /// `verify`: a snapshot's state is not the journal's at its record.
    case snapshotDiffers(directory: String, seq: UInt64)
    case snapshot(SnapshotError)
    /// `verify`: the state after the journal does not pass `Matcher.verify()`.
    case inconsistent(problem: String)
    /// `verify`: the books of record and the matcher's ledger differ at some closes.
    case reconciliationBreaks(count: Int)

    /// The problem is the market's configuration (the operator's file or the stored one): exit 3.
    public var isConfiguration: Bool {
        switch self {
        case .configuration, .otherConfiguration, .marketChanged, .marketMissing: return true
        case .journal(let e): return e.isConfiguration
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .io(let e): return "\(e)"
        case .configuration(let e): return "\(e)"
        case .inUse(let dir, let lock, let purpose):
            return "\(dir): in use by another cuohe process (\(lock) is held); refusing to \(purpose)"
        case .notADataDirectory(let dir): return "\(dir): not a data directory (no market.json)"
        case .otherConfiguration(let dir, let name, let market):
            return "\(dir): was created with another configuration than \(name) (see \(market)); start without --config, "
                + "or with that file"
        case .marketChanged(let market, let source, let digest, let expected):
            return "\(market): changed since \(source) was written (market digest \(Journal.hex(digest)), not "
                + "\(Journal.hex(expected))): replaying the journal on another market would change what acknowledged "
                + "commands meant; put back the market.json it was written with"
        case .marketMissing(let dir, let source, let market):
            return "\(dir): has \(source) but no market.json: the market it was written for is missing (replaying it on "
                + "another market would change what acknowledged commands meant); put that file back as \(market), or "
                + "start with --config naming it"
        case .journal(let e): return "\(e)"
        case .tradeLog(let e): return "\(e)"
        case .settlement(let e): return "\(e)"
        case .unknownBroker(let ts, let broker, let brokers):
            return "journal record at \(ts): broker \(broker) is not one of the market's \(brokers); the journal will "
                + "not be replayed"
        case .timeGoesBack(let ts, let previous):
            return "journal record at \(ts): its time is before the previous record's (\(previous)); the journal will "
                + "not be replayed"
        case .snapshotAhead(let dir, let seq, let records):
            return "\(dir): snapshot \(seq) is ahead of the journal (\(records) records): journal records are missing"
        case .snapshotDiffers(let dir, let seq):
            return "\(dir): snapshot \(seq) differs from the journal's state at that record"
        case .snapshot(let e): return "\(e)"
        case .inconsistent(let problem): return "state after replay is inconsistent: \(problem)"
        case .reconciliationBreaks(let count):
            return "the books of record and the matcher's ledger differ at \(count) close(s)"
        }
    }
}

/// The data directory's lock, held for as long as this lives (the kernel drops it when the
/// process ends, however it ends).
public struct DirectoryLock: ~Copyable {
    let file: FileDescriptor
}

/// A data directory: `market.json` (the configuration it was created with, so recovery always
/// rebuilds the same market), `journal/` (the command journal), `snapshots/` and `eod/`.
public enum DataDirectory {
    public static func marketPath(_ dir: String) -> String { dir + "/market.json" }
    public static func journalPath(_ dir: String) -> String { dir + "/journal" }

    /// The digest of a configuration's bytes (64-bit FNV-1a over every byte, and the length):
    /// every journal segment and snapshot carries the digest of the market.json it was written
    /// for, so a file changed in place, or a directory's parts mixed with another's, is refused
    /// at start instead of replaying acknowledged commands on another market.
    public static func configDigest(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return (h ^ UInt64(bytes.count)) &* 0x0000_0100_0000_01B3
    }

    /// Takes the data directory for this process alone (`DIR/lock`, an advisory `flock`);
    /// refuses if another process has it, saying what was refused (`purpose`: "start", "verify it").
    public static func lock(_ dir: String, purpose: String = "start") throws(RecoveryError) -> DirectoryLock {
        let path = dir + "/lock"
        let file: FileDescriptor
        do {
            file = try FileDescriptor(path: path, flags: O_RDWR | O_CREAT)
        } catch {
            throw .io(error)
        }
        if flock(file.raw, LOCK_EX | LOCK_NB) != 0 {
            if errno == EWOULDBLOCK { throw .inUse(directory: dir, lock: path, purpose: purpose) }
            throw .io(.failed(path: path, operation: .lock, errno: errno))
        }
        return DirectoryLock(file: file)
    }

    /// An opened data directory's market and the digest of its market.json.
    public struct Market: Sendable {
        public var config: MarketConfig
        public var digest: UInt64
    }

    /// Opens `dir`, creating it with `configText` (the operator's file, or the demo market) if
    /// new. An existing directory keeps its own configuration: a different `configText` is an
    /// error, so a restart can never silently change the market under the journal; a market.json
    /// whose digest is not the one the journal was written for is refused, and so is a journal
    /// or snapshot without its market.json (unless `configText` is that very file: then it is put
    /// back, and `log` says so). With `create` false (the operator's `journal` commands) nothing
    /// is written: a directory without market.json is refused.
    public static func open(_ dir: String, configText: [UInt8]?, configName: String?, create: Bool = true,
                            log: (String) -> Void = { _ in }) throws(RecoveryError) -> Market {
        let market = marketPath(dir)
        let expected = try writtenDigest(dir)
        if FileSystem.exists(market) {
            return try openExisting(dir, configText: configText, configName: configName, expected: expected)
        }
        if let expected {
            guard create, let configText, configDigest(configText) == expected.digest else {
                throw .marketMissing(directory: dir, source: expected.source, market: market)
            }
            let config = try parse(configText, file: configName ?? "demo market")
            try write(configText, to: market, in: dir)
            log("\(market) was missing: put back from \(configName ?? "the demo market"), the configuration "
                + "\(expected.source) was written for")
            return Market(config: config, digest: expected.digest)
        }
        guard create else { throw .notADataDirectory(directory: dir) }
        let text = configText ?? Array(DemoMarket.json.utf8)
        let config = try parse(text, file: configName ?? "demo market")
        try write(text, to: market, in: dir)
        return Market(config: config, digest: configDigest(text))
    }

    /// A directory's own market.json, checked against `configText` and the digest its durable
    /// state was written for.
    static func openExisting(_ dir: String, configText: [UInt8]?, configName: String?,
                             expected: (digest: UInt64, source: String)?) throws(RecoveryError) -> Market {
        let market = marketPath(dir)
        let stored: [UInt8]
        do {
            stored = try FileSystem.readFile(market, bytesMax: JSONParser.inputBytesMax)
        } catch {
            throw .io(error)
        }
        if let configText, configText != stored {
            throw .otherConfiguration(directory: dir, configName: configName ?? "the demo market", market: market)
        }
        let digest = configDigest(stored)
        if let expected, expected.digest != digest {
            throw .marketChanged(market: market, source: expected.source, digest: digest, expected: expected.digest)
        }
        return Market(config: try parse(stored, file: market), digest: digest)
    }

    static func parse(_ text: [UInt8], file: String) throws(RecoveryError) -> MarketConfig {
        do {
            return try ConfigLoader.parse(text, file: file)
        } catch {
            throw .configuration(error)
        }
    }

    static func write(_ text: [UInt8], to path: String, in dir: String) throws(RecoveryError) {
        do {
            try FileSystem.makeDirectory(dir)
            try FileSystem.writeAtomically(path, bytes: text)
            try FileSystem.syncDirectory(dir)
        } catch {
            throw .io(error)
        }
    }

    /// The market digest the directory's durable state was written for, and where it was read:
    /// the journal's first segment, else the newest snapshot that checks out; nil for a directory
    /// that holds neither (nothing acknowledged yet).
    static func writtenDigest(_ dir: String) throws(RecoveryError) -> (digest: UInt64, source: String)? {
        do {
            if let digest = try Journal.storedConfigDigest(directory: journalPath(dir)) {
                return (digest, "its journal (\(journalPath(dir))/\(Journal.segmentName(1)))")
            }
        } catch {
            throw .journal(error)
        }
        for seq in SnapshotFile.list(dir) {
            if case .success(let (header, _)) = SnapshotFile.read(data: dir, seq: seq) {
                return (header.configDigest, "its snapshot \(SnapshotFile.path(dir, seq))")
            }
        }
        return nil
    }

    /// Files a crash left half-written (`*.tmp`: a snapshot, an end-of-day file or market.json
    /// being written atomically): nothing points at them, and the next write of each replaces it.
    public static func staleTemporaries(_ dir: String) -> [String] {
        var folders = [dir, SnapshotFile.directory(dir)]
        let eod = dir + "/eod"
        for day in ((try? FileManager.default.contentsOfDirectory(atPath: eod)) ?? []).sorted() { folders.append(eod + "/" + day) }
        var found: [String] = []
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names.sorted() where name.hasSuffix(".tmp") { found.append(folder + "/" + name) }
        }
        return found
    }

    /// Removes `staleTemporaries`, telling `log` of each.
    public static func removeStaleTemporaries(_ dir: String, log: (String) -> Void) {
        for path in staleTemporaries(dir) {
            if unlink(path) == 0 {
                log("\(path): left half-written by an earlier run: removed")
            } else {
                log("\(path): left half-written by an earlier run; cannot remove: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The snapshots that check out (header and checksum, taken on this market), newest first,
    /// and the problems of those that do not.
    public static func checkSnapshots(_ dir: String, configDigest: UInt64) -> (good: [UInt64], damaged: [(UInt64, SnapshotError)]) {
        var good: [UInt64] = []
        var damaged: [(UInt64, SnapshotError)] = []
        for seq in SnapshotFile.list(dir) {
            switch SnapshotFile.read(data: dir, seq: seq) {
            case .success(let (header, _)) where header.configDigest != configDigest:
                damaged.append((seq, .otherMarket(path: SnapshotFile.path(dir, seq), digest: header.configDigest,
                                                  expected: configDigest)))
            case .success: good.append(seq)
            case .failure(let error): damaged.append((seq, error))
            }
        }
        return (good, damaged)
    }

    /// The snapshots that check out, newest first. One that does not is derived data: it is set
    /// aside as `<name>.damaged` (kept for the operator, never tried again) with a line to `log`,
    /// so a damaged or stray file never blocks a start.
    public static func setAsideDamagedSnapshots(_ dir: String, configDigest: UInt64, log: (String) -> Void) -> [UInt64] {
        let (good, damaged) = checkSnapshots(dir, configDigest: configDigest)
        for (seq, problem) in damaged { setAside(SnapshotFile.path(dir, seq), because: "\(problem)", log: log) }
        return good
    }

    /// Renames a damaged snapshot to `<path>.damaged`, telling `log`.
    public static func setAside(_ path: String, because problem: String, log: (String) -> Void) {
        let moved = rename(path, path + ".damaged") == 0
        log("\(problem); " + (moved ? "set aside as \(path).damaged" : "cannot set it aside: \(String(cString: strerror(errno)))"))
    }

    /// The snapshots set aside earlier (`*.damaged`), by name.
    public static func setAsideSnapshots(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: SnapshotFile.directory(dir))) ?? [])
            .filter { $0.hasSuffix(".damaged") }.sorted()
    }
}
