/// The market the engine opens with, as loaded from the operator's configuration file
/// (`CONFIG.md`) or the built-in demo. Names are resolved to integer ids once, here: an id is the
/// index of the entry in its array, and the matcher works only with those ids.
public struct MarketConfig: Sendable, Equatable {
    public var tradingDate: CivilDate
    public var fees: Fees
    public var instruments: [InstrumentConfig]
    public var brokers: [BrokerConfig]
    public var accounts: [AccountConfig]
    /// The market's offset from UTC in seconds (`timeZone`, `+08:00` is 28,800): the trading day
    /// starts at the trading date's local midnight, and schedule times are counted from it.
    public var timeZoneOffsetSeconds: Int32

    public init(tradingDate: CivilDate, fees: Fees = Fees(), instruments: [InstrumentConfig],
                brokers: [BrokerConfig], accounts: [AccountConfig], timeZoneOffsetSeconds: Int32 = 0) {
        self.tradingDate = tradingDate
        self.timeZoneOffsetSeconds = timeZoneOffsetSeconds
        self.fees = fees
        self.instruments = instruments
        self.brokers = brokers
        self.accounts = accounts
    }
}

/// How an instrument trades (`CONFIG.md`, instrument `mode`).
public enum InstrumentMode: UInt8, Sendable, BitwiseCopyable {
    /// The order book, call auctions, and the negotiated verbs.
    case continuous = 0
    /// Negotiated transfer only (`QUOTE`, `ACCEPT`, `CROSS`).
    case negotiated = 1
}

/// One entry of an instrument's daily schedule (`{ "at": "09:15", "phase": "AUCTION" }`).
public struct ScheduleEntry: Sendable, Equatable, BitwiseCopyable {
    /// Seconds after the trading date's local midnight (0 ..< 86,400).
    public var secondOfDay: Int32
    public var phase: TradingPhase

    public init(secondOfDay: Int32, phase: TradingPhase) {
        self.secondOfDay = secondOfDay
        self.phase = phase
    }
}

/// Fees in basis points of a fill's value.
public struct Fees: Sendable, Equatable, BitwiseCopyable {
    /// The exchange's fee, charged to both sides.
    public var feeBps: Int64
    /// Stamp duty, charged to the seller.
    public var stampDutyBps: Int64

    public init(feeBps: Int64 = 0, stampDutyBps: Int64 = 0) {
        self.feeBps = feeBps
        self.stampDutyBps = stampDutyBps
    }
}

public struct InstrumentConfig: Sendable, Equatable {
    public var symbol: String
    public var name: String
    /// Tick size in 10^-4 CNY.
    public var tick: Int64
    /// Board lot in shares (1 allows any quantity).
    public var lot: Int64
    /// Reference price in 10^-4 CNY; a multiple of `tick`.
    public var referencePrice: Int64
    public var bandPercent: Int64
    public var holderCap: Int64
    public var holdingDays: Int64
    public var phase: TradingPhase
    /// The daily schedule: each entry moves the instrument to its phase at its time of day,
    /// every trading day; times strictly increasing.
    public var schedule: [ScheduleEntry]
    /// How it trades: the order book (with auctions and the negotiated verbs), or negotiated
    /// transfer only.
    public var mode: InstrumentMode
    /// The two-way holding rule: an account whose sell filled may buy again only this many
    /// `ROLL`s later, and while it is above 0 no account has a buy and a sell open at once.
    public var rebuyDays: Int64

    public init(symbol: String, name: String, tick: Int64, lot: Int64, referencePrice: Int64,
                bandPercent: Int64, holderCap: Int64 = 200, holdingDays: Int64 = 0,
                phase: TradingPhase = .open, schedule: [ScheduleEntry] = [], mode: InstrumentMode = .continuous,
                rebuyDays: Int64 = 0) {
        self.schedule = schedule
        self.mode = mode
        self.rebuyDays = rebuyDays
        self.symbol = symbol
        self.name = name
        self.tick = tick
        self.lot = lot
        self.referencePrice = referencePrice
        self.bandPercent = bandPercent
        self.holderCap = holderCap
        self.holdingDays = holdingDays
        self.phase = phase
    }
}

