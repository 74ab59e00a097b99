#if canImport(Glibc)
import Glibc
#endif
import CuoheCore

/// The time the sequencer stamps commands with, and the trading date it follows.
///
/// It starts at the trading date's local midnight (the market's `timeZone`) and advances 1 ns per
/// command; a requested stamp
/// (replay's `@` prefix, a schedule's time) sets it, but never back and never before the trading
/// day; a `ROLL` the matcher will accept (an operator's, to a later date: the matcher's own rule)
/// moves it to the new date's midnight if it is behind. It stops at the engine's last timestamp
/// rather than pass it. Journal recovery follows the same clock through `observe`, so a restart
/// continues exactly where the journal ends.
///
/// It also carries out the schedule: `nextScheduled(through:)` gives each entry whose time has
/// come as a `PHASE` command stamped with that time, before the command that reached it. The
/// next entry due (`nextEntry`) follows from the commands observed, so recovery finds it again.
public struct SequencingClock: Sendable {
    /// The timestamp of the last sequenced command.
    public private(set) var now: Int64
    /// The trading date as the matcher will have it after the commands sequenced so far.
    public private(set) var tradingDate: CivilDate
    let brokerIsOperator: [Bool]
    public let schedule: TradingSchedule
    /// Today's next schedule entry not yet carried out.
    var nextEntry = 0

    public init(tradingDate: CivilDate, brokerIsOperator: [Bool], schedule: TradingSchedule, now: Int64? = nil) {
        self.tradingDate = tradingDate
        self.brokerIsOperator = brokerIsOperator
        self.schedule = schedule
        self.now = now ?? schedule.dayStart(tradingDate) - 1
        nextEntry = schedule.firstAfter(self.now - schedule.dayStart(tradingDate))
    }

    /// The first nanosecond of the trading day.
    public var dayStart: Int64 { schedule.dayStart(tradingDate) }

    /// When the next schedule entry is due, if one is left today.
    public var nextScheduledTime: Int64? {
        nextEntry < schedule.entries.count ? dayStart + schedule.entries[nextEntry].offset : nil
    }

    /// The next schedule entry due at or before `stamp`, as the sequenced `PHASE` it is (already
    /// observed); nil when none is.
    public mutating func nextScheduled(through stamp: Int64) -> Command? {
        // An entry's time is its stamp, except after a late ROLL: the new day's entries whose time
        // had passed before the day began are carried out at the ROLL's time (never earlier).
        guard let time = nextScheduledTime else { return nil }
        let at = max(time, now)
        guard at <= stamp, at <= CivilDate.lastTimestamp else { return nil }
        let entry = schedule.entries[nextEntry]
        var c = Command(kind: .phase, broker: Command.scheduleBroker, ts: at)
        c.instrument = entry.instrument
        c.phase = entry.phase
        observe(c)
        return c
    }

    /// The stamp the next command gets: `requested` if it may be used (not before the last
    /// command's, not before the trading day, not past the last timestamp), else nil; without a
    /// request, the next nanosecond. Does not move the clock (`observe` does, once the command is
    /// sequenced), so an answer the edge gives itself can carry the time without taking it.
    @inline(__always)
    public func stamp(requested: Int64? = nil) -> Int64? {
        guard let requested else { return now < CivilDate.lastTimestamp ? now + 1 : CivilDate.lastTimestamp }
        guard requested <= CivilDate.lastTimestamp, requested >= now, requested >= dayStart else {
            return nil
        }
        return requested
    }

    /// A live server's stamp: the wall clock `wall` where it moves the clock forward and lies in
    /// or after the trading day, else the next nanosecond, so the journal's times never go back
    /// even when the system clock does.
    @inline(__always)
    public func liveStamp(wall: Int64) -> Int64? {
        if wall > now && wall >= dayStart && wall <= CivilDate.lastTimestamp { return wall }
        return stamp(requested: nil)
    }

    /// The system's real-time clock, in nanoseconds since 1970.
    public static func wallNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Keeps the clock and date in step with a sequenced command (also on journal recovery).
    public mutating func observe(_ command: Command) {
        now = command.ts
        let b = Int(command.broker)
        if command.kind == .roll && b >= 0 && b < brokerIsOperator.count && brokerIsOperator[b]
            && command.date > tradingDate {
            tradingDate = command.date
            if now < dayStart { now = dayStart - 1 }
            // The new day's whole schedule; what the old day did not reach is not carried out.
            // Entries already due (a ROLL made after their time) follow the ROLL at once.
            nextEntry = 0
            return
        }
        let offset = now - dayStart
        if command.broker == Command.scheduleBroker && command.kind == .phase, schedule.carriesOut(command, offset: offset, at: nextEntry) {
            nextEntry += 1
        } else {
            // Every entry up to a command's time was carried out before it.
            nextEntry = max(nextEntry, schedule.firstAfter(offset))
        }
    }
}
