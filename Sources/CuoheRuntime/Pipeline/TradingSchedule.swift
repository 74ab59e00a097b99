import CuoheCore

/// The market's daily schedule, as the sequencer carries it out: every instrument's entries in
/// the order they fire (time of day, then configuration order), and the time zone that places
/// them on a trading date (`CONFIG.md`: `timeZone`, `schedule`).
public struct TradingSchedule: Sendable {
    struct Entry: Sendable {
        /// Nanoseconds after the trading date's local midnight.
        var offset: Int64
        var instrument: Int32
        var phase: TradingPhase
    }

    let entries: [Entry]
    /// The market's offset from UTC in nanoseconds (`+08:00`: 8 h).
    let utcOffset: Int64

    public init(config: MarketConfig) {
        var all: [Entry] = []
        for (i, spec) in config.instruments.enumerated() {
            for e in spec.schedule {
                all.append(Entry(offset: Int64(e.secondOfDay) * 1_000_000_000, instrument: Int32(i), phase: e.phase))
            }
        }
        // Stable: entries at one time keep the configuration's order of instruments.
        entries = all.enumerated().sorted { ($0.element.offset, $0.offset) < ($1.element.offset, $1.offset) }
            .map(\.element)
        utcOffset = Int64(config.timeZoneOffsetSeconds) * 1_000_000_000
    }

    /// No schedule, UTC: what a configuration without the two keys means.
    public static let none = TradingSchedule(entries: [], utcOffset: 0)

    init(entries: [Entry], utcOffset: Int64) {
        self.entries = entries
        self.utcOffset = utcOffset
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The first nanosecond of `date` in the market's time zone (never before 1970).
    public func dayStart(_ date: CivilDate) -> Int64 { max(0, date.midnightNanos - utcOffset) }

    /// The index of the first entry later in the day than `offset` nanoseconds.
    func firstAfter(_ offset: Int64) -> Int {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].offset <= offset { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// True if `c`, a scheduled `PHASE` stamped `offset` into the day, carried out entry `k`: the
    /// entries are carried out in order, each at its time or (after a late ROLL) later.
    func carriesOut(_ c: Command, offset: Int64, at k: Int) -> Bool {
        guard k < entries.count else { return false }
        let e = entries[k]
        return e.instrument == c.instrument && e.phase == c.phase && e.offset <= offset
    }
}
