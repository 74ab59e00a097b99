#if canImport(Glibc)
import Glibc
#endif
import CuoheCore
import CuoheProtocol
import Foundation

/// What the matcher hands settlement at a day's close: what only it knows (the cash its open
/// buys keep frozen, the reference prices) and its ledger's settled digest, which the books of
/// record must match.
public struct DayClose: Sendable {
    public var frozenCash: [Int64]
    public var settledDigest: UInt64
    /// The closed day's reference prices and those its `ROLL` set for the next day.
    public var prices: DayPrices

    /// Taken after the whole `ROLL`; `closing` just before it (`DayPrices(openDayOf:)`), when
    /// the matcher still had the closed day's reference prices.
    public init(_ matcher: borrowing Matcher, closing: DayPrices) {
        let accounts = matcher.ledger.accounts
        frozenCash = (0..<accounts.count).map { accounts[$0].frozenCash }
        settledDigest = matcher.ledger.settledDigest()
        let instruments = matcher.instruments
        prices = DayPrices(date: closing.date, reference: closing.reference,
                           next: (0..<instruments.count).map { instruments[$0].referencePrice })
    }
}

/// Why the settlement stage could not go on: its trade log, or writing the day's files.
public enum SettlementError: Error, Equatable, Sendable, CustomStringConvertible {
    case tradeLog(TradeLogError)
    case io(IOError)

    public var description: String {
        switch self {
        case .tradeLog(let e): return "\(e)"
        case .io(let e): return "\(e)"
        }
    }
}

/// The settlement stage's state: the books of record (`Settlement`), the day's trade log, and the
/// end-of-day files written into `eod/<date>/` of the data directory at every `ROLL`:
/// `trades.csv` (the day's trades), `register.csv` and `accounts.csv` (as the close leaves them:
/// the day's orders expired, holding periods counted down), and `instruments.csv` (each
/// instrument's day).
///
/// At each close the books are reconciled with the matcher's ledger; a difference is reported (it
/// would be a defect: both follow the same events) and the books of record are what is written.
public struct SettlementStage: ~Copyable {
    public private(set) var books: Settlement
    public private(set) var log: TradeLog
    public let data: String
    let directory: Directory
    /// The first trade id of the current day, and the next trade id expected.
    public private(set) var dayFirstTid: Int64
    public private(set) var nextTid: Int64
    /// Days closed since start, and reconciliation breaks found at those closes.
    public private(set) var closes = 0
    public private(set) var breaks = 0
    let report: @Sendable (String) -> Void

    /// Continues `books` on their date, whose trade log must hold trades `dayFirstTid ..< nextTid`.
    public init(books: consuming Settlement, data: String, directory: Directory, dayFirstTid: Int64, nextTid: Int64,
                report: @escaping @Sendable (String) -> Void) throws(TradeLogError) {
        log = try TradeLog.open(data: data, market: directory, date: books.date, firstTid: dayFirstTid, nextTid: nextTid,
                                log: report)
        self.books = books
        self.data = data
        self.directory = directory
        self.dayFirstTid = dayFirstTid
        self.nextTid = nextTid
        self.report = report
    }

    /// Applies one of the matcher's events. A `ROLL`'s `OK` closes the day: `close` gives the
    /// matcher's side of it (taken after the whole `ROLL` command).
    public mutating func apply(_ e: Event, close: () -> DayClose) throws(SettlementError) {
        let date = books.date
        switch books.apply(e) {
        case .none:
            break
        case .trade:
            do { try log.append(TradeRecord(e, date: date)) } catch { throw .io(error) }
            nextTid = e.tid + 1
        case .closed(let day):
            try closeDay(day, close())
        }
    }

    /// Writes the closed day's files, reconciles, and starts the new day's log.
    mutating func closeDay(_ day: CivilDate, _ close: DayClose) throws(SettlementError) {
        closes += 1
        if books.ledger.settledDigest() != close.settledDigest {
            breaks += 1
            report("reconciliation break at the close of \(day.iso): the books of record differ from the matcher's ledger")
        }
        let dir = TradeLog.directory(data: data, date: day)
        do throws(IOError) {
            try log.sync()
            try EndOfDay.write(to: dir, trades: log.records, ledger: books.ledger, frozenCash: close.frozenCash,
                               prices: close.prices, directory: directory)
            try FileSystem.syncDirectory(dir)
        } catch {
            throw .io(error)
        }
        dayFirstTid = nextTid
        do {
            log = try TradeLog.open(data: data, market: directory, date: books.date, firstTid: dayFirstTid, nextTid: nextTid,
                                    log: report)
        } catch {
            throw .tradeLog(error)
        }
    }

    /// Makes the day's log durable (before a snapshot that counts on it, and at the end).
    /// Returns the day's first trade id, which a snapshot taken now records.
    @discardableResult
    public mutating func sync() throws(IOError) -> Int64 {
        try log.sync()
        return dayFirstTid
    }
}

/// Writes snapshot files one at a time, in order, off the data path (a background queue), and
/// says when none is in flight.
final class SnapshotWriter: Sendable {
    let data: String
    let configDigest: UInt64
    let inFlight: SnapshotsInFlight
    let queue = DispatchQueue(label: "cuohe.snapshots")
    let log: @Sendable (String) -> Void

    init(data: String, configDigest: UInt64, inFlight: SnapshotsInFlight, log: @escaping @Sendable (String) -> Void) {
        self.data = data
        self.configDigest = configDigest
        self.inFlight = inFlight
        self.log = log
    }

    func write(seq: UInt64, clock: Int64, dayFirstTid: Int64, payload: [UInt8]) {
        queue.async { [self] in
            do {
                try SnapshotFile.write(data: data, header: SnapshotFile.Header(
                    seq: seq, clock: clock, dayFirstTid: dayFirstTid, configDigest: configDigest), payload: payload)
            } catch {
                // A snapshot only shortens recovery; the journal alone is complete.
                log("\(error); continuing without this snapshot")
            }
            inFlight.count.subtract(1, ordering: .releasing)
        }
    }

    /// Waits for every snapshot handed over to be written.
    func drain() { queue.sync {} }
}

extension SettlementStage {
    /// The third stage's batch: trades and closes into the books of record, the trade log and
    /// the day's files; a snapshot written once the trade log holds everything it counts on. What
    /// egress needs is passed on. True once the end has passed.
    mutating func handle(_ items: UnsafeBufferPointer<MatchedItem>, notes: SideQueue<SettlementNote>,
                         snapshots: SnapshotWriter, metrics: PipelineMetrics,
                         into out: inout StageOutput<MatchedItem>) throws(SettlementError) -> Bool {
        defer {
            metrics.tradesSettled.set(UInt64(books.tradesSettled))
            metrics.daysClosed.set(UInt64(closes))
        }
        for item in items {
            switch item {
            case .event(let event):
                try apply(event) {
                    guard case .dayClose(let close) = notes.pop() else { preconditionFailure("day close out of order") }
                    return close
                }
                out.append(item)
            case .snapshot:
                guard case .snapshot(let seq, let clock, let payload) = notes.pop() else {
                    preconditionFailure("snapshot out of order")
                }
                let dayFirstTid: Int64
                do { dayFirstTid = try sync() } catch { throw .io(error) }
                snapshots.write(seq: seq, clock: clock, dayFirstTid: dayFirstTid, payload: payload)
                metrics.snapshotsTaken.add(1)
            case .answer:
                out.append(item)
            case .end:
                do { try sync() } catch { throw .io(error) }
                out.append(item)
                return true
            }
        }
        return false
    }
}
