/// The books of record: settled cash, shares and the shareholder register, built from the
/// matcher's outbound events alone (`TRADE`, and the `OK` of `DEPOSIT`, `WITHDRAW` and `ROLL`).
///
/// The matcher keeps its own `Ledger` for the checks before a trade (it must know what an account
/// may spend now, and it freezes cash and shares). Settlement applies each trade again, delivery
/// versus payment, from the trade's own price, quantity, parties and fees, into a ledger of its
/// own that knows nothing of orders. At every day's close the two are reconciled: the settled
/// fields (cash, purchases this year, shares, locked shares, holders, fees, net deposits) must
/// agree to the 10^-4 unit, or the close reports a break.
///
/// Noncopyable: its ledger is a view over storage it owns, so a copy would alias the books.
public struct Settlement: ~Copyable, Sendable {
    /// Settled balances (frozen amounts, open buys and holder slots stay zero here: orders are
    /// the matcher's business).
    public private(set) var ledger: Ledger
    /// The trading date the books are on.
    public private(set) var date: CivilDate
    /// Trades applied since start (for counters and tests).
    public private(set) var tradesSettled: Int64 = 0
    /// Owns the ledger's storage.
    let arena: Arena

    /// Opening books from the configuration (the same starting cash and holdings the matcher has).
    public init(config: MarketConfig, limits: EngineLimits) {
        arena = Arena(prefaults: limits.prefaultsMemory)
        ledger = Ledger(config: config, limits: limits, arena: arena)
        date = config.tradingDate
    }

    /// Books continuing from a matcher restored from a snapshot: its settled fields, nothing of
    /// its orders. Valid because the books equal those fields after every command (the
    /// reconciliation every close checks and the tests check after every command).
    public init(config: MarketConfig, limits: EngineLimits, restoringFrom source: borrowing Ledger, date: CivilDate) {
        self.init(config: config, limits: limits)
        self.date = date
        ledger.copySettledFields(from: source)
    }

    /// What one event changed, for the stage that keeps the day's files.
    public enum Effect: Equatable, Sendable {
        case none
        /// A trade settled.
        case trade
        /// The day closed: the books are now on the event's date.
        case closed(day: CivilDate)
    }

    /// Applies one of the matcher's events. Events that move nothing settled are ignored.
    @discardableResult
    public mutating func apply(_ e: Event) -> Effect {
        switch e.kind {
        case .trade:
            ledger.recordTrade(buyer: e.account, seller: e.counterAccount, instrument: e.instrument, price: e.price,
                               qty: e.qty, fees: FillFees(buyerFee: e.buyerFee, sellerFee: e.sellerFee,
                                                          stampDuty: e.stampDuty))
            tradesSettled += 1
            return .trade
        case .ok:
            switch e.verb {
            case .deposit:
                ledger.recordCash(account: e.account, amount: e.price)
            case .withdraw:
                ledger.recordCash(account: e.account, amount: -e.price)
            case .roll:
                let closed = date
                ledger.roll(from: date, to: e.date)
                date = e.date
                return .closed(day: closed)
            default:
                break
            }
            return .none
        default:
            return .none
        }
    }
}

extension Ledger {
    /// Settles a trade from its own figures: the same movements as `settle`, with no order's
    /// frozen amounts to release.
    mutating func recordTrade(buyer: Int32, seller: Int32, instrument: Int32, price: Int64, qty: Int64, fees f: FillFees) {
        let buyerPosition = register.findOrCreatePosition(account: buyer, instrument: instrument)
        let sellerPosition = register.findOrCreatePosition(account: seller, instrument: instrument)
        precondition(buyerPosition >= 0 && sellerPosition >= 0, "settlement register full")
        precondition(register.ensureLot(position: buyerPosition, instrument: instrument), "settlement lock register.lots full")
        deliver(buyer: buyer, buyerPosition: buyerPosition, seller: seller, sellerPosition: sellerPosition,
                instrument: instrument, value: price * qty, qty: qty, fees: f)
    }

