#if canImport(Glibc)
import Glibc
#endif
import CuoheCore
import CuoheProtocol
import Foundation

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

    /// Takes the data directory for this process alone (`DIR/lock`, an advisory `flock` the
    /// kernel drops when the process ends, however it ends); refuses if another process has it,
    /// saying what was refused (`purpose`: "start", "verify"). Returns the descriptor to keep open.
    public static func lock(_ dir: String, purpose: String = "start") throws(JournalError) -> Int32 {
        let path = dir + "/lock"
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw JournalError(message: "\(path): cannot open: \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            close(fd)
            throw JournalError(message: busy ? "\(dir): in use by another cuohe process (\(path) is held); refusing to "
                                             + "\(purpose)" : "\(path): cannot lock: \(reason)")
        }
        return fd
    }

    /// Makes a directory's entries (files created or renamed in it) durable.
    static func syncDirectory(_ dir: String) throws(JournalError) {
        let fd = Glibc.open(dir, O_RDONLY)
        if fd < 0 { throw JournalError(message: "\(dir): cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if fsync(fd) != 0 { throw JournalError(message: "\(dir): fsync failed: \(String(cString: strerror(errno)))") }
    }

    /// An opened data directory's market and the digest of its market.json.
    public struct Market {
        public var config: MarketConfig
        public var digest: UInt64
    }

    /// Opens `dir`, creating it with `configText` (the operator's file, or the demo market) if
    /// new. An existing directory keeps its own configuration: a different `configText` is an
    /// error, so a restart can never silently change the market under the journal; a market.json
    /// whose digest is not the one the journal was written for is refused, and so is a journal
    /// or snapshot without its market.json (unless `configText` is that very file: then it is put
    /// back, and `log` says so).
    /// With `create` false (the operator's `journal` commands) nothing is written: a directory
    /// without market.json is refused.
    public static func open(_ dir: String, configText: [UInt8]?, configName: String?, create: Bool = true,
                            log: (String) -> Void = { _ in }) throws(JournalError) -> Market {
        let market = marketPath(dir)
        let expected = try writtenDigest(dir)
        if access(market, F_OK) == 0 {
            let stored = try Journal.readFile(market, bytesMax: JSONParser.inputBytesMax)
            if let configText, configText != stored {
                throw JournalError(message: "\(dir): was created with another configuration than "
                                   + "\(configName ?? "the demo market") (see \(market)); start without --config, or with that file",
                                   isConfiguration: true)
            }
            let digest = configDigest(stored)
            if let expected, expected.digest != digest {
                throw JournalError(message: "\(market): changed since \(expected.source) was written (market digest "
                                   + "\(Journal.hex(digest)), not \(Journal.hex(expected.digest))): replaying the journal on "
                                   + "another market would change what acknowledged commands meant; put back the "
                                   + "market.json it was written with", isConfiguration: true)
            }
            return Market(config: try parse(stored, file: market), digest: digest)
        }
        if let expected {
            guard create, let configText, configDigest(configText) == expected.digest else {
                throw JournalError(message: "\(dir): has \(expected.source) but no market.json: the market it was written "
                                   + "for is missing (replaying it on another market would change what acknowledged "
                                   + "commands meant); put that file back as \(market), or start with --config naming it",
                                   isConfiguration: true)
            }
            let config = try parse(configText, file: configName ?? "demo market")
            if let problem = EndOfDay.writeAtomically(market, bytes: configText) { throw JournalError(message: problem) }
            try syncDirectory(dir)
            log("\(market) was missing: put back from \(configName ?? "the demo market"), the configuration "
                + "\(expected.source) was written for")
            return Market(config: config, digest: expected.digest)
        }
        guard create else { throw JournalError(message: "\(dir): not a data directory (no market.json)") }
        let text = configText ?? Array(DemoMarket.json.utf8)
        let config = try parse(text, file: configName ?? "demo market")
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw JournalError(message: "\(dir): cannot create: \(String(cString: strerror(errno)))")
        }
        if let problem = EndOfDay.writeAtomically(market, bytes: text) { throw JournalError(message: problem) }
        try syncDirectory(dir)
        return Market(config: config, digest: configDigest(text))
    }

    static func parse(_ text: [UInt8], file: String) throws(JournalError) -> MarketConfig {
        do {
            return try ConfigLoader.parse(text, file: file)
        } catch {
            throw JournalError(message: "\(error)", isConfiguration: true)
        }
    }

    /// The market digest the directory's durable state was written for, and where it was read:
    /// the journal's first segment, else the newest snapshot that checks out; nil for a directory
    /// that holds neither (nothing acknowledged yet).
    static func writtenDigest(_ dir: String) throws(JournalError) -> (digest: UInt64, source: String)? {
        if let digest = try Journal.storedConfigDigest(directory: journalPath(dir)) {
            return (digest, "its journal (\(journalPath(dir))/\(Journal.segmentName(1)))")
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

    /// The snapshots that check out (header and checksum), newest first. One that does not is
    /// derived data: it is set aside as `<name>.damaged` (kept for the operator, never tried
    /// again) with a line to `log`, so a damaged or stray file never blocks a start.
    public static func setAsideDamagedSnapshots(_ dir: String, configDigest: UInt64, log: (String) -> Void) -> [UInt64] {
        var good: [UInt64] = []
        for seq in SnapshotFile.list(dir) {
            var problem: String?
            switch SnapshotFile.read(data: dir, seq: seq) {
            case .success(let (header, _)) where header.configDigest != configDigest:
                problem = "\(SnapshotFile.path(dir, seq)): taken on another market (market digest "
                    + "\(Journal.hex(header.configDigest)), not \(Journal.hex(configDigest)))"
            case .success: good.append(seq)
            case .failure(let error): problem = error.message
            }
            guard let problem else { continue }
            setAside(SnapshotFile.path(dir, seq), because: problem, log: log)
        }
        return good
    }

    /// Renames a damaged snapshot to `<path>.damaged`, telling `log`.
    public static func setAside(_ path: String, because problem: String, log: (String) -> Void) {
        let moved = rename(path, path + ".damaged") == 0
        log("\(problem); " + (moved ? "set aside as \(path).damaged" : "cannot set it aside: \(String(cString: strerror(errno)))"))
    }
}
