#if canImport(Glibc)
import Glibc
#endif
import CuoheCore
import CuoheProtocol
import CuoheRuntime
import CuoheSys

/// The broker gateway: one thread, non-blocking sockets, epoll. It reads lines, answers what is
/// the session's (`LOGIN`, `PING`, `LOGOUT`, `SUB`, edge `REJ`s, throttling) itself, hands
/// commands to the pipeline's ingress, and writes each session's output once per wake-up. It
/// never waits on a broker: a slow one is disconnected, its messages kept for its resume.
final class Gateway {
    static let listenerToken: UInt64 = 0, metricsToken: UInt64 = 1, wakeupToken: UInt64 = 2, signalToken: UInt64 = 3
    static let firstConnectionToken: UInt64 = 16

    let settings: GatewaySettings
    let directory: Directory
    let parser: LineParser
    let formatter: LineFormatter
    let poller: Poller
    let listener: Socket
    let metricsListener: Socket?
    let signalFD: Int32
    let outbox: Outbox
    let rebuild: (Int32, Int64, Int64) -> [UInt8]
    var history: ResumeHistory
    var metrics: GatewayMetrics
    let pipelineMetrics: PipelineMetrics
    /// Connections by slot (token − first token, low 32 bits); a generation in the high bits
    /// keeps a late event for a closed slot from reaching its successor.
    var slots: [Connection?] = []
    var freeSlots: [Int] = []
    var generation: UInt64 = 0
    var sessions: [Connection?]
    var buckets: [TokenBucket?]
    var pendingLogins = 0
    var books: [BookPicture?]
    /// Each instrument's live quotes, kept from the changes egress hands over.
    var boards: [QuoteBoard]
    /// Each instrument's subscribed sessions, so market data reaches only them.
    var subscribers: [[Connection]]
    var touched: [Connection] = []
    /// Sessions still being told their history or a quote board: touched every round until done.
    var catchingUp: [Connection] = []
    var stopping = false
    /// The pipeline's ingress while the loop runs (nil during shutdown).
    var ingress: Pipeline.Ingress?
    var inbox = OutboxBatch()
    var readBuffer = [UInt8](repeating: 0, count: 64 << 10)

    init(settings: GatewaySettings, directory: Directory, listener: Socket, metricsListener: Socket?,
         signalFD: Int32, outbox: Outbox, history: ResumeHistory, books pictures: [BookPicture], boards: [QuoteBoard],
         pipelineMetrics: PipelineMetrics,
         rebuild: @escaping (Int32, Int64, Int64) -> [UInt8]) throws(SocketError) {
        self.settings = settings
        self.directory = directory
        parser = LineParser(directory: directory)
        formatter = LineFormatter(directory: directory)
        poller = try Poller()
        self.listener = listener
        self.metricsListener = metricsListener
        self.signalFD = signalFD
        self.outbox = outbox
        self.history = history
        self.pipelineMetrics = pipelineMetrics
        self.rebuild = rebuild
        metrics = GatewayMetrics()
        sessions = Array(repeating: nil, count: directory.brokers.count)
        buckets = Array(repeating: nil, count: directory.brokers.count)
        books = Array(repeating: nil, count: directory.symbols.count)
        for p in pictures { books[Int(p.instrument)] = p }
        self.boards = boards
        subscribers = Array(repeating: [], count: directory.symbols.count)
        poller.add(self.listener.fd, token: Gateway.listenerToken)
        if let m = self.metricsListener { poller.add(m.fd, token: Gateway.metricsToken) }
        poller.add(outbox.wakeup.fd, token: Gateway.wakeupToken)
        if signalFD >= 0 { poller.add(signalFD, token: Gateway.signalToken) }
    }

    static func now() -> Int64 { SequencingClock.wallNanos() }

    /// The loop, until SIGTERM or SIGINT: stops accepting and returns, with every line read
    /// handed to `ingress`.
    func run(_ ingress: Pipeline.Ingress) {
        self.ingress = ingress
        defer { self.ingress = nil }
        var lastTimers = Gateway.now()
        while !stopping {
            poller.wait(timeoutMs: waitMs(ingress)) { token, flags in self.ready(token, flags, ingress) }
            ingress.flush()
            let now = Gateway.now()
            ingress.scheduleDue(now: now)
            takeOutbox(now: now)
            if now - lastTimers >= 50_000_000 {
                timers(now: now)
                lastTimers = now
            }
            writeTouched(now: now)
        }
        poller.remove(listener.fd)
        if let m = metricsListener { poller.remove(m.fd) }
    }

    /// How long the loop may wait: its timer round (50 ms), or less when a schedule entry falls
    /// due sooner, so a scheduled PHASE is issued within a millisecond of its time.
    func waitMs(_ ingress: Pipeline.Ingress) -> Int32 {
        let due = ingress.nextScheduled
        if due == Int64.max { return 50 }
        let left = (due - Gateway.now() + 999_999) / 1_000_000
        return Int32(max(0, min(50, left)))
    }

    func ready(_ token: UInt64, _ flags: UInt32, _ ingress: Pipeline.Ingress) {
        switch token {
        case Gateway.listenerToken: acceptAll(kind: .broker)
        case Gateway.metricsToken: acceptAll(kind: .metrics)
        case Gateway.wakeupToken: outbox.wakeup.drain()
        case Gateway.signalToken: stopping = true
        default:
            guard let c = connection(token) else { return }
            let now = Gateway.now()
            if flags & UInt32(CUOHE_READABLE) != 0 || flags & UInt32(CUOHE_HANGUP) != 0 {
                if c.closingSince == nil { readAll(c, now: now, ingress) }
            }
            if flags & UInt32(CUOHE_WRITABLE) != 0 { touch(c) }
        }
    }

