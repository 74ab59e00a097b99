/// Every bound the gateway keeps, each with its reason. A bound that is reached gets a clear
/// answer (`BYE reason=…` or a refused connection), never unbounded memory.
public struct GatewaySettings: Sendable {
    /// Open broker connections at most, logged in or not. Each costs a descriptor and two bounded
    /// buffers; past it a new connection is closed at once (`gateway_connections_refused_total`).
    public var connectionsMax = 4_096
    /// Connections that have not logged in yet, at most: a flood of idle sockets cannot crowd
    /// out the brokers. Past it a new connection is closed at once.
    public var pendingLoginsMax = 1_024
    /// How long a connection may stay without a successful `LOGIN` (`BYE reason=TIMEOUT`).
    public var loginTimeoutNanos: Int64 = 10_000_000_000
    /// Unsent output bytes per session before it is a slow consumer (`BYE reason=SLOW_CONSUMER`).
    /// Its order messages stay in the resume history, so nothing is lost: it resumes later.
    public var outputBytesMax = 4 << 20
    /// Bytes read from one connection per wake-up, so one busy broker cannot starve the others.
    public var readBytesPerWake = 64 << 10
    /// Order messages kept in memory per broker for `LOGIN resume=N`; older ones are regenerated
    /// from the journal (slower, but nothing a broker was sent is ever missing).
    public var historyMessagesMax = 1 << 20
    /// Memory for all brokers' histories together (shared out evenly, at least 1 MiB each).
    public var historyBytesMax = 1 << 30
    /// Messages a second for a broker whose configuration sets no `maxMessagesPerSecond`:
    /// above what one gateway thread parses, so it only stops a runaway client.
    public var messagesPerSecondDefault: Int64 = 1_000_000
    /// Instruments one session may subscribe to at once (each subscription costs a `BOOK` line
    /// per change): past it `REJ reason=MALFORMED detail=TOO_MANY_SUBSCRIPTIONS`.
    public var subscriptionsMax = 64
    /// Bytes of formatted output the egress stage may hand the gateway thread before it waits:
    /// the whole pipeline slows rather than grow memory when the gateway thread falls behind.
    public var outboxBytesMax = 64 << 20
    /// Metrics scrapes open at once, and the bytes of one request.
    public var metricsConnectionsMax = 16
    public var metricsRequestBytesMax = 8 << 10
    /// How long shutdown waits for sessions to take their last lines (`BYE reason=SHUTDOWN`).
    public var shutdownDrainNanos: Int64 = 2_000_000_000

    public init() {}
}
