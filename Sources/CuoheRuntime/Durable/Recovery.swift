#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CuoheCore
import CuoheProtocol

/// Applies journal records to a matcher and the books of record exactly as the live pipeline did,
/// following the sequencing clock: what recovery, `journal verify` and `rebuild-eod` replay with.
public struct JournalReplayer: ~Copyable {
    public var matcher: Matcher
    public var settlement: SettlementStage
    public var clock: SequencingClock
    /// Every trade replayed, with its trading date, when kept (`--export`); nil otherwise.
    public var trades: [TradeRecord]?
    let brokerCount: Int
    var events = EventBuffer()

    public init(matcher: consuming Matcher, settlement: consuming SettlementStage, clock: SequencingClock,
                brokerCount: Int, keepsTrades: Bool) {
        self.matcher = matcher
        self.settlement = settlement
        self.clock = clock
        self.brokerCount = brokerCount
        trades = keepsTrades ? [] : nil
    }

    /// Applies one journal record. The edge only ever sequences commands of configured brokers
    /// (and the schedule's `PHASE`s),
    /// with times that never go back, and the matcher trusts it: a record that breaks either (a
    /// journal written by something else) stops the replay instead.
    public mutating func apply(_ command: Command) throws(RecoveryError) {
        let scheduled = command.broker == Command.scheduleBroker && command.kind == .phase
        guard scheduled || (command.broker >= 0 && Int(command.broker) < brokerCount) else {
            throw .unknownBroker(ts: command.ts, broker: command.broker, brokers: brokerCount)
        }
        guard command.ts >= clock.now else { throw .timeGoesBack(ts: command.ts, previous: clock.now) }
        clock.observe(command)
        let date = matcher.tradingDate
        let closing = command.kind == .roll ? DayPrices(openDayOf: matcher) : nil
        events.removeAll()
        matcher.process(command, into: &events)
        for i in 0..<events.count {
            let e = events[i]
            if e.kind == .trade { trades?.append(TradeRecord(e, date: date)) }
            // The matcher's side of a close, taken after the whole ROLL, as the pipeline takes it.
            let close = e.kind == .ok && e.verb == .roll ? DayClose(matcher, closing: closing!) : nil
            do {
                try settlement.apply(e) { close! }
            } catch {
                throw .settlement(error)
            }
        }
    }
}

/// A data directory opened and recovered: its market, its lock, the journal to append to, and the
/// engine state after the journal's last record.
public struct RecoveredEngine: ~Copyable {
    public let lock: DirectoryLock
    public let market: DataDirectory.Market
    public let directory: Directory
    public var journal: Journal
    public var replayer: JournalReplayer
    /// The record the snapshot recovery started from covers (0: none).
    public let snapshotSeq: UInt64
}

/// How to open a data directory.
public struct RecoveryOptions: Sendable {
    public var limits: EngineLimits
    public var durability: Durability
    public var segmentBytes: Int
    /// Replay the whole journal and keep every trade (for `--export`), instead of starting from
    /// the newest snapshot.
    public var wholeJournal: Bool

    public init(limits: EngineLimits = EngineLimits(), durability: Durability = .sync,
                segmentBytes: Int = Journal.segmentBytesDefault, wholeJournal: Bool = false) {
        self.limits = limits
        self.durability = durability
        self.segmentBytes = segmentBytes
        self.wholeJournal = wholeJournal
    }
}

/// Opening, checking and repairing a data directory: what `cuohe replay --data`, `serve` and the
/// `journal` commands share.
public enum Recovery {
    /// Opens `data` (created with `configText`, or the demo market, if new), takes its lock,
    /// checks its market, tidies what a crash left, and recovers: the newest snapshot that loads
    /// and whose trade log holds what it counts on, then the journal after it. Tells `log` what
    /// it found and did.
    public static func open(data: String, configText: [UInt8]?, configName: String?, options: RecoveryOptions,
                            log: @escaping @Sendable (String) -> Void) throws(RecoveryError) -> RecoveredEngine {
        do {
            try FileSystem.makeDirectory(data)
        } catch {
            throw .io(error)
        }
        let lock = try DataDirectory.lock(data)
        let market = try DataDirectory.open(data, configText: configText, configName: configName, log: log)
        DataDirectory.removeStaleTemporaries(data, log: log)
        // Damaged snapshots are set aside before the journal is opened: only one that checks out
        // may say records are missing.
        let snapshots = DataDirectory.setAsideDamagedSnapshots(data, configDigest: market.digest, log: log)
        let journal: Journal
        let records: [Command]
        do {
            (journal, records) = try Journal.open(directory: DataDirectory.journalPath(data),
                                                  segmentBytesMax: options.segmentBytes, durability: options.durability,
                                                  requiredRecords: snapshots.first ?? 0, configDigest: market.digest,
                                                  log: log)
        } catch {
            throw .journal(error)
        }
        let directory = Directory(config: market.config)
        var start = try startingPoint(data: data, market: market, directory: directory, snapshots: snapshots,
                                      options: options, log: log)
        for command in records[Int(start.seq)...] { try start.replayer.apply(command) }
        if !records.isEmpty {
            log("recovered \(records.count) commands from \(data)"
                + (start.seq > 0 ? " (snapshot at \(start.seq), then \(UInt64(records.count) - start.seq) from the journal)" : ""))
        }
        return RecoveredEngine(lock: lock, market: market, directory: directory, journal: journal,
                               replayer: start.replayer, snapshotSeq: start.seq)
    }

