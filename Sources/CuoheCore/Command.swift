/// What a command asks the matcher to do.
public enum CommandKind: UInt8, Sendable, BitwiseCopyable {
    case new = 1
    case cancel
    case replace
    case status
    case halt
    case resume
    case phase
    case roll
    case stats
    case deposit
    case withdraw
    /// Journaled by the gateway, never sent by a broker: the broker's session ended other than by
    /// `LOGOUT` and its configuration says `cancelOnDisconnect`, so its open `DAY` orders are
    /// canceled (`CANCELED reason=ADMIN`). Through the journal, a replay does the same.
    case cancelOnDisconnect
    /// Negotiated transfer: a firm public quote (`QUOTE`).
    case quote
    /// Negotiated transfer: takes all or part of a quote (`ACCEPT`, the quote named by `quoteOid`).
    case accept
    /// Negotiated transfer: one side of a transfer agreed beforehand (`CROSS`, `ref` and
    /// `counterBroker`).
    case cross

    /// The three negotiated-transfer verbs.
    @inlinable public var isNegotiated: Bool { self == .quote || self == .accept || self == .cross }
}

/// A sequenced, fixed-size command: the only input of the matching core.
///
/// The edge (gateway or replay) turns a text line into a `Command`, resolving names to integer ids
/// (`-1` where a name is not configured: the core answers `UNKNOWN_SYMBOL` / `UNKNOWN_ACCOUNT` with
/// a `seq`, as the protocol requires). The sequencer supplies `ts`, so the core needs no clock.
public struct Command: Sendable, BitwiseCopyable {
    /// A quantity or price field the line did not carry.
    public static let absent: Int64 = -1
    /// The broker of a `PHASE` the sequencer issues from the configuration's schedule: the
    /// market itself. Its `OK` goes to every operator broker.
    public static let scheduleBroker: Int32 = -1
    /// A quantity or price field the line carried but that is not a valid number.
    public static let invalid: Int64 = -2

    public var kind: CommandKind
    public var side: Side
    public var type: OrderType
    public var tif: TimeInForce
    public var phase: TradingPhase
    /// The sending broker's id.
    public var broker: Int32
    /// The account's id, or -1 if the name is not configured.
    public var account: Int32
    /// The instrument's id, or -1 if the symbol is not configured.
    public var instrument: Int32
    /// The date a `ROLL` moves to.
    public var date: CivilDate
    /// Nanoseconds since the epoch, assigned when the command was sequenced.
    public var ts: Int64
    /// Shares; `absent` or `invalid` as above.
    public var qty: Int64
    /// 10^-4 CNY; `absent` or `invalid` as above. For `DEPOSIT` and `WITHDRAW`, the amount.
    public var price: Int64
    public var cid: ClientOrderID
    /// A `REPLACE`'s new cid.
    public var newCid: ClientOrderID

    // The negotiated verbs' own fields live in the storage of fields they do not use, so a command
    // stays 112 bytes and the journal's record keeps its layout (and old journals replay).

    /// A `CROSS`'s agreement number (`ref`: 1 to 16 of `[A-Za-z0-9]`), packed like a cid. Held in
    /// `newCid`, which only a `REPLACE` uses.
    @inlinable public var ref: ClientOrderID {
        get { newCid }
        set { newCid = newValue }
    }

    /// A `CROSS`'s counterparty broker (`cp`), -1 if the name is not configured. Held in `date`,
    /// which only a `ROLL` uses.
    @inlinable public var counterBroker: Int32 {
        get { date.daysSinceEpoch }
        set { date = CivilDate(daysSinceEpoch: newValue) }
    }

    /// An `ACCEPT`'s quote (the quote's `oid`). Held in `price`: an `ACCEPT` trades at the quote's.
    @inlinable public var quoteOid: Int64 {
        get { price }
        set { price = newValue }
    }

    /// Inlinable, so the edge's parser builds a command where it lies rather than through a call
    /// (constants written out: another module reads a static `let` through an accessor).
    @inlinable
    public init(kind: CommandKind, broker: Int32, ts: Int64) {
        self.kind = kind
        self.side = .buy
        self.type = .limit
        self.tif = .day
        self.phase = .open
        self.broker = broker
        self.account = -1
        self.instrument = -1
        self.date = CivilDate(daysSinceEpoch: 0)
        self.ts = ts
        self.qty = -1  // Command.absent
        self.price = -1  // Command.absent
        self.cid = ClientOrderID(w0: 0, w1: 0, w2: 0, w3: 0)
        self.newCid = ClientOrderID(w0: 0, w1: 0, w2: 0, w3: 0)
    }

    /// A `NEW` order.
    public static func newOrder(broker: Int32, ts: Int64, cid: ClientOrderID, account: Int32, instrument: Int32,
                                side: Side, qty: Int64, price: Int64, type: OrderType = .limit,
                                tif: TimeInForce = .day) -> Command {
        var c = Command(kind: .new, broker: broker, ts: ts)
        c.cid = cid
        c.account = account
        c.instrument = instrument
        c.side = side
        c.qty = qty
        c.price = price
        c.type = type
        c.tif = tif
        return c
    }

    /// A `QUOTE`: a firm public quote, resting on the instrument's quote board.
    public static func quote(broker: Int32, ts: Int64, cid: ClientOrderID, account: Int32, instrument: Int32,
                             side: Side, qty: Int64, price: Int64) -> Command {
        var c = newOrder(broker: broker, ts: ts, cid: cid, account: account, instrument: instrument, side: side,
                         qty: qty, price: price)
        c.kind = .quote
        return c
    }

    /// An `ACCEPT` of `qty` shares of quote `quoteOid`.
    public static func accept(broker: Int32, ts: Int64, cid: ClientOrderID, account: Int32, quoteOid: Int64,
                              qty: Int64) -> Command {
        var c = Command(kind: .accept, broker: broker, ts: ts)
        c.cid = cid
        c.account = account
        c.qty = qty
        c.quoteOid = quoteOid
        return c
    }

    /// A `CROSS`: one side of transfer `ref` agreed with broker `counterBroker`.
    public static func cross(broker: Int32, ts: Int64, cid: ClientOrderID, account: Int32, instrument: Int32,
                             side: Side, qty: Int64, price: Int64, ref: ClientOrderID, counterBroker: Int32) -> Command {
        var c = newOrder(broker: broker, ts: ts, cid: cid, account: account, instrument: instrument, side: side,
                         qty: qty, price: price)
        c.kind = .cross
        c.ref = ref
        c.counterBroker = counterBroker
        return c
    }

    public static func cancel(broker: Int32, ts: Int64, cid: ClientOrderID) -> Command {
        var c = Command(kind: .cancel, broker: broker, ts: ts)
        c.cid = cid
        return c
    }

    public static func replace(broker: Int32, ts: Int64, cid: ClientOrderID, newCid: ClientOrderID,
                               qty: Int64 = Command.absent, price: Int64 = Command.absent) -> Command {
        var c = Command(kind: .replace, broker: broker, ts: ts)
        c.cid = cid
        c.newCid = newCid
        c.qty = qty
        c.price = price
        return c
    }

    public static func status(broker: Int32, ts: Int64, cid: ClientOrderID) -> Command {
        var c = Command(kind: .status, broker: broker, ts: ts)
        c.cid = cid
        return c
    }
}
