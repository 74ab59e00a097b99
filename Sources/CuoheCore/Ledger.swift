/// An investor account's money, in 10^-4 CNY.
public struct AccountBalance: Sendable, BitwiseCopyable {
    /// All the account's cash, frozen included.
    public var cash: Int64
    /// Cash frozen by open buy orders: never spent on anything else, never withdrawn.
    public var frozenCash: Int64
    /// Filled value bought this calendar year (for the annual purchase cap).
    public var boughtThisYear: Int64
    /// Σ limit × leaves over the account's open buys: the value they may still buy.
    public var openBuyValue: Int64
    /// The most the account may buy in a calendar year, or -1 for no cap.
    public var annualBuyCap: Int64
    /// The last day the account is a qualified investor, as days since the epoch; -1 if never.
    public var qualifiedUntil: Int32
    public var broker: Int32

    public var freeCash: Int64 { cash - frozenCash }
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

    public var status: HolderStatus { shares > 0 ? .holder : (openBuys > 0 ? .slot : .none) }
    /// Shares a new sell may take now.
    public var sellable: Int64 { shares - frozenShares - lockedShares }

    static let empty = Position(account: -1, instrument: -1, shares: 0, frozenShares: 0, lockedShares: 0,
                                openBuys: 0, lastLot: -1)
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
    /// Accounts that own shares.
    public var holders: Int64
    /// Accounts with an open buy that own none (each has taken a slot).
    public var slots: Int64
    /// Lock lots of this instrument, oldest first.
    var lotHead: Int32
    var lotTail: Int32
}

/// Why the ledger refuses an order: the reason, and a detail where the reason alone would leave
/// the broker guessing.
public struct Refusal: Error, Sendable, Equatable {
    public var reason: RejectReason
    public var detail: RejectDetail

    public init(_ reason: RejectReason, _ detail: RejectDetail = .none) {
        self.reason = reason
        self.detail = detail
    }
}

/// The fees on one fill, each rounded down to the fen.
public struct FillFees: Sendable, BitwiseCopyable {
    public var buyerFee: Int64
    public var sellerFee: Int64
    public var stampDuty: Int64
}

/// Accounts, the shareholder register and the money rules: what each account owns and owes, what
/// its open orders have frozen, and who holds each instrument. The matcher asks it before accepting
/// an order (nothing changes on a refusal) and tells it every fill, which settles at once, delivery
/// versus payment. Everything lives in preallocated storage indexed by integer ids; positions are
/// found through an open-addressing table keyed by (account, instrument).
public struct Ledger: ~Copyable, Sendable {
    public let accounts: FixedArray<AccountBalance>
    public let positions: FixedArray<Position>
    public internal(set) var positionCount: Int32 = 0
    /// Entries: position index + 1; 0 is empty. Linear probing, at most half full.
    let positionTable: FixedArray<Int32>
    let positionMask: Int
    public let holders: FixedArray<InstrumentHolders>
    let lots: FixedArray<LockLot>
    /// Lots released since start, linked through `next`; -1 when none.
    var lotFree: Int32 = -1
    /// Lots at or above this were never used.
    var lotHighWater: Int32 = 0
    public let fees: Fees
    /// The exchange's fee account: every fee and stamp duty collected.
    public internal(set) var feesCollected: Int64 = 0
    /// ROLLs since start: holding periods count trading days, not calendar days.
    public internal(set) var rollCount: Int32 = 0
    /// Net cash paid in by DEPOSIT minus paid out by WITHDRAW (for the conservation check).
    public internal(set) var netDeposits: Int64 = 0
    /// All the money in the market: every account's cash plus the fee account. Trades only move
    /// it; `DEPOSIT` and `WITHDRAW` change it, and never past `Bounds.marketCashMax`, which is
    /// what keeps every balance, frozen amount and trade value in range (`Bounds`).
    public internal(set) var marketCash: Int64 = 0

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

