#if canImport(Glibc)
import Glibc
#endif
import CuoheCore

/// The time the sequencer stamps commands with, and the trading date it follows.
///
/// It starts at the trading date's midnight UTC and advances 1 ns per command; a requested stamp
/// (replay's `@` prefix, a schedule's time) sets it, but never back and never before the trading
/// day; a `ROLL` the matcher will accept (an operator's, to a later date: the matcher's own rule)
/// moves it to the new date's midnight if it is behind. It stops at the engine's last timestamp
/// rather than pass it. Journal recovery follows the same clock through `observe`, so a restart
/// continues exactly where the journal ends.
public struct SequencingClock: Sendable {
    /// The timestamp of the last sequenced command.
    public private(set) var now: Int64
    /// The trading date as the matcher will have it after the commands sequenced so far.
    public private(set) var tradingDate: CivilDate
    let brokerIsOperator: [Bool]

    public init(tradingDate: CivilDate, brokerIsOperator: [Bool], now: Int64? = nil) {
        self.tradingDate = tradingDate
        self.brokerIsOperator = brokerIsOperator
        self.now = now ?? tradingDate.midnightNanos - 1
    }

    /// The stamp the next command gets: `requested` if it may be used (not before the last
    /// command's, not before the trading day, not past the last timestamp), else nil; without a
    /// request, the next nanosecond. Does not move the clock (`observe` does, once the command is
    /// sequenced), so an answer the edge gives itself can carry the time without taking it.
    @inline(__always)
    public func stamp(requested: Int64? = nil) -> Int64? {
        guard let requested else { return now < CivilDate.lastTimestamp ? now + 1 : CivilDate.lastTimestamp }
        guard requested <= CivilDate.lastTimestamp, requested >= now, requested >= tradingDate.midnightNanos else {
            return nil
        }
        return requested
    }

    /// A live server's stamp: the wall clock `wall` where it moves the clock forward and lies in
    /// or after the trading day, else the next nanosecond, so the journal's times never go back
    /// even when the system clock does.
    @inline(__always)
    public func liveStamp(wall: Int64) -> Int64? {
        if wall > now && wall >= tradingDate.midnightNanos && wall <= CivilDate.lastTimestamp { return wall }
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
            if now < command.date.midnightNanos { now = command.date.midnightNanos - 1 }
        }
    }
}
