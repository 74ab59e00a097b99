import CuoheCore
import CuoheProtocol
import CuoheRuntime

/// The gateway thread's own counters. That thread alone writes them and alone serves
/// `/metrics`, so they are plain integers: no atomics, no locks.
struct GatewayMetrics {
    var connectionsAccepted: UInt64 = 0
    var connectionsRefused: UInt64 = 0
    var metricsConnections = 0
    var logins: UInt64 = 0
    var loginsRefused: UInt64 = 0
    var linesIn: UInt64 = 0
    var bytesIn: UInt64 = 0
    var bytesOut: UInt64 = 0
    var trades: UInt64 = 0
    /// Quote board changes published (each `QUOTE` line once, however many subscribers get it).
    var quoteUpdates: UInt64 = 0
    var slowConsumers: UInt64 = 0
    var timeouts: UInt64 = 0
    var resumesFromJournal: UInt64 = 0
    var scrapes: UInt64 = 0
    var cancelsOnDisconnect: UInt64 = 0
    /// By `CommandKind` raw value.
    var commands: [Int: UInt64] = [:]
    /// By `RejectReason` raw value: the edge's and the core's.
    var rejects = [UInt64](repeating: 0, count: 64)
    var disconnects: [String: UInt64] = [:]

    mutating func rejected(_ reason: RejectReason) { rejects[Int(reason.rawValue)] += 1 }
    mutating func disconnected(_ reason: String) { disconnects[reason, default: 0] += 1 }
}

/// The Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then samples.
struct Exposition {
    private(set) var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: String) {
        text += name
        if !labels.isEmpty { text += "{" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}" }
        text += " \(value)\n"
    }

    mutating func counter(_ name: String, _ help: String, _ value: UInt64) {
        family(name, "counter", help)
        sample(name, [], "\(value)")
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Int) {
        family(name, "gauge", help)
        sample(name, [], "\(value)")
    }

    /// A power-of-two histogram: bucket k counts values in [2^k, 2^(k+1)), so its upper edge
    /// `le` is 2^(k+1) (times `scale`, e.g. 1e-9 for nanoseconds as seconds).
    mutating func histogram(_ name: String, _ help: String, _ h: DurationHistogram, scale: Double) {
        family(name, "histogram", help)
        var cumulative: UInt64 = 0
        let counts = h.counts()
        for (k, n) in counts.enumerated() {
            cumulative += n
            sample(name + "_bucket", [("le", "\(Double(UInt64(1) << (k + 1)) * scale)")], "\(cumulative)")
        }
        sample(name + "_bucket", [("le", "+Inf")], "\(cumulative)")
        sample(name + "_sum", [], "\(Double(h.sum) * scale)")
        sample(name + "_count", [], "\(cumulative)")
    }
}

extension Gateway {
    /// The `/metrics` page: the gateway's counters and the pipeline stages' own.
    func exposition() -> String {
        var e = Exposition()
        let m = metrics
        let open = slots.count - freeSlots.count - m.metricsConnections
        e.gauge("cuohe_sessions_connected", "Broker sessions logged in.", sessions.compactMap { $0 }.count)
        e.gauge("cuohe_connections_open", "Broker connections open, logged in or not.", open)
        e.counter("cuohe_connections_accepted_total", "Broker connections accepted.", m.connectionsAccepted)
        e.counter("cuohe_connections_refused_total", "Connections closed at once: past the connection or pending-login bound.", m.connectionsRefused)
        e.counter("cuohe_logins_total", "Successful LOGINs.", m.logins)
        e.counter("cuohe_logins_refused_total", "LOGINs refused (AUTH, SEQ_AHEAD).", m.loginsRefused)
        e.counter("cuohe_lines_in_total", "Protocol lines read from brokers (blank lines and comments not counted).", m.linesIn)
        e.counter("cuohe_bytes_in_total", "Bytes read from broker and metrics connections.", m.bytesIn)
        e.counter("cuohe_bytes_out_total", "Bytes written to broker connections.", m.bytesOut)
        e.family("cuohe_commands_total", "counter", "Commands handed to the engine, by verb.")
        // Every verb a session may send (CANCEL_ON_DISCONNECT is the gateway's own, counted apart).
        let verbs = (1...11).compactMap { CommandKind(rawValue: UInt8($0)) } + [.quote, .accept, .cross]
        for kind in verbs {
            e.sample("cuohe_commands_total", [("verb", Spelling.verb(kind))], "\(m.commands[Int(kind.rawValue)] ?? 0)")
        }
        e.family("cuohe_rejects_total", "counter", "REJ lines sent, by reason (the gateway's and the engine's).")
        for reason in RejectReason.allCases {
            e.sample("cuohe_rejects_total", [("reason", Spelling.reason(reason))], "\(m.rejects[Int(reason.rawValue)])")
        }
        e.counter("cuohe_trades_total", "Trades, as published.", m.trades)
        e.counter("cuohe_quote_updates_total", "Quote board changes (QUOTE lines), as published.", m.quoteUpdates)
        e.counter("cuohe_slow_consumer_disconnects_total", "Sessions ended with BYE reason=SLOW_CONSUMER.", m.slowConsumers)
        e.counter("cuohe_timeout_disconnects_total", "Sessions ended with BYE reason=TIMEOUT.", m.timeouts)
        e.counter("cuohe_resumes_from_journal_total", "Resumes older than the memory history, told again from the journal.", m.resumesFromJournal)
        e.counter("cuohe_cancels_on_disconnect_total", "Sessions whose end canceled their broker's DAY orders (cancelOnDisconnect).", m.cancelsOnDisconnect)
        e.family("cuohe_disconnects_total", "counter", "Connections closed, by reason.")
        for (reason, n) in m.disconnects.sorted(by: { $0.key < $1.key }) {
            e.sample("cuohe_disconnects_total", [("reason", reason)], "\(n)")
        }
        pipeline(&e)
        return e.text
    }