    func connection(_ token: UInt64) -> Connection? {
        let slot = Gateway.slot(token)
        guard slot >= 0 && slot < slots.count, let c = slots[slot], c.token == token else { return nil }
        return c
    }

    static func slot(_ token: UInt64) -> Int { Int(truncatingIfNeeded: (token & 0xffff_ffff) &- firstConnectionToken) }

    func touch(_ c: Connection) { touched.append(c) }
}

// MARK: - Connections

extension Gateway {
    func acceptAll(kind: Connection.Kind) {
        while let socket = (kind == .broker ? listener : metricsListener!).accept() {
            let open = slots.count - freeSlots.count
            if kind == .broker && (open - metrics.metricsConnections >= settings.connectionsMax
                                   || pendingLogins >= settings.pendingLoginsMax) {
                metrics.connectionsRefused += 1
                continue  // dropping the socket closes it: the refusal
            }
            if kind == .metrics && metrics.metricsConnections >= settings.metricsConnectionsMax { continue }
            let slot = freeSlots.popLast() ?? { slots.append(nil); return slots.count - 1 }()
            generation &+= 1
            let token = (generation << 32) | (UInt64(slot) + Gateway.firstConnectionToken)
            let c = Connection(socket: socket, kind: kind, token: token, now: Gateway.now())
            slots[slot] = c
            poller.add(c.socket.fd, token: token)
            if kind == .broker {
                pendingLogins += 1
                metrics.connectionsAccepted += 1
            } else {
                metrics.metricsConnections += 1
            }
        }
    }

    /// Closes `c` now: its socket, its slot, its session.
    func close(_ c: Connection) {
        let slot = Gateway.slot(c.token)
        guard slot >= 0 && slot < slots.count, slots[slot] === c else { return }
        poller.remove(c.socket.fd)
        slots[slot] = nil
        freeSlots.append(slot)
        for i in c.subscriptions.keys { subscribers[Int(i)].removeAll { $0 === c } }
        if c.kind == .metrics {
            metrics.metricsConnections -= 1
            return
        }
        if c.isLoggedIn {
            if sessions[Int(c.broker)] === c {
                sessions[Int(c.broker)] = nil
                // The session ended other than by LOGOUT (a replaced session is not the
                // current one; at shutdown there is no ingress): its DAY orders go.
                if c.closeReason != "LOGOUT" && directory.brokerCancelsOnDisconnect[Int(c.broker)], let ingress {
                    ingress.send(.command(Command(kind: .cancelOnDisconnect, broker: c.broker, ts: 0), stamp: nil))
                    metrics.cancelsOnDisconnect += 1
                }
            }
        } else {
            pendingLogins -= 1
        }
        metrics.disconnected(c.closeReason.isEmpty ? "PEER_CLOSED" : c.closeReason)
    }

    /// Reads what is waiting (up to the per-wake-up bound) and handles each whole line.
    func readAll(_ c: Connection, now: Int64, _ ingress: Pipeline.Ingress) {
        var budget = settings.readBytesPerWake
        while budget > 0 && c.closingSince == nil {
            let n = readBuffer.withUnsafeMutableBytes { c.socket.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<min($0.count, budget)])) }
            if n == -1 { return }
            if n <= 0 {
                c.end(n == 0 ? "PEER_CLOSED" : "READ_ERROR", now: now)
                c.out.removeAll()
                c.sent = 0
                touch(c)
                return
            }
            budget -= n
            c.lastIn = now
            metrics.bytesIn += UInt64(n)
            if c.kind == .metrics {
                metricsRequest(c, n: n, now: now)
                return
            }
            readBuffer.withUnsafeBytes { split(c, UnsafeRawBufferPointer(rebasing: $0[..<n]), now: now, ingress) }
            touch(c)
        }
    }

    /// Cuts `bytes` into lines: a line is at most `LineLimits.lineBytesMax` bytes with its `\n`;
    /// a longer one is answered `LINE_TOO_LONG` once and the rest of it dropped.
    func split(_ c: Connection, _ bytes: UnsafeRawBufferPointer, now: Int64, _ ingress: Pipeline.Ingress) {
        let bodyMax = LineLimits.lineBytesMax - 1
        var start = 0
        while start < bytes.count && c.closingSince == nil {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
            let nl = memchr(rest.baseAddress!, 0x0a, rest.count).map { $0 - UnsafeMutableRawPointer(mutating: rest.baseAddress!) }
            let end = nl ?? rest.count
            if c.discarding {
                if nl != nil { c.discarding = false }
            } else if c.partial.count + end > bodyMax {
                if c.isLoggedIn {
                    inOrder(c, .reject(.lineTooLong, cid: .none, detail: nil), ingress)
                } else {
                    reject(c, .lineTooLong, cid: .none, detail: nil, now: now)
                }
                c.partial.removeAll(keepingCapacity: true)
                c.discarding = nl == nil
            } else if nl == nil {
                c.partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[..<end]))
            } else if c.partial.isEmpty {
                line(c, UnsafeRawBufferPointer(rebasing: rest[..<end]), now: now, ingress)
            } else {
                c.partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[..<end]))
                let whole = c.partial
                c.partial.removeAll(keepingCapacity: true)
                whole.withUnsafeBytes { line(c, $0, now: now, ingress) }
            }
            start += end + (nl == nil ? 0 : 1)
        }
    }
}
