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
    public var counterBroker: Int32 = -1
    public var account: Int32 = -1
    public var counterAccount: Int32 = -1
    public var instrument: Int32 = -1
    public var date: CivilDate = CivilDate(daysSinceEpoch: 0)
    /// The broker's gap-free message sequence; 0 on messages that carry none.
    public var seq: Int64 = 0
    public var ts: Int64
    public var oid: Int64 = 0
    public var tid: Int64 = 0
    public var mdseq: Int64 = 0
    public var qty: Int64 = 0
    public var price: Int64 = 0
    public var leaves: Int64 = 0
    public var cum: Int64 = 0
    /// Fees on a `trade`, each rounded down to the fen: the exchange fee on each side and the
    /// seller's stamp duty (settlement records, not public market data).
    public var buyerFee: Int64 = 0
    public var sellerFee: Int64 = 0
    public var stampDuty: Int64 = 0
    public var cid: ClientOrderID = .none
    public var newCid: ClientOrderID = .none

    /// Always inlined: the matcher builds several events per command straight into the buffer,
    /// and a call per event costs more than the stores it makes.
    @inline(__always)
    public init(kind: EventKind, broker: Int32, ts: Int64) {
        self.kind = kind
        self.broker = broker
        self.ts = ts
    }

    public var rejectReason: RejectReason? { kind == .reject ? RejectReason(rawValue: reason) : nil }
    public var cancelReason: CancelReason? { kind == .canceled ? CancelReason(rawValue: reason) : nil }
}
