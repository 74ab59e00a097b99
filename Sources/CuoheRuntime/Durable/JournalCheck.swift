#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CuoheCore
import CuoheProtocol

/// What `journal verify` found in a data directory whose journal checks out.
public struct VerifyReport: Sendable {
    /// Things an operator should know that are not damage to the journal: files the next start
    /// writes, snapshots set aside or damaged, files left half-written, a torn last record.
    public var notes: [String] = []
    /// Snapshots that do not check out (the next start sets them aside): the verify fails.
    public var damagedSnapshots = 0
    /// An end-of-day file that differs from the journal's, or a closed day's file missing: the
    /// verify fails, and `rebuild-eod` repairs it.
    public var endOfDayProblem: String?
    /// `journal ok: segments=… records=… last_seq=… snapshots=… state=… eod_days=…`.
    public var summary = ""
}

extension Recovery {
    /// The journal replayed from its first record with every snapshot checked at its record, in a
    /// scratch directory for the end-of-day files it rebuilds.
    struct Check: ~Copyable {
        var replayer: JournalReplayer
        var contents: Journal.Contents
        var damaged: [(UInt64, SnapshotError)]
        var snapshotsChecked = 0
        var newestSnapshotDate: CivilDate?
        let scratch: String
    }

    /// Replays the whole journal of `data` (which this process must have locked) into `scratch`,
    /// checking every snapshot that checks out against the state at its record.
    static func check(data: String, market: DataDirectory.Market, scratch: String) throws(RecoveryError) -> Check {
        let contents: Journal.Contents
        do {
            contents = try Journal.read(directory: DataDirectory.journalPath(data))
        } catch {
            throw .journal(error)
        }
        let (good, damaged) = DataDirectory.checkSnapshots(data, configDigest: market.digest)
        if let newest = good.first, newest > UInt64(contents.commands.count) {
            throw .snapshotAhead(directory: data, seq: newest, records: contents.commands.count)
        }
        do {
            try FileSystem.makeDirectory(scratch)
        } catch {
            throw .io(error)
        }
        let directory = Directory(config: market.config)
        let replayer = try freshReplayer(data: scratch, config: market.config, directory: directory,
                                         limits: EngineLimits(), keepsTrades: false, log: { _ in })
        var check = Check(replayer: replayer, contents: contents, damaged: damaged, scratch: scratch)
        let snapshots = Set(good)
        for (i, command) in contents.commands.enumerated() {
            try check.replayer.apply(command)
            let seq = UInt64(i + 1)
            guard snapshots.contains(seq) else { continue }
            switch SnapshotFile.load(data: data, seq: seq, config: market.config, configDigest: market.digest,
                                     limits: EngineLimits()) {
            case .success(let loaded):
                if loaded.matcher.stateDigest() != check.replayer.matcher.stateDigest() {
                    throw .snapshotDiffers(directory: SnapshotFile.directory(data), seq: seq)
                }
                check.snapshotsChecked += 1
                check.newestSnapshotDate = loaded.matcher.tradingDate
            case .failure(let error):
                throw .snapshot(error)
            }
        }
        if let problem = check.replayer.matcher.verify() { throw .inconsistent(problem: problem) }
        do {
            try check.replayer.settlement.sync()
        } catch {
            throw .io(error)
        }
        let breaks = check.replayer.settlement.breaks
        if breaks > 0 { throw .reconciliationBreaks(count: breaks) }
        return check
    }

    /// A scratch directory for one check, removed by the caller.
    static func scratchDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-verify-\(getpid())-\(UUID().uuidString)").path
    }

    /// `journal verify`: checks the journal's checksums and sequence, replays it, checks every
    /// snapshot and every end-of-day file against it. Refuses a directory another process has.
    public static func verify(data: String) throws(RecoveryError) -> VerifyReport {
        let lock = try DataDirectory.lock(data, purpose: "verify it")
        let market = try DataDirectory.open(data, configText: nil, configName: nil, create: false)
        let scratch = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let check = try self.check(data: data, market: market, scratch: scratch)
        var report = VerifyReport()
        let eod = EndOfDay.compare(data: data, rebuilt: scratch, replayedFrom: check.newestSnapshotDate)
        for missing in eod.pending { report.notes.append("not yet written: \(data)/\(missing) (the next start writes it)") }
        for name in DataDirectory.setAsideSnapshots(data) {
            report.notes.append("damaged snapshot set aside: \(SnapshotFile.directory(data))/\(name)")
        }
        for path in DataDirectory.staleTemporaries(data) {
            report.notes.append("left half-written by an earlier run: \(path) (the next start removes it)")
        }
        for (_, problem) in check.damaged { report.notes.append("damaged snapshot: \(problem) (the next start sets it aside)") }
        report.damagedSnapshots = check.damaged.count
        if let problem = eod.problem {
            report.endOfDayProblem = "\(data)/\(problem); `cuohe journal rebuild-eod \(data)` rewrites the end-of-day "
                + "files from the journal"
        }
        if let torn = check.contents.tornTail {
            report.notes.append("torn last record: \(torn.file) offset \(torn.offset) (\(torn.bytes) bytes); the next "
                                + "start truncates it")
        }
        let records = check.contents.commands.count
        report.summary = "journal ok: segments=\(check.contents.segments.count) records=\(records) last_seq=\(records) "
            + "snapshots=\(check.snapshotsChecked) state=\(String(check.replayer.matcher.stateDigest(), radix: 16)) "
            + "eod_days=\(eod.daysMatched)"
        _ = lock
        return report
    }

    /// `journal rebuild-eod`: rewrites every end-of-day file under `data/eod` from the journal;
    /// returns the number of days. Refuses a directory another process has.
    public static func rebuildEndOfDay(data: String) throws(RecoveryError) -> Int {
        let lock = try DataDirectory.lock(data, purpose: "rebuild it")
        let market = try DataDirectory.open(data, configText: nil, configName: nil, create: false)
        let scratch = scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = try check(data: data, market: market, scratch: scratch)
        do {
            let days = try EndOfDay.install(rebuilt: scratch, into: data)
            _ = lock
            return days
        } catch {
            throw .io(error)
        }
    }

    /// `journal dump`: each record as `seq=N ts=T <broker> <protocol line>`. Takes no lock: it
    /// reads whole records only, so it may look at a live journal.
    public static func dump(data: String, line: (String) -> Void) throws(RecoveryError) {
        let market = try DataDirectory.open(data, configText: nil, configName: nil, create: false)
        let contents: Journal.Contents
        do {
            contents = try Journal.read(directory: DataDirectory.journalPath(data))
        } catch {
            throw .journal(error)
        }
        let directory = Directory(config: market.config)
        let formatter = CommandFormatter(directory: directory)
        for (i, c) in contents.commands.enumerated() {
            let broker = c.broker >= 0 && Int(c.broker) < directory.brokers.count ? directory.brokers[Int(c.broker)]
                : c.broker == Command.scheduleBroker ? "(schedule)" : "?"
            line("seq=\(i + 1) ts=\(c.ts) \(broker) \(formatter.line(c))")
        }
    }
}
