#if canImport(Glibc)
import Glibc
#endif
import CuoheCore
import CuoheProtocol

/// A data directory: `market.json` (the configuration it was created with, so recovery always
/// rebuilds the same market) and `journal/` (the command journal).
public enum DataDirectory {
    public static func marketPath(_ dir: String) -> String { dir + "/market.json" }
    public static func journalPath(_ dir: String) -> String { dir + "/journal" }

    /// Takes the data directory for this process alone (`DIR/lock`, an advisory `flock` the
    /// kernel drops when the process ends, however it ends); refuses if another process has it.
    /// Returns the descriptor to keep open.
    public static func lock(_ dir: String) throws(JournalError) -> Int32 {
        let path = dir + "/lock"
        let fd = Glibc.open(path, O_RDWR | O_CREAT, 0o644)
        if fd < 0 { throw JournalError(message: "\(path): cannot open: \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            close(fd)
            throw JournalError(message: busy ? "\(dir): in use by another cuohe process; refusing to start"
                                             : "\(path): cannot lock: \(reason)")
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

    /// Opens `dir`, creating it with `configText` (the operator's file, or the demo market) if
    /// new. An existing directory keeps its own configuration: a different `configText` is an
    /// error, so a restart can never silently change the market under the journal.
    public static func open(_ dir: String, configText: [UInt8]?, configName: String?) throws(JournalError) -> MarketConfig {
        let market = marketPath(dir)
        if access(market, F_OK) == 0 {
            let stored = try Journal.readFile(market)
            if let configText, configText != stored {
                throw JournalError(message: "\(dir): was created with another configuration than "
                                   + "\(configName ?? "the demo market") (see \(market)); start without --config, or with that file",
                                   isConfiguration: true)
            }
            do {
                return try ConfigLoader.parse(stored, file: market)
            } catch {
                throw JournalError(message: "\(error)", isConfiguration: true)
            }
        }
        let text = configText ?? Array(DemoMarket.json.utf8)
        let config: MarketConfig
        do {
            config = try ConfigLoader.parse(text, file: configName ?? "demo market")
        } catch {
            throw JournalError(message: "\(error)", isConfiguration: true)
        }
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw JournalError(message: "\(dir): cannot create: \(String(cString: strerror(errno)))")
        }
        if let problem = EndOfDay.writeAtomically(market, String(decoding: text, as: UTF8.self)) {
            throw JournalError(message: problem)
        }
        return config
    }
}
