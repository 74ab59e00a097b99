#if canImport(Glibc)
import Glibc
#endif
import CuoheCore
import CuoheProtocol
import CuoheRuntime
import CuoheSys

/// What `cuohe serve` is asked for.
public struct ServeOptions: Sendable {
    public var configText: [UInt8]?
    public var configName: String?
    public var data = "cuohe-data"
    public var listen = SocketAddress(host: "127.0.0.1", port: 7700)
    public var metrics: SocketAddress? = nil
    public var durability = Durability.sync
    public var snapshotEvery = 1_000_000
    public var settings = GatewaySettings()
    public var limits = EngineLimits()

    public init() {}
}

/// Why `cuohe serve` could not start.
public enum ServeError: Error, CustomStringConvertible {
    case recovery(RecoveryError)
    case socket(SocketError)
    case journal(JournalError)
    case historyMismatch(broker: String, journal: Int64, engine: Int64)

    public var description: String {
        switch self {
        case .recovery(let e): "\(e)"
        case .socket(let e): "\(e)"
        case .journal(let e): "rebuilding the resume history: \(e)"
        case .historyMismatch(let b, let j, let e):
            "the journal tells broker \(b) \(j) messages but the engine counts \(e): refusing to serve"
        }
    }

    public var isConfiguration: Bool {
        if case .recovery(let e) = self { return e.isConfiguration }
        return false
    }
}

/// `cuohe serve`: recovers the data directory, rebuilds each broker's resume history and the
/// books' pictures from the journal, listens, then runs the pipeline with the gateway as its
/// source (this thread) and sink (egress), until SIGTERM or SIGINT.
public enum Server {
    /// Runs until a termination signal; `ready` gets the bound addresses before the first
    /// connection is taken (the banner, tests).
    public static func run(_ o: ServeOptions, log: @escaping @Sendable (String) -> Void,
                           fail: @escaping @Sendable (String) -> Never,
                           ready: (MarketConfig, SocketAddress, SocketAddress?) -> Void) throws(ServeError) {
        // Before any thread starts, so every thread inherits the mask and only the loop sees them.
        cuohe_ignore_sigpipe()
        let signals = cuohe_termination_signalfd()
        let engine: RecoveredEngine
        do {
            engine = try Recovery.open(data: o.data, configText: o.configText, configName: o.configName,
                                       options: RecoveryOptions(limits: o.limits, durability: o.durability),
                                       log: log)
        } catch {
            throw .recovery(error)
        }
        let config = engine.market.config
        let directory = engine.directory
        let journalDirectory = engine.journal.directory
        var history = ResumeHistory(brokers: directory.brokers.count, messagesMax: o.settings.historyMessagesMax,
                                    totalBytesMax: o.settings.historyBytesMax)
        var mirror = BookMirror(instruments: directory.symbols.count, ordersExpected: o.limits.ordersLiveMax,
                                auction: config.instruments.map { $0.phase == .auction })
        do throws(JournalError) {
            try HistoryRebuild.run(journalDirectory: journalDirectory, config: config, limits: o.limits,
                                   line: { b, seq, text in history.append(b, seq: seq, text) },
                                   event: { mirror.apply($0) })
        } catch {
            throw .journal(error)
        }
        for b in 0..<directory.brokers.count {
            let engineSeq = engine.replayer.matcher.lastSeq(broker: Int32(b))
            if history.lastSeq(Int32(b)) != engineSeq {
                throw .historyMismatch(broker: directory.brokers[b], journal: history.lastSeq(Int32(b)), engine: engineSeq)
            }
        }
        let listener: Socket, metricsListener: Socket?
        do throws(SocketError) {
            listener = try Socket.listen(o.listen)
            metricsListener = try o.metrics.map { a throws(SocketError) in try Socket.listen(a) }
        } catch {
            throw .socket(error)
        }
        let bound = SocketAddress(host: o.listen.host, port: listener.localPort)
        let metricsBound = o.metrics.map { SocketAddress(host: $0.host, port: metricsListener!.localPort) }
        var pictures: [BookPicture] = []
        mirror.pictures(into: &pictures)
        let outbox: Outbox
        let gateway: Gateway
        let pipelineMetrics = PipelineMetrics()
        do throws(SocketError) {
            outbox = Outbox(wakeup: try Wakeup(), bytesMax: o.settings.outboxBytesMax)
            let limits = o.limits
            gateway = try Gateway(settings: o.settings, directory: directory, listener: listener,
                                  metricsListener: metricsListener, signalFD: signals, outbox: outbox, history: history,
                                  books: pictures, boards: mirror.boards, pipelineMetrics: pipelineMetrics) { b, from, to in
                Server.regenerate(journalDirectory: journalDirectory, config: config, limits: limits, broker: b,
                                  from: from, to: to, log: log)
            }
        } catch {
            throw .socket(error)
        }
        ready(config, bound, metricsBound)
        let sink = GatewaySink(directory: directory, outbox: outbox, mirror: mirror)
        let outcome = Pipeline.run(engine: engine, snapshotEvery: o.snapshotEvery, recordsTrades: false, sink: sink,
                                   metrics: pipelineMetrics, wallClock: true, log: log, fail: fail) { ingress in
            gateway.run(ingress)
        }
        gateway.finish()
        log("stopped after journal record \(outcome.matcher.counters.commands): every session told BYE reason=SHUTDOWN, snapshot taken")
        if signals >= 0 { close(signals) }
    }

    /// Broker `b`'s messages `from...to`, told again from the journal (a resume older than the
    /// memory history).
    static func regenerate(journalDirectory: String, config: MarketConfig, limits: EngineLimits, broker b: Int32,
                           from: Int64, to: Int64, log: (String) -> Void) -> [UInt8] {
        var out: [UInt8] = []
        do throws(JournalError) {
            try HistoryRebuild.run(journalDirectory: journalDirectory, config: config, limits: limits,
                                   line: { broker, seq, text in
                                       if broker == b && seq >= from && seq <= to { out.append(contentsOf: text) }
                                   })
        } catch {
            log("resume from the journal failed: \(error)")
        }
        return out
    }
}

extension Gateway {
    /// After the pipeline has ended (every command read is durable and answered): hands every
    /// session what egress gave, then `BYE reason=SHUTDOWN`, and waits a bounded time for them
    /// to take it.
    func finish() {
        let now = Gateway.now()
        takeOutbox(now: now)
        for case let c? in slots where c.kind == .broker {
            pump(c, now: now)
            c.bye("SHUTDOWN", now: now)
            touch(c)
        }
        let deadline = now + settings.shutdownDrainNanos
        while slots.contains(where: { $0 != nil }) && Gateway.now() < deadline {
            writeTouched(now: Gateway.now())
            for case let c? in slots { touch(c) }
            poller.wait(timeoutMs: 10) { _, _ in }
        }
        for case let c? in slots { close(c) }
    }
}
