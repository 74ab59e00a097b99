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
    /// Who holds what: positions, holder and slot counts, holding-period lock lots.
    public internal(set) var register: ShareRegister
    public let fees: Fees
    /// The exchange's fee account: every fee and stamp duty collected.
    public internal(set) var feesCollected: Int64 = 0
    /// Net cash paid in by DEPOSIT minus paid out by WITHDRAW (for the conservation check).
    public internal(set) var netDeposits: Int64 = 0
    /// All the money in the market: every account's cash plus the fee account. Trades only move
    /// it; `DEPOSIT` and `WITHDRAW` change it, and never past `Bounds.marketCashMax`, which is
    /// what keeps every balance, frozen amount and trade value in range (`Bounds`).
    public internal(set) var marketCash: Int64 = 0

    public init(config: MarketConfig, limits: EngineLimits, arena: Arena) {
        fees = config.fees
        var brokerIndex: [String: Int32] = [:]
        for (i, b) in config.brokers.enumerated() { brokerIndex[b.id] = Int32(i) }
        accounts = arena.make(count: config.accounts.count, repeating: AccountBalance(
            cash: 0, frozenCash: 0, boughtThisYear: 0, openBuyValue: 0, annualBuyCap: -1, qualifiedUntil: -1, broker: -1))
        register = ShareRegister(config: config, limits: limits, arena: arena)
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
        let status = position >= 0 ? register.positions[position].status : .none
        if status == .none {
            // The account's actual holders must all fit (a trust standing for several takes as
            // many places).
            let h = register.holders[instrument]
            if h.holders + h.slots + register.weights[a] > h.holderCap { return .failure(Refusal(.holderLimit)) }
        }
        // Each term is at most the market's cash (or the bound itself), so the sum cannot overflow.
        let yearTotal = acct.boughtThisYear + acct.openBuyValue + cost.value - held.value
        if acct.annualBuyCap >= 0 && yearTotal > acct.annualBuyCap { return .failure(Refusal(.annualLimit)) }
        if yearTotal > Bounds.annualBuyMax { return .failure(Refusal(.annualLimit, .cashLimit)) }
        return .success(cost)
    }

    /// The two-way holding rule (`rebuyDays`), checked after the others: a buy within the interval
    /// after the position's last sell, or either side while the other side is open.
    @inline(__always)
    func checkTwoWay(position: Int32, instrument: Int32, side: Side) -> Refusal? {
        let days = register.holders[instrument].rebuyDays
        guard days > 0, position >= 0 else { return nil }
        let p = register.positions[position]
        if side == .buy {
            if p.lastSellRoll >= 0 && register.rollCount - p.lastSellRoll < days {
                return Refusal(.holdingPeriod, .rebuy)
            }
            if p.openSells > 0 { return Refusal(.holdingPeriod, .openOpposite) }
        } else if p.openBuys > 0 {
            return Refusal(.holdingPeriod, .openOpposite)
        }
        return nil
    }

    /// Why a sell of `qty` may not be accepted, or nil.
    @inline(__always)
    func checkSell(position: Int32, qty: Int64) -> RejectReason? {
        guard position >= 0 else { return .insufficientShares }
        let p = register.positions[position]
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
        register.addOpenBuy(position)
    }

    /// A sell was accepted: freeze its shares and count it as open.
    @inline(__always)
    mutating func freezeSell(position: Int32, qty: Int64) {
        register.positions[position].frozenShares += qty
        register.positions[position].openSells += 1
    }

    /// A live sell grew (REPLACE) or shrank (an uncross's self-match): its frozen shares follow.
    @inline(__always)
    mutating func adjustSell(position: Int32, by qty: Int64) {
        register.positions[position].frozenShares += qty
    }

    /// A buy ended (filled or canceled): release what it still had frozen and its open value.
    @inline(__always)
    mutating func releaseBuy(account a: Int32, position: Int32, frozen: Int64, limit: Int64, leaves: Int64) {
        accounts[a].frozenCash -= frozen
        accounts[a].openBuyValue -= limit * leaves
        register.removeOpenBuy(position)
    }

    /// A sell ended: release the shares it still had frozen.
    @inline(__always)
    mutating func releaseSell(position: Int32, leaves: Int64) {
        register.positions[position].frozenShares -= leaves
        register.positions[position].openSells -= 1
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
        register.positions[sellerPosition].frozenShares -= qty
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
        register.addShares(buyerPosition, qty)
        if register.holders[instrument].holdingDays > 0 { register.lock(buyerPosition, shares: qty) }
        let roll = register.rollCount
        register.removeShares(sellerPosition, qty)
        register.positions[sellerPosition].lastSellRoll = roll
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
        register.roll()
        if new.year != old.year {
            for a in 0..<accounts.count { accounts[a].boughtThisYear = 0 }
        }
    }
}