    /// Takes `source`'s settled fields into this freshly configured ledger: cash, purchases,
    /// shares, locked shares with their lots (in release order), fees, net deposits and the roll
    /// count. Frozen amounts, open buys and slots are left at zero.
    mutating func copySettledFields(from source: borrowing Ledger) {
        precondition(accounts.count == source.accounts.count && register.holders.count == source.register.holders.count,
                     "books and matcher configured differently")
        for a in 0..<accounts.count {
            accounts[a].cash = source.accounts[a].cash
            accounts[a].boughtThisYear = source.accounts[a].boughtThisYear
        }
        for p in 0..<register.positionCount { register.update(p) { $0.shares = 0 } }
        for p in 0..<Int(source.register.positionCount) {
            let s = source.register.positions[p]
            guard s.shares != 0 || s.lockedShares != 0 else { continue }
            let q = register.findOrCreatePosition(account: s.account, instrument: s.instrument)
            precondition(q >= 0, "settlement register full")
            register.update(q) { $0.shares = s.shares }
        }
        register.rollCount = source.register.rollCount
        for i in 0..<register.holders.count {
            var lot = source.register.holders[i].lotHead
            while lot >= 0 {
                let l = source.register.lots[lot]
                lot = l.next
                guard l.shares > 0 else { continue }
                let s = source.register.positions[l.position]
                let q = register.findPosition(account: s.account, instrument: s.instrument)
                precondition(q >= 0 && register.lotAvailable, "settlement lock register.lots full")
                let mine = register.appendLot(position: q, instrument: Int32(i), releaseRoll: l.releaseRoll, shares: l.shares)
                register.positions[q].lastLot = mine
                register.positions[q].lockedShares += l.shares
            }
        }
        feesCollected = source.feesCollected
        netDeposits = source.netDeposits
        marketCash = source.marketCash
    }

    /// A hash of the settled fields only, independent of where positions and lots sit in storage:
    /// equal for the matcher's ledger and the books of record when they agree.
    public func settledDigest() -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: Int64) {
            h = (h ^ UInt64(bitPattern: v)) &* 0x0000_0100_0000_01b3
            h ^= h >> 29
        }
        for a in 0..<accounts.count {
            mix(accounts[a].cash)
            mix(accounts[a].boughtThisYear)
        }
        // Positions in any storage order: a sum of per-position hashes.
        var positionsSum: UInt64 = 0
        for p in 0..<Int(register.positionCount) {
            let x = register.positions[p]
            guard x.shares != 0 || x.lockedShares != 0 else { continue }
            var k = UInt64(UInt32(bitPattern: x.account)) << 32 | UInt64(UInt32(bitPattern: x.instrument))
            k = (k ^ UInt64(bitPattern: x.shares) &* 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
            k = (k ^ UInt64(bitPattern: x.lockedShares) &* 0x94D0_49BB_1331_11EB) &* 0x9E37_79B9_7F4A_7C15
            positionsSum &+= k ^ (k >> 31)
        }
        mix(Int64(bitPattern: positionsSum))
        for i in 0..<register.holders.count { mix(register.holders[i].holders) }
        mix(feesCollected)
        mix(netDeposits)
        mix(Int64(register.rollCount))
        return h
    }

    /// The first settled field in which `self` and `other` differ, described; nil if they agree.
    public func settledDifference(_ other: borrowing Ledger) -> String? {
        guard accounts.count == other.accounts.count, register.holders.count == other.register.holders.count else { return "shapes differ" }
        for a in 0..<accounts.count {
            let x = accounts[a], y = other.accounts[a]
            if x.cash != y.cash { return "account \(a): cash \(x.cash) vs \(y.cash)" }
            if x.boughtThisYear != y.boughtThisYear {
                return "account \(a): boughtThisYear \(x.boughtThisYear) vs \(y.boughtThisYear)"
            }
        }
        func check(_ l: borrowing Ledger, _ r: borrowing Ledger, _ side: String) -> String? {
            for p in 0..<Int(l.register.positionCount) {
                let x = l.register.positions[p]
                guard x.shares != 0 || x.lockedShares != 0 else { continue }
                let q = r.register.findPosition(account: x.account, instrument: x.instrument)
                let y = q >= 0 ? r.register.positions[q] : Position.empty
                if x.shares != y.shares || x.lockedShares != y.lockedShares {
                    return "position (account \(x.account), instrument \(x.instrument)): shares \(x.shares)/locked "
                        + "\(x.lockedShares) vs \(y.shares)/\(y.lockedShares) (\(side))"
                }
            }
            return nil
        }
        if let d = check(self, other, "left") ?? check(other, self, "right") { return d }
        for i in 0..<register.holders.count where register.holders[i].holders != other.register.holders[i].holders {
            return "instrument \(i): register.holders \(register.holders[i].holders) vs \(other.register.holders[i].holders)"
        }
        if feesCollected != other.feesCollected { return "fees \(feesCollected) vs \(other.feesCollected)" }
        if netDeposits != other.netDeposits { return "net deposits \(netDeposits) vs \(other.netDeposits)" }
        if register.rollCount != other.register.rollCount { return "rolls \(register.rollCount) vs \(other.register.rollCount)" }
        return nil
    }
}
