/// What an event tells.
public enum EventKind: UInt8, Sendable, BitwiseCopyable {
    /// `ACK`: an order was accepted.
    case ack = 1
    /// `REJ`: a command was refused and nothing changed.
    case reject
    /// `FILL`: one side of a trade, to that order's broker.
    case fill
    /// `CANCELED`: an order ended without filling completely.
    case canceled
    /// `REPLACED`: an order's quantity or price changed.
    case replaced
    /// `STATUS`: the state of an order, on request.
    case status
    /// `TRADE`: public market data (and the settlement record) for one trade.
    case trade
    /// `OK`: an operator verb took effect.
    case ok
    /// `STATS`: the engine's counters, for an operator.
    case stats
    /// An instrument in `AUCTION` whose indicative uncross changed: `price` (0 when nothing
    /// would trade) and `qty` are the `iop`/`iov` its `BOOK` carries. Market data for the
    /// gateway's pictures (replay prints it as `* IOP`); no broker is sent a line of its own.
    case indicative
    /// The quote board changed: quote `oid` of `broker` on `instrument` (`side`, `price`) now has
    /// `qty` open (0: gone). Public market data with its `mdseq`, like `trade`.
    case quote
}

/// A one-word detail for a `REJ`, where the reason alone would leave a broker guessing.
public enum RejectDetail: UInt8, Sendable, BitwiseCopyable {
    case none = 0
    /// A limit order without `px`.
    case missingPrice
    /// A market order with `px`.
    case marketWithPrice
    /// The cid was replaced; the order now answers to its `newcid`.
    case replaced
    /// A `ROLL` to a date not after the current one.
    case dateNotLater
    /// The engine's order or cid storage is full.
    case capacity
    /// The command's cid was rejected earlier and names no order.
    case rejectedOrder
    /// Price is zero.
    case zero
    /// A `DEPOSIT`/`WITHDRAW` amount that is not a positive decimal.
    case badAmount
    /// A `DEPOSIT` that would take the account past the largest balance the engine keeps.
    case cashLimit
    /// A `MARKET`, `IOC` or `FOK` order while the instrument is in its call auction.
    case auction
    /// A buy within `rebuyDays` of the account's last sell of the instrument (the two-way rule).
    case rebuy
    /// A buy while the account has a sell of the instrument open, or a sell while it has a buy
    /// open, where `rebuyDays` is set.
    case openOpposite
    /// An order-book verb, or `PHASE AUCTION`, on an instrument traded by negotiated transfer only.
    case negotiatedOnly
    /// An `ACCEPT` for more than the quote has open.
    case aboveQuote
    /// A `CROSS` whose `ref` the broker already has waiting with another counterparty or terms.
    case refInUse
    /// A negotiated transfer between an account and itself (a wash trade).
    case selfTrade
    /// A `CROSS` whose `cp` names no configured broker.
    case unknownBroker
}

/// A fixed-size outbound event: the only output of the matching core. The edge formats it as a
/// protocol line; settlement consumes the `trade` events.
///
/// Field use by kind: `ack` (oid, account, instrument, side, qty, price, tif, type; verb = `quote`, `accept`
/// or `cross` for a negotiated verb's, `new` otherwise);
/// `reject` (reason, detail; verb for an operator verb's); `fill` (oid, tid, price, qty, leaves, cum, liquidity, side);
/// `canceled` (oid, reason); `replaced` (oid, newCid, qty, price, leaves; reason = `CancelReason.selfTrade`
/// when an uncross reduced the order against its own account's, 0 for a broker's `REPLACE`); `status` (oid, state,
/// qty, price, leaves, cum); `trade` (instrument, mdseq, tid, price, qty, account = buyer,
/// counterAccount = seller, broker = buyer's broker, counterBroker = seller's broker, side = the taker's side,
/// buyerFee, sellerFee, stampDuty, tradeKind);
/// `indicative` (instrument, price = iop or 0, qty = iov; broker -1);
/// `quote` (instrument, mdseq, oid, side, qty = open quantity or 0, price; broker = the quote's broker);
/// `ok` (verb, instrument, phase, date; for DEPOSIT/WITHDRAW account, price = amount, qty = new cash); `stats` (counters in qty = commands, oid = orders accepted,
/// tid = trades, leaves = resting orders, cum = rejects).
///
/// Compact: 128 bytes, two cache lines, where one record with a field for everything took 200.
/// No kind uses every field, so the fields only some kinds carry share storage with fields those
/// kinds never use, as in a C union with the kind as its tag:
/// - `newCid` (only `replaced`) lies over `cum`, `tid`, `mdseq`, `account` and `instrument`;
/// - `buyerFee`, `sellerFee`, `stampDuty`, `counterAccount` and `counterBroker` (only `trade`) lie
///   over `cid`;
/// - `date` (only `ok`) lies over `tid`.
/// So a field outside its kind's list reads whatever its storage holds: read only the fields the
/// kind lists. Setting an overlaid field changes the fields beneath it.
public struct Event: Sendable, BitwiseCopyable {
    public var kind: EventKind
    public var side: Side = .buy
    public var tif: TimeInForce = .day
    public var type: OrderType = .limit
    public var liquidity: Liquidity = .taker
    public var state: OrderState = .new
    public var phase: TradingPhase = .open
    public var verb: CommandKind = .new
    public var tradeKind: TradeKind = .book
    /// A `RejectReason` or `CancelReason` raw value, by kind.
    public var reason: UInt8 = 0
    public var detail: RejectDetail = .none
    /// The recipient broker (for `trade`, the buyer's broker).
    public var broker: Int32
    public var ts: Int64
    /// The broker's gap-free message sequence; 0 on messages that carry none.
    public var seq: Int64 = 0
    public var oid: Int64 = 0
    public var qty: Int64 = 0
    public var price: Int64 = 0
    public var leaves: Int64 = 0
    public var cum: Int64 = 0
    public var tid: Int64 = 0
    public var mdseq: Int64 = 0
    public var account: Int32 = -1
    public var instrument: Int32 = -1
    public var cid: ClientOrderID = .none

