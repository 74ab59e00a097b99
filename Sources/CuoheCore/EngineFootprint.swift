/// The memory a market's engine storage takes: the matcher's (books, orders, cids, ledger) and the
/// settlement stage's books of record. Everything is allocated at start, except a book, which is
/// allocated again for each day's band; so the most a market can ever need is known from its
/// configuration, and the loader refuses one that would pass `Bounds.engineBytesMax`.
///
/// The figures are the arena's own (`Arena.bytes`), per allocation: `EngineFootprintTests` checks
/// them byte for byte against what a matcher and its books of record really allocate.
public struct EngineFootprint: Sendable, Equatable {
    /// Which size of each book to count.
    public enum Books: Sendable {
        /// Each book at the band it starts with (what a fresh engine allocates).
        case atStart
        /// Each book at its largest (`InstrumentConfig.bookTicksMax`), plus the largest one again:
        /// a book moving to a new band holds its old and new levels for a moment.
        case largest
    }

    /// The order books.
    public var booksBytes: Int
    /// Which instrument's book is the largest, and its bytes.
    public var largestBookIndex: Int
    public var largestBookBytes: Int
    /// Everything else: live orders, the day's cids, quotes and waiting crosses, both ledgers (accounts, the register, lock
    /// lots), per-instrument and per-broker state.
    public var otherBytes: Int

    public var totalBytes: Int { booksBytes + otherBytes }

    public init(config: MarketConfig, limits: EngineLimits, books: Books = .largest) {
        booksBytes = 0
        largestBookIndex = 0
        largestBookBytes = 0
        for (i, spec) in config.instruments.enumerated() {
            let ticks = books == .largest ? spec.bookTicksMax : min(spec.startTicks, spec.bookTicksMax)
            let bytes = OrderBook.bytes(ticks: ticks)
            booksBytes += bytes
            if bytes > largestBookBytes {
                largestBookBytes = bytes
                largestBookIndex = i
            }
        }
        if books == .largest { booksBytes += largestBookBytes }
        let instruments = config.instruments.count
        let brokers = config.brokers.count
        let accounts = config.accounts.count
        let matcher = Arena.bytes(instruments, of: InstrumentState.self) + Arena.bytes(instruments, of: OrderBook.self)
            + Arena.bytes(brokers, of: Bool.self) + Arena.bytes(brokers, of: Int64.self)
            + Arena.bytes(accounts, of: Int32.self) + OrderStore.bytes(capacity: limits.ordersLiveMax)
            + CidIndex.bytes(capacity: limits.cidsPerDayMax) + Arena.bytes(2 * Matcher.hashRingSize, of: UInt64.self)
            + Arena.bytes(max(instruments, 1), of: Int32.self) + Arena.bytes(max(instruments, 1), of: Bool.self)
            + 2 * Arena.bytes(max(instruments, 1), of: Int32.self)
            + CrossTable.bytes(capacity: limits.crossesWaitingMax) + QuoteIndex.bytes(capacity: limits.quotesPerDayMax)
        // The matcher's ledger and the books of record are the same shape.
        otherBytes = matcher + 2 * Ledger.bytes(config: config, limits: limits)
    }
}

extension OrderStore {
    /// The bytes a store of `capacity` order slots takes.
    public static func bytes(capacity: Int) -> Int { Arena.bytes(capacity, of: RestingOrder.self) }
}

extension CidIndex {
    /// The bytes an index of `capacity` cids a day takes: its records and its table.
    public static func bytes(capacity: Int) -> Int {
        Arena.bytes(tableSize(capacity: capacity), of: UInt32.self) + Arena.bytes(capacity, of: CidRecord.self)
    }
}

extension CrossTable {
    /// The bytes a table for `capacity` waiting crosses takes.
    public static func bytes(capacity: Int) -> Int { Arena.bytes(tableSize(capacity: capacity), of: Entry.self) }
}

extension QuoteIndex {
    /// The bytes an index of `capacity` quotes a day takes: its list and its table.
    public static func bytes(capacity: Int) -> Int {
        Arena.bytes(CrossTable.tableSize(capacity: capacity), of: Int32.self) + Arena.bytes(capacity, of: Entry.self)
    }
}

extension Ledger {
    /// The bytes a ledger for `config` takes: accounts, per-instrument holders, the register and
    /// its table, lock lots, the accounts' holder weights.
    public static func bytes(config: MarketConfig, limits: EngineLimits) -> Int {
        let capacity = ShareRegister.positionCapacity(config: config, limits: limits)
        return Arena.bytes(config.accounts.count, of: AccountBalance.self)
            + Arena.bytes(config.instruments.count, of: InstrumentHolders.self)
            + Arena.bytes(capacity, of: Position.self) + Arena.bytes(ShareRegister.positionTableSize(capacity: capacity), of: Int32.self)
            + Arena.bytes(max(limits.lockLotsMax, 0), of: LockLot.self)
            + Arena.bytes(max(config.accounts.count, 1), of: Int64.self)
    }
}
