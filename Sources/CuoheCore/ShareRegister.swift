/// The shareholder register: who holds what. One line (`Position`) per account and instrument
/// ever held or bought, found through an open-addressing table keyed by (account, instrument);
/// each instrument's holder and slot counts, kept in step with the lines by one function; and
/// the holding-period lock lots, a FIFO per instrument (release order is buy order) drawn from a
/// fixed pool. Everything lives in preallocated storage indexed by integer ids.
///
/// Noncopyable: its arrays are views of storage its owner's arena holds, so a copy could outlive it.
public struct ShareRegister: ~Copyable, Sendable {
    public let positions: FixedArray<Position>
    public internal(set) var positionCount: Int32 = 0
    /// Entries: position index + 1; 0 is empty. Linear probing, at most half full.
    let positionTable: FixedArray<Int32>
    let positionMask: Int
    public let holders: FixedArray<InstrumentHolders>
    /// Per account: the actual holders it stands for (`beneficialOwners`, 1 for most).
    public let weights: FixedArray<Int64>
    let lots: FixedArray<LockLot>
    /// Lots released since start, linked through `next`; -1 when none.
    var lotFree: Int32 = -1
    /// Lots at or above this were never used.
    var lotHighWater: Int32 = 0
    /// ROLLs since start: holding periods count trading days, not calendar days.
    public internal(set) var rollCount: Int32 = 0

    /// A register for `config`: its instruments' caps and holding periods, and every configured
    /// holding.
    init(config: MarketConfig, limits: EngineLimits, arena: Arena) {
        holders = arena.make(count: config.instruments.count, repeating: InstrumentHolders(
            holderCap: 200, holdingDays: 0, holders: 0, slots: 0, lotHead: -1, lotTail: -1))
        var symbolIndex: [String: Int32] = [:]
        for (i, s) in config.instruments.enumerated() {
            symbolIndex[s.symbol] = Int32(i)
            holders[i].holderCap = s.holderCap
            holders[i].holdingDays = Int32(s.holdingDays)
            holders[i].rebuyDays = Int32(s.rebuyDays)
        }
        weights = arena.make(count: max(config.accounts.count, 1), repeating: 1)
        for (a, spec) in config.accounts.enumerated() { weights[a] = spec.beneficialOwners }
        let capacity = ShareRegister.positionCapacity(config: config, limits: limits)
        positions = arena.makeZeroed(count: capacity)
        let size = ShareRegister.positionTableSize(capacity: capacity)
        positionTable = arena.makeZeroed(count: size)
        positionMask = size - 1
        lots = arena.makeZeroed(count: max(limits.lockLotsMax, 0))
        for (a, spec) in config.accounts.enumerated() {
            for holding in spec.holdings where holding.shares > 0 {
                guard let instrument = symbolIndex[holding.symbol] else { continue }
                let p = findOrCreatePosition(account: Int32(a), instrument: instrument)
                precondition(p >= 0, "position capacity below the configured holdings")
                update(p) { $0.shares += holding.shares }
            }
        }
    }

    /// Lines the register has room for: the limit, and at least every configured holding.
    static func positionCapacity(config: MarketConfig, limits: EngineLimits) -> Int {
        max(limits.positionsMax, config.accounts.reduce(0) { $0 + $1.holdings.count } + 1)
    }

    /// Register table entries: a power of two at least twice the capacity (at most half full).
    static func positionTableSize(capacity: Int) -> Int {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        return size
    }

    // MARK: - Positions

    @inline(__always)
    func positionHash(_ account: Int32, _ instrument: Int32) -> Int {
        let key = UInt64(UInt32(bitPattern: account)) << 32 | UInt64(UInt32(bitPattern: instrument))
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & positionMask
    }

    /// The position of (account, instrument), or -1 if the account never held or bought it.
    @inline(__always)
    public func findPosition(account: Int32, instrument: Int32) -> Int32 {
        var i = positionHash(account, instrument)
        while true {
            let entry = positionTable[i]
            if entry == 0 { return -1 }
            let p = entry - 1
            if positions[p].account == account && positions[p].instrument == instrument { return p }
            i = (i + 1) & positionMask
        }
    }

    /// The position, created empty if new; -1 if the register is full.
    mutating func findOrCreatePosition(account: Int32, instrument: Int32) -> Int32 {
        var i = positionHash(account, instrument)
        while true {
            let entry = positionTable[i]
            if entry == 0 { break }
            let p = entry - 1
            if positions[p].account == account && positions[p].instrument == instrument { return p }
            i = (i + 1) & positionMask
        }
        guard Int(positionCount) < positions.count else { return -1 }
        let p = positionCount
        positionCount += 1
        positions[p] = .empty
        positions[p].account = account
        positions[p].instrument = instrument
        positionTable[i] = p + 1
        return p
    }

