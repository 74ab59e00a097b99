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
        self.qty = Command.absent
        self.price = Command.absent
        self.cid = .none
        self.newCid = .none
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