    func pipeline(_ e: inout Exposition) {
        let p = pipelineMetrics
        e.counter("cuohe_commands_sequenced_total", "Commands stamped and journaled.", p.commandsSequenced.current)
        e.counter("cuohe_scheduled_phases_total", "PHASE commands the trading schedule issued.", p.scheduledPhases.current)
        e.counter("cuohe_journal_batches_total", "Journal group commits (one write and one sync each).", p.batches.current)
        e.counter("cuohe_journal_bytes_total", "Bytes appended to the journal.", p.journalBytes.current)
        e.histogram("cuohe_journal_batch_commands", "Commands per journal group commit.", p.journalBatchCommands, scale: 1)
        e.histogram("cuohe_journal_append_seconds", "Time of each group commit's write and sync.", p.journalAppend, scale: 1e-9)
        e.counter("cuohe_matcher_commands_total", "Commands the matcher has processed.", p.commandsMatched.current)
        e.counter("cuohe_orders_accepted_total", "Orders the matcher accepted.", p.ordersAccepted.current)
        e.counter("cuohe_matcher_rejects_total", "Commands the matcher refused.", p.rejects.current)
        e.gauge("cuohe_resting_orders", "Orders resting in the books.", Int(p.restingOrders.current))
        e.counter("cuohe_trades_settled_total", "Trades the settlement stage booked.", p.tradesSettled.current)
        e.counter("cuohe_snapshots_total", "Snapshots written.", p.snapshotsTaken.current)
        e.counter("cuohe_events_out_total", "Events egress handed to the gateway.", p.eventsOut.current)
        e.family("cuohe_ring_occupancy", "gauge", "Items waiting in each ring between the stages.")
        for (name, items) in p.ringOccupancy() { e.sample("cuohe_ring_occupancy", [("ring", name)], "\(items)") }
    }

    /// A metrics connection's bytes: once the request's head is in, `GET /metrics` is answered
    /// and the connection closed; anything else gets 404, an oversized head 431.
    func metricsRequest(_ c: Connection, n: Int, now: Int64) {
        c.partial.append(contentsOf: readBuffer[..<n])
        let head = c.partial
        let status: String
        var body = ""
        if head.count > settings.metricsRequestBytesMax {
            status = "431 Request Header Fields Too Large"
        } else if Gateway.find([13, 10, 13, 10], in: head) || Gateway.find([10, 10], in: head) {
            let first = String(decoding: head.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
            if first.count >= 2 && first[0] == "GET" && (first[1] == "/metrics" || first[1].hasPrefix("/metrics?")) {
                status = "200 OK"
                body = exposition()
                metrics.scrapes += 1
            } else {
                status = "404 Not Found"
                body = "only GET /metrics is served\n"
            }
        } else {
            return
        }
        let response = "HTTP/1.1 \(status)\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        c.out.append(contentsOf: response.utf8)
        c.out.append(contentsOf: body.utf8)
        c.end("METRICS", now: now)
        touch(c)
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Bool {
        guard hay.count >= needle.count else { return false }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return true }
        return false
    }
}