    public var positionsFull: Bool {
        @inline(__always) get { Int(positionCount) >= positions.count }
    }

    /// Applies `change` to a position and keeps the instrument's holder and slot counts in step.
    @inline(__always)
    mutating func update(_ p: Int32, _ change: (inout Position) -> Void) {
        let before = positions[p].status
        change(&positions[p])
        recount(p, from: before)
    }

    // The four changes every order and trade makes, each testing only the one case in which
    // the status can change: on the matching path, cheaper than `update`'s two full statuses.

    /// A buy opened on the position.
    @inline(__always)
    mutating func addOpenBuy(_ p: Int32) {
        let was = positions[p].openBuys
        positions[p].openBuys = was + 1
        if was == 0 && positions[p].shares == 0 { recount(p, from: .none) }
    }

    /// A buy on the position ended.
    @inline(__always)
    mutating func removeOpenBuy(_ p: Int32) {
        let now = positions[p].openBuys - 1
        positions[p].openBuys = now
        if now == 0 && positions[p].shares == 0 { recount(p, from: .slot) }
    }

    /// `qty` (≥ 0) shares delivered to the position.
    @inline(__always)
    mutating func addShares(_ p: Int32, _ qty: Int64) {
        let was = positions[p].shares
        positions[p].shares = was + qty
        if was == 0 { recount(p, from: positions[p].openBuys > 0 ? .slot : .none) }
    }

    /// `qty` (≥ 0) shares delivered from the position.
    @inline(__always)
    mutating func removeShares(_ p: Int32, _ qty: Int64) {
        let was = positions[p].shares
        positions[p].shares = was - qty
        if was > 0 && was == qty { recount(p, from: .holder) }
    }

    /// Moves the instrument's holder and slot counts from the position's status `before` a
    /// change to its status now.
    mutating func recount(_ p: Int32, from before: HolderStatus) {
        let after = positions[p].status
        if before == after { return }
        let instrument = positions[p].instrument
        let weight = weights[positions[p].account]
        switch before {
        case .holder: holders[instrument].holders -= weight
        case .slot: holders[instrument].slots -= weight
        case .none: break
        }
        switch after {
        case .holder: holders[instrument].holders += weight
        case .slot: holders[instrument].slots += weight
        case .none: break
        }
    }

    /// Free lots left (for `STATS`-style inspection and tests).
    public var lotsFree: Int {
        var n = lots.count - Int(lotHighWater)
        var lot = lotFree
        while lot >= 0 { n += 1; lot = lots[lot].next }
        return n
    }

    /// True if a lot can be taken.
    var lotAvailable: Bool {
        @inline(__always) get { lotFree >= 0 || Int(lotHighWater) < lots.count }
    }

    /// Takes a lot (a released one first); the caller checked `lotAvailable`.
    mutating func takeLot() -> Int32 {
        if lotFree >= 0 {
            let lot = lotFree
            lotFree = lots[lot].next
            return lot
        }
        precondition(Int(lotHighWater) < lots.count, "lock lot pool exhausted")
        lotHighWater += 1
        return lotHighWater - 1
    }

    // MARK: - Lock lots

    /// Appends a lot to the back of `instrument`'s FIFO; returns it. The caller checked
    /// `lotAvailable`.
    mutating func appendLot(position: Int32, instrument: Int32, releaseRoll: Int32, shares: Int64) -> Int32 {
        let lot = takeLot()
        lots[lot] = LockLot(position: position, next: -1, releaseRoll: releaseRoll, shares: shares)
        let tail = holders[instrument].lotTail
        if tail >= 0 { lots[tail].next = lot } else { holders[instrument].lotHead = lot }
        holders[instrument].lotTail = lot
        return lot
    }

    /// True if a buy by `position` (-1: none yet) in `instrument` can have its holding-period
    /// lock recorded today: the instrument has no holding period, the position already has
    /// today's lot, or a lot is free.
    @inline(__always)
    func canLock(position p: Int32, instrument: Int32) -> Bool {
        let days = holders[instrument].holdingDays
        if days == 0 || lotAvailable { return true }
        guard p >= 0 else { return false }
        let last = positions[p].lastLot
        return last >= 0 && lots[last].releaseRoll == rollCount + days
    }