public struct BrokerConfig: Sendable, Equatable {
    public var id: String
    public var token: String
    public var isOperator: Bool
    public var maxMessagesPerSecond: Int64?
    /// When the broker's session ends other than by `LOGOUT`, its open `DAY` orders are canceled.
    public var cancelOnDisconnect: Bool

    public init(id: String, token: String, isOperator: Bool = false, maxMessagesPerSecond: Int64? = nil,
                cancelOnDisconnect: Bool = false) {
        self.id = id
        self.token = token
        self.isOperator = isOperator
        self.maxMessagesPerSecond = maxMessagesPerSecond
        self.cancelOnDisconnect = cancelOnDisconnect
    }
}

public struct Holding: Sendable, Equatable {
    public var symbol: String
    public var shares: Int64

    public init(symbol: String, shares: Int64) {
        self.symbol = symbol
        self.shares = shares
    }
}

public struct AccountConfig: Sendable, Equatable {
    public var id: String
    /// The owning broker's `id`.
    public var broker: String
    public var qualifiedUntil: CivilDate?
    /// Cash in 10^-4 CNY.
    public var cash: Int64
    /// Settled shares per instrument, in the file's order.
    public var holdings: [Holding]
    public var annualBuyCap: Int64?
    public var boughtThisYear: Int64
    /// The actual holders the account stands for (a trust, partnership or nominee account: more
    /// than 1); the holder cap counts it this many times.
    public var beneficialOwners: Int64

    public init(id: String, broker: String, qualifiedUntil: CivilDate? = nil, cash: Int64 = 0,
                holdings: [Holding] = [], annualBuyCap: Int64? = nil, boughtThisYear: Int64 = 0,
                beneficialOwners: Int64 = 1) {
        self.beneficialOwners = beneficialOwners
        self.id = id
        self.broker = broker
        self.qualifiedUntil = qualifiedUntil
        self.cash = cash
        self.holdings = holdings
        self.annualBuyCap = annualBuyCap
        self.boughtThisYear = boughtThisYear
    }
}

extension InstrumentConfig {
    /// The daily price band: `referencePrice × (1 ± bandPercent/100)`, rounded inward to the tick,
    /// never below one tick and never above `Bounds.priceMax` (so every price in it can be sent as
    /// a limit). If that spans more than `ticksMax` ticks (the room of the instrument's book), it
    /// is narrowed around the reference price to fit: the stricter band, never a larger book.
    /// `referencePrice` is a multiple of `tick` within `tick ... Bounds.priceMax`, so it always
    /// lies in the band.
    public static func band(referencePrice: Int64, tick: Int64, bandPercent: Int64,
                            ticksMax: Int64 = .max) -> (low: Int64, high: Int64) {
        // ref × (100 ± p) / 100, then inward to the tick: the low edge rounds up, the high down.
        // ref ≤ 10^13 and p ≤ 100, so the products stay below 2.1 × 10^15.
        let lowExact = referencePrice * (100 - bandPercent)
        let highExact = referencePrice * (100 + bandPercent)
        let step = tick * 100
        var low = (lowExact + step - 1) / step * tick
        var high = min(highExact / step * tick, Bounds.priceMax / tick * tick)
        if low < tick { low = tick }
        if (high - low) / tick + 1 > ticksMax {
            let half = (ticksMax - 1) / 2
            low = max(low, referencePrice - half * tick)
            high = min(high, referencePrice + half * tick)
        }
        return (low, high)
    }

    /// The ticks this instrument's starting band spans (counting both edges).
    public var startTicks: Int64 {
        let band = InstrumentConfig.band(referencePrice: referencePrice, tick: tick, bandPercent: bandPercent)
        return (band.high - band.low) / tick + 1
    }

    /// The most ticks this instrument's book may ever span (`Bounds.bookTicks`): a later day's
    /// band is narrowed to it.
    public var bookTicksMax: Int64 { Bounds.bookTicks(startTicks: startTicks) }
}
