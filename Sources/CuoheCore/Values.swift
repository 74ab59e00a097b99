/// Fixed-point money and price arithmetic, and the small value types every stage shares.
///
/// Prices and cash are `Int64` counts of 10^-4 CNY. Nothing near money is floating point.
public enum Fixed {
    /// One CNY in engine units (10^-4 CNY).
    public static let scale: Int64 = 10_000
    /// One fen (0.01 CNY) in engine units: fees are rounded down to this.
    public static let fen: Int64 = 100
}

public enum Side: UInt8, Sendable, BitwiseCopyable {
    case buy = 0
    case sell = 1

    @inlinable public var opposite: Side { self == .buy ? .sell : .buy }
}

public enum OrderType: UInt8, Sendable, BitwiseCopyable {
    case limit = 0
    case market = 1
}

public enum TimeInForce: UInt8, Sendable, BitwiseCopyable {
    case day = 0
    case gtc = 1
    case ioc = 2
    case fok = 3
}

public enum TradingPhase: UInt8, Sendable, BitwiseCopyable {
    case auction = 0
    case open = 1
    case closed = 2
}

/// Why the engine refused a message. The raw values are stable: they are journaled.
public enum RejectReason: UInt8, Sendable, BitwiseCopyable, CaseIterable, Error {
    case malformed = 1
    case lineTooLong
    case unknownVerb
    case notLoggedIn
    case auth
    case seqAhead
    case notPermitted
    case throttled
    case unknownSymbol
    case unknownAccount
    case notYourAccount
    case notQualified
    case duplicateCid
    case unknownOrder
    case badQty
    case lotSize
    case badPrice
    case tickSize
    case priceBand
    case insufficientCash
    case insufficientShares
    case holdingPeriod
    case holderLimit
    case annualLimit
    case halted
    case marketClosed
    case orderDone
    /// A `CROSS` that met a waiting one on different terms, or reused a waiting `ref`.
    case crossMismatch
}

/// Why an order ended without filling completely.
public enum CancelReason: UInt8, Sendable, BitwiseCopyable {
    case user = 1
    case ioc
    case fok
    case selfTrade
    case expired
    case halt
    case admin
}

/// The state a `STATUS` reports.
public enum OrderState: UInt8, Sendable, BitwiseCopyable {
    case new = 0
    case partial
    case filled
    case canceled
}

/// Which side of a trade an order was on.
public enum Liquidity: UInt8, Sendable, BitwiseCopyable {
    case maker = 0
    case taker = 1
    /// Both sides of a call auction's uncross: no order took liquidity from another.
    case auction = 2
}

/// Where a resting order rests: the anonymous book, or one of the negotiated-transfer kinds,
/// which never meet the book.
public enum OrderKind: UInt8, Sendable, BitwiseCopyable {
    case book = 0
    /// On the instrument's public quote board, until accepted in full, canceled or expired.
    case quote = 1
    /// One side of a cross, waiting (seen by nobody else) for its counterparty's side.
    case cross = 2
}

/// How a trade came about (the public `TRADE`'s `kind=`).
public enum TradeKind: UInt8, Sendable, BitwiseCopyable {
    /// The continuous book: an incoming order met a resting one.
    case book = 0
    /// A call auction's uncross, at its one price.
    case auction = 1
    /// A quote accepted (negotiated transfer).
    case quote = 2
    /// A cross agreed beforehand (negotiated transfer).
    case cross = 3
}

/// A calendar date as days since 1970-01-01 (proleptic Gregorian, UTC).
public struct CivilDate: Sendable, Hashable, Comparable, BitwiseCopyable {
    public var daysSinceEpoch: Int32

    public init(daysSinceEpoch: Int32) { self.daysSinceEpoch = daysSinceEpoch }

    /// Builds a date from year, month and day; nil if the day does not exist.
    public init?(year: Int, month: Int, day: Int) {
        guard (1970...9999).contains(year), (1...12).contains(month), day >= 1,
              day <= CivilDate.daysIn(year: year, month: month) else { return nil }
        // Days from civil, after Howard Hinnant's algorithm.
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        daysSinceEpoch = Int32(era * 146_097 + doe - 719_468)
    }

    /// Parses `YYYY-MM-DD` exactly.
    public init?(iso text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                let b = bytes[i]
                guard b >= 48, b <= 57 else { return nil }
                value = value * 10 + Int(b - 48)
            }
            return value
        }
        guard let y = digits(0..<4), let m = digits(5..<7), let d = digits(8..<10) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// (year, month, day) of this date.
    public var components: (year: Int, month: Int, day: Int) {
        let z = Int(daysSinceEpoch) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    public var year: Int { components.year }

    /// `YYYY-MM-DD`.
    public var iso: String {
        let (y, m, d) = components
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }

    /// Nanoseconds since the epoch at this date's midnight UTC. Only for `isTradingDate` dates.
    public var midnightNanos: Int64 { Int64(daysSinceEpoch) * 86_400 * 1_000_000_000 }

    /// The last day whose nanosecond timestamps (a whole day of them, and a day more of headroom
    /// for the sequencing clock) fit an `Int64`: 2262-04-10.
    public static let lastTradingDate = CivilDate(daysSinceEpoch: 106_750)
    /// The last timestamp the sequencing clock may be set to (the end of `lastTradingDate`).
    public static let lastTimestamp: Int64 = Int64(106_751) * 86_400 * 1_000_000_000 - 1

    /// True if the engine can trade on this date: its timestamps fit (1970-01-01 to 2262-04-10).
    public var isTradingDate: Bool { daysSinceEpoch >= 0 && self <= CivilDate.lastTradingDate }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }
}