    public init(config: MarketConfig, limits: EngineLimits, arena: Arena) {
        fees = config.fees
        var symbolIndex: [String: Int32] = [:]
        for (i, s) in config.instruments.enumerated() { symbolIndex[s.symbol] = Int32(i) }
        var brokerIndex: [String: Int32] = [:]
        for (i, b) in config.brokers.enumerated() { brokerIndex[b.id] = Int32(i) }
        accounts = arena.make(count: config.accounts.count, repeating: AccountBalance(
            cash: 0, frozenCash: 0, boughtThisYear: 0, openBuyValue: 0, annualBuyCap: -1, qualifiedUntil: -1, broker: -1))
        holders = arena.make(count: config.instruments.count, repeating: InstrumentHolders(
            holderCap: 200, holdingDays: 0, holders: 0, slots: 0, lotHead: -1, lotTail: -1))
        for (i, s) in config.instruments.enumerated() {
            holders[i].holderCap = s.holderCap
            holders[i].holdingDays = Int32(s.holdingDays)
        }
        let capacity = Ledger.positionCapacity(config: config, limits: limits)
        positions = arena.makeZeroed(count: capacity)
        let size = Ledger.positionTableSize(capacity: capacity)
        positionTable = arena.makeZeroed(count: size)
        positionMask = size - 1
        lots = arena.makeZeroed(count: max(limits.lockLotsMax, 0))
        for spec in config.accounts {
            // The configuration loader refuses a market whose cash passes the bound.
            precondition(spec.cash >= 0 && spec.cash <= Bounds.marketCashMax - marketCash, "market cash out of bounds")
            marketCash += spec.cash
        }
        for (a, spec) in config.accounts.enumerated() {
            accounts[a] = AccountBalance(
                cash: spec.cash, frozenCash: 0, boughtThisYear: spec.boughtThisYear, openBuyValue: 0,
                annualBuyCap: spec.annualBuyCap ?? -1, qualifiedUntil: spec.qualifiedUntil?.daysSinceEpoch ?? -1,
                broker: brokerIndex[spec.broker] ?? -1)
            for holding in spec.holdings where holding.shares > 0 {
                guard let instrument = symbolIndex[holding.symbol] else { continue }
                let p = findOrCreatePosition(account: Int32(a), instrument: instrument)
                precondition(p >= 0, "position capacity below the configured holdings")
                positions[p].shares += holding.shares
                if positions[p].shares == holding.shares { holders[instrument].holders += 1 }
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
        let after = positions[p].status
        if before == after { return }
        let instrument = positions[p].instrument
        switch before {
        case .holder: holders[instrument].holders -= 1
        case .slot: holders[instrument].slots -= 1
        case .none: break
        }
        switch after {
        case .holder: holders[instrument].holders += 1
        case .slot: holders[instrument].slots += 1
        case .none: break
        }
    }

    // MARK: - Money

    /// `value × bps / 10^4`, rounded down to the fen. Exact for every value an order can have.
    @inline(__always)
    public static func fee(_ value: Int64, bps: Int64) -> Int64 {
        if value <= 0 || bps <= 0 { return 0 }
        // value × bps fits 64 bits for any value up to ~9.2 × 10^10 CNY (bps ≤ 10^4): divide by a
        // constant, which compiles to a multiply. Larger values take the exact 128-bit path.
        if value <= Int64.max / 10_000 { return value * bps / 1_000_000 * Fixed.fen }
        let wide = value.multipliedFullWidth(by: bps)
        let (quotient, _) = Int64(1_000_000).dividingFullWidth(wide)  // 10^4 (bps) × 10^2 (fen)
        return quotient * Fixed.fen
    }

    /// The cash a buy of `qty` at `limit` freezes: its value plus the fee on that value; nil if
    /// it is more than the whole market holds (so no account could pay it).
    @inline(__always)
    public func buyCost(limit: Int64, qty: Int64) -> (value: Int64, frozen: Int64)? {
        let (value, o1) = limit.multipliedReportingOverflow(by: qty)
        if o1 || value > Bounds.marketCashMax { return nil }
        // The fee is at most the value (bps ≤ 10^4), so the sum stays below 2 × marketCashMax.
        return (value, value + Ledger.fee(value, bps: fees.feeBps))
    }

    // MARK: - Checks before an order is accepted (nothing changes)

    /// True if the account may buy on `date` (its qualification has not lapsed).
    @inline(__always)
    public func isQualified(_ a: Int32, on date: CivilDate) -> Bool {
        accounts[a].qualifiedUntil >= date.daysSinceEpoch
    }

    /// Checks a buy of `qty` at `limit` in the contract's order (NOT_QUALIFIED, INSUFFICIENT_CASH,
    /// HOLDER_LIMIT, ANNUAL_LIMIT) and returns what it would freeze. `held` is what the order
    /// already holds when it is a live buy being replaced (its frozen cash and open value): only
    /// the difference must fit, and it already has its holder place.
    @inline(__always)
    func checkBuy(account a: Int32, instrument: Int32, position: Int32, limit: Int64, qty: Int64, date: CivilDate,
                  held: (frozen: Int64, value: Int64) = (0, 0)) -> Result<(value: Int64, frozen: Int64), Refusal> {
        if !isQualified(a, on: date) { return .failure(Refusal(.notQualified)) }
        guard let cost = buyCost(limit: limit, qty: qty) else { return .failure(Refusal(.insufficientCash)) }
        let acct = accounts[a]
        if cost.frozen - held.frozen > acct.freeCash { return .failure(Refusal(.insufficientCash)) }
        let status = position >= 0 ? positions[position].status : .none
        if status == .none {
            let h = holders[instrument]
            if h.holders + h.slots >= h.holderCap { return .failure(Refusal(.holderLimit)) }
        }
        // Each term is at most the market's cash (or the bound itself), so the sum cannot overflow.
        let yearTotal = acct.boughtThisYear + acct.openBuyValue + cost.value - held.value
        if acct.annualBuyCap >= 0 && yearTotal > acct.annualBuyCap { return .failure(Refusal(.annualLimit)) }
        if yearTotal > Bounds.annualBuyMax { return .failure(Refusal(.annualLimit, .cashLimit)) }
        return .success(cost)
    }

    /// Why a sell of `qty` may not be accepted, or nil.
    @inline(__always)
    func checkSell(position: Int32, qty: Int64) -> RejectReason? {
        guard position >= 0 else { return .insufficientShares }
        let p = positions[position]
        if qty > p.shares - p.frozenShares { return .insufficientShares }
        if qty > p.sellable { return .holdingPeriod }
        return nil
    }

    // MARK: - Freezing and releasing

    /// A buy was accepted: freeze its cash and count it as an open buy (taking a holder slot if the
    /// account neither holds nor already has an open buy).
    @inline(__always)
    mutating func freezeBuy(account a: Int32, position: Int32, value: Int64, frozen: Int64) {
        accounts[a].frozenCash += frozen
        accounts[a].openBuyValue += value
        update(position) { $0.openBuys += 1 }
    }

    /// A sell was accepted: freeze its shares.
    @inline(__always)
    mutating func freezeSell(position: Int32, qty: Int64) {
        positions[position].frozenShares += qty
    }

    /// A buy ended (filled or canceled): release what it still had frozen and its open value.
    @inline(__always)
    mutating func releaseBuy(account a: Int32, position: Int32, frozen: Int64, limit: Int64, leaves: Int64) {
        accounts[a].frozenCash -= frozen
        accounts[a].openBuyValue -= limit * leaves
        update(position) { $0.openBuys -= 1 }
    }

    /// A sell ended: release the shares it still had frozen.
    @inline(__always)
    mutating func releaseSell(position: Int32, leaves: Int64) {
        positions[position].frozenShares -= leaves
    }

    /// A live buy changed (REPLACE): its frozen cash and open value move to the new amounts.
    mutating func adjustBuy(account a: Int32, frozenDelta: Int64, valueDelta: Int64) {
        accounts[a].frozenCash += frozenDelta
        accounts[a].openBuyValue += valueDelta
    }

    // MARK: - Settlement

    /// Settles one fill, delivery versus payment: shares move from seller to buyer, cash from
    /// buyer to seller, fees to the exchange. Returns the fees and what the buyer paid from its
    /// frozen cash (value + buyer's fee), which the buy order's own frozen amount drops by.
    @inline(__always)
    mutating func settle(buyer: Int32, buyerPosition: Int32, buyLimit: Int64, seller: Int32, sellerPosition: Int32,
                         instrument: Int32, price: Int64, qty: Int64) -> (FillFees, Int64) {
        let value = price * qty
        let exchangeFee = Ledger.fee(value, bps: fees.feeBps)
        let f = FillFees(buyerFee: exchangeFee, sellerFee: exchangeFee,
                         stampDuty: Ledger.fee(value, bps: fees.stampDutyBps))
        let paid = value + f.buyerFee
        accounts[buyer].frozenCash -= paid
        accounts[buyer].openBuyValue -= buyLimit * qty
        positions[sellerPosition].frozenShares -= qty
        deliver(buyer: buyer, buyerPosition: buyerPosition, seller: seller, sellerPosition: sellerPosition,
                instrument: instrument, value: value, qty: qty, fees: f)
        return (f, paid)
    }

    /// The movements every settled trade makes, in the matcher's ledger and in the books of
    /// record alike: cash (value and fees) and purchases, shares, the holding-period lock (in the
    /// buyer's lot for today, which the caller made sure of), the fees collected.
    @inline(__always)
    mutating func deliver(buyer: Int32, buyerPosition: Int32, seller: Int32, sellerPosition: Int32, instrument: Int32,
                          value: Int64, qty: Int64, fees f: FillFees) {
        accounts[buyer].cash -= value + f.buyerFee
        accounts[buyer].boughtThisYear += value
        accounts[seller].cash += value - f.sellerFee - f.stampDuty
        feesCollected += f.buyerFee + f.sellerFee + f.stampDuty
        update(buyerPosition) { $0.shares += qty }
        if holders[instrument].holdingDays > 0 { lock(buyerPosition, shares: qty) }
        update(sellerPosition) { $0.shares -= qty }
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
        let lot = takeLot()
        lots[lot] = LockLot(position: p, next: -1, releaseRoll: release, shares: 0)
        let tail = holders[instrument].lotTail
        if tail >= 0 { lots[tail].next = lot } else { holders[instrument].lotHead = lot }
        holders[instrument].lotTail = lot
        positions[p].lastLot = lot
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

    // MARK: - Operator cash, and the day's end

    /// Pays `amount` (> 0) into an account; false, changing nothing, if that would take the
    /// account past `Bounds.accountCashMax` or the market past `Bounds.marketCashMax`.
    mutating func deposit(account a: Int32, amount: Int64) -> Bool {
        // An account above its own bound (it sold) has a negative room: refused, no overflow.
        guard amount <= Bounds.accountCashMax - accounts[a].cash, amount <= Bounds.marketCashMax - marketCash else {
            return false
        }
        recordCash(account: a, amount: amount)
        return true
    }

    /// Pays `amount` (> 0) out of an account's free cash; false, changing nothing, if it has not
    /// that much free (a withdrawal never takes frozen cash).
    mutating func withdraw(account a: Int32, amount: Int64) -> Bool {
        if amount > accounts[a].freeCash { return false }
        recordCash(account: a, amount: -amount)
        return true
    }

    /// Cash paid in (positive) or out (negative) by the operator, already checked.
    mutating func recordCash(account a: Int32, amount: Int64) {
        accounts[a].cash += amount
        netDeposits += amount
        marketCash += amount
        assert(marketCash >= 0 && marketCash <= Bounds.marketCashMax, "market cash out of bounds")
    }

    /// Σ cash over the accounts plus the fee account, counted afresh (restore and checks); nil
    /// if a balance is negative or the total passes `Bounds.marketCashMax`.
    public func checkedMarketCash() -> Int64? {
        guard feesCollected >= 0 && feesCollected <= Bounds.marketCashMax else { return nil }
        var total = feesCollected
        for a in 0..<accounts.count {
            let cash = accounts[a].cash
            guard cash >= 0 && cash <= Bounds.marketCashMax - total else { return nil }
            total += cash
        }
        return total
    }

    /// A new trading day: holding periods count down (releasing due lots); a new calendar year
    /// resets every account's purchases.
    mutating func roll(from old: CivilDate, to new: CivilDate) {
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
        if new.year != old.year {
            for a in 0..<accounts.count { accounts[a].boughtThisYear = 0 }
        }
    }
}