    /// Always inlined: the matcher builds several events per command straight into the buffer,
    /// and a call per event costs more than the stores it makes.
    @inline(__always)
    public init(kind: EventKind, broker: Int32, ts: Int64) {
        self.kind = kind
        self.broker = broker
        self.ts = ts
    }

    /// `replaced`: the order's cid from now on (over `cum`, `tid`, `mdseq`, `account` and `instrument`).
    public var newCid: ClientOrderID {
        @inline(__always) get {
            ClientOrderID(w0: UInt64(bitPattern: cum), w1: UInt64(bitPattern: tid), w2: UInt64(bitPattern: mdseq),
                          w3: UInt64(UInt32(bitPattern: account)) | UInt64(UInt32(bitPattern: instrument)) << 32)
        }
        @inline(__always) set {
            cum = Int64(bitPattern: newValue.w0)
            tid = Int64(bitPattern: newValue.w1)
            mdseq = Int64(bitPattern: newValue.w2)
            account = Int32(truncatingIfNeeded: newValue.w3)
            instrument = Int32(truncatingIfNeeded: newValue.w3 >> 32)
        }
    }

    /// `trade`: the exchange fee on the buyer, rounded down to the fen (over `cid`). The fees are
    /// settlement records, not public market data.
    public var buyerFee: Int64 {
        @inline(__always) get { Int64(bitPattern: cid.w0) }
        @inline(__always) set { cid.w0 = UInt64(bitPattern: newValue) }
    }

    /// `trade`: the exchange fee on the seller (over `cid`).
    public var sellerFee: Int64 {
        @inline(__always) get { Int64(bitPattern: cid.w1) }
        @inline(__always) set { cid.w1 = UInt64(bitPattern: newValue) }
    }

    /// `trade`: the seller's stamp duty (over `cid`).
    public var stampDuty: Int64 {
        @inline(__always) get { Int64(bitPattern: cid.w2) }
        @inline(__always) set { cid.w2 = UInt64(bitPattern: newValue) }
    }

    /// `trade`: the seller (over `cid`).
    public var counterAccount: Int32 {
        @inline(__always) get { Int32(truncatingIfNeeded: cid.w3) }
        @inline(__always) set { cid.w3 = cid.w3 & 0xFFFF_FFFF_0000_0000 | UInt64(UInt32(bitPattern: newValue)) }
    }

    /// `trade`: the seller's broker (over `cid`).
    public var counterBroker: Int32 {
        @inline(__always) get { Int32(truncatingIfNeeded: cid.w3 >> 32) }
        @inline(__always) set { cid.w3 = cid.w3 & 0xFFFF_FFFF | UInt64(UInt32(bitPattern: newValue)) << 32 }
    }

    /// `ok`: the trading date a `ROLL` moved to (over `tid`).
    public var date: CivilDate {
        @inline(__always) get { CivilDate(daysSinceEpoch: Int32(truncatingIfNeeded: tid)) }
        @inline(__always) set { tid = Int64(newValue.daysSinceEpoch) }
    }

    public var rejectReason: RejectReason? { kind == .reject ? RejectReason(rawValue: reason) : nil }
    public var cancelReason: CancelReason? { kind == .canceled ? CancelReason(rawValue: reason) : nil }
}