    /// Makes sure the position has today's lock lot, so every fill today can be locked without
    /// allocating. Returns false only if the pool is empty (callers checked `canLock` first, or
    /// cancel the order).
    mutating func ensureLot(position p: Int32, instrument: Int32) -> Bool {
        let days = holders[instrument].holdingDays
        if days == 0 { return true }
        let release = rollCount + days
        let last = positions[p].lastLot
        if last >= 0 && lots[last].releaseRoll == release { return true }
        guard lotAvailable else { return false }
        positions[p].lastLot = appendLot(position: p, instrument: instrument, releaseRoll: release, shares: 0)
        return true
    }

    /// Locks shares just bought until the holding period ends, in the position's lot for today
    /// (which every open buy in a holding instrument is guaranteed to have).
    @inline(__always)
    mutating func lock(_ p: Int32, shares: Int64) {
        let last = positions[p].lastLot
        precondition(last >= 0 && lots[last].position == p && lots[last].releaseRoll == rollCount
                        + holders[positions[p].instrument].holdingDays, "buy without today's lock lot")
        lots[last].shares += shares
        positions[p].lockedShares += shares
    }

    /// A new trading day: holding periods count down, releasing the lots now due.
    mutating func roll() {
        rollCount += 1
        for i in 0..<holders.count {
            var lot = holders[i].lotHead
            while lot >= 0 && lots[lot].releaseRoll <= rollCount {
                let p = lots[lot].position
                positions[p].lockedShares -= lots[lot].shares
                if positions[p].lastLot == lot { positions[p].lastLot = -1 }
                let next = lots[lot].next
                lots[lot] = .empty
                lots[lot].next = lotFree
                lotFree = lot
                lot = next
            }
            holders[i].lotHead = lot
            if lot < 0 { holders[i].lotTail = -1 }
        }
    }
}

/// Where an account stands in an instrument's holder count.
public enum HolderStatus: UInt8, Sendable, BitwiseCopyable {
    /// Holds no shares and has no open buy.
    case none = 0
    /// Holds no shares but has an open buy: it has taken one of the instrument's holder slots.
    case slot
    /// Owns shares: a holder.
    case holder
}

/// One account's shares in one instrument: a line of the shareholder register.
public struct Position: Sendable, BitwiseCopyable {
    public var account: Int32
    public var instrument: Int32
    /// Settled shares owned.
    public var shares: Int64
    /// Shares frozen by open sell orders.
    public var frozenShares: Int64
    /// Shares bought within the instrument's holding period: owned, not yet sellable.
    public var lockedShares: Int64
    /// Open buy orders in this instrument.
    public var openBuys: Int32
    /// The newest lock lot of this position (merged into while it is the same day's), or -1.
    var lastLot: Int32
    /// Open sell orders in this instrument (the two-way rule forbids a buy beside one).
    public var openSells: Int32 = 0
    /// The register's roll count when a sell of this position last filled, or -1 (the two-way
    /// rule: no buy until `rebuyDays` rolls after it).
    public var lastSellRoll: Int32 = -1

    public var status: HolderStatus { shares > 0 ? .holder : (openBuys > 0 ? .slot : .none) }
    /// Shares a new sell may take now.
    public var sellable: Int64 { shares - frozenShares - lockedShares }

    static let empty = Position(account: -1, instrument: -1, shares: 0, frozenShares: 0, lockedShares: 0,
                                openBuys: 0, lastLot: -1, openSells: 0, lastSellRoll: -1)
}

/// Shares bought on one trading day that become sellable after the instrument's holding period.
struct LockLot: Sendable, BitwiseCopyable {
    var position: Int32
    /// The next lot of the same instrument (release order), or -1; also the free-list link.
    var next: Int32
    /// The roll count at which these shares become sellable.
    var releaseRoll: Int32
    var shares: Int64

    static let empty = LockLot(position: -1, next: -1, releaseRoll: 0, shares: 0)
}

/// Per-instrument ownership rules and counts.
public struct InstrumentHolders: Sendable, BitwiseCopyable {
    public var holderCap: Int64
    public var holdingDays: Int32
    /// The two-way rule's interval in rolls (0: off).
    public var rebuyDays: Int32 = 0
    /// Actual holders: accounts that own shares, each counted as its `beneficialOwners`.
    public var holders: Int64
    /// Holder places taken by open buys of accounts that own none (each as its `beneficialOwners`).
    public var slots: Int64
    /// Lock lots of this instrument, oldest first.
    var lotHead: Int32
    var lotTail: Int32
}