    /// Where replay starts: the newest usable snapshot, or (none, or `wholeJournal`) a fresh engine.
    struct Start: ~Copyable {
        var replayer: JournalReplayer
        var seq: UInt64
    }

    static func startingPoint(data: String, market: DataDirectory.Market, directory: Directory, snapshots: [UInt64],
                              options: RecoveryOptions, log: @escaping @Sendable (String) -> Void) throws(RecoveryError) -> Start {
        let config = market.config
        let limits = options.limits
        // A snapshot restores only its own day's trade log. With the whole end-of-day folder
        // gone, the closed days' files can only come back from the whole journal (a snapshot
        // taken early in a day, before its first trade, would otherwise be usable and leave them
        // missing).
        let eodGone = !FileSystem.exists(data + "/eod")
        for seq in snapshots where !options.wholeJournal && !eodGone {
            switch SnapshotFile.load(data: data, seq: seq, config: config, configDigest: market.digest, limits: limits) {
            case .success(let loaded):
                // Usable only if the day's trade log holds the trades it counts on (the log is
                // derived data: if it does not, an older snapshot or the whole journal rebuilds it).
                do {
                    let stage = try SettlementStage(
                        books: Settlement(config: config, limits: limits, restoringFrom: loaded.matcher.ledger,
                                          date: loaded.matcher.tradingDate),
                        data: data, directory: directory, dayFirstTid: loaded.dayFirstTid,
                        nextTid: loaded.matcher.nextTid, report: log)
                    let clock = SequencingClock(tradingDate: loaded.matcher.tradingDate,
                                                brokerIsOperator: directory.brokerIsOperator,
                                                schedule: TradingSchedule(config: config), now: loaded.clock)
                    return Start(replayer: JournalReplayer(matcher: loaded.matcher, settlement: stage, clock: clock,
                                                           brokerCount: directory.brokers.count, keepsTrades: false),
                                 seq: seq)
                } catch {
                    log("\(error); the trade log is rebuilt from the journal: trying an older snapshot")
                }
            case .failure(let error):
                // Derived data, set aside (not deleted) so it is neither tried nor checked again.
                DataDirectory.setAside(SnapshotFile.path(data, seq), because: "\(error)", log: log)
                log("trying an older snapshot")
            }
        }
        if !options.wholeJournal && !snapshots.isEmpty {
            log(eodGone ? "\(data)/eod is missing: replaying the whole journal to write every day's files again"
                        : "no usable snapshot: replaying the whole journal")
        }
        return Start(replayer: try freshReplayer(data: data, config: config, directory: directory, limits: limits,
                                                 keepsTrades: options.wholeJournal, log: log),
                     seq: 0)
    }

    /// A replayer at the market's start, its books of record writing into `data`.
    static func freshReplayer(data: String, config: MarketConfig, directory: Directory, limits: EngineLimits,
                              keepsTrades: Bool, log: @escaping @Sendable (String) -> Void) throws(RecoveryError) -> JournalReplayer {
        let stage: SettlementStage
        do {
            stage = try SettlementStage(books: Settlement(config: config, limits: limits), data: data, directory: directory,
                                        dayFirstTid: 1, nextTid: 1, report: log)
        } catch {
            throw .tradeLog(error)
        }
        return JournalReplayer(matcher: Matcher(config: config, limits: limits), settlement: stage,
                               clock: SequencingClock(tradingDate: config.tradingDate,
                                                      brokerIsOperator: directory.brokerIsOperator,
                                                      schedule: TradingSchedule(config: config)),
                               brokerCount: directory.brokers.count, keepsTrades: keepsTrades)
    }
}
