#if canImport(Glibc)
import Glibc
#endif
import CuoheCore
import CuoheProtocol
import CuoheRuntime

// The session rules of PROTOCOL.md, on the gateway thread.
extension Gateway {
    /// One inbound line (without its `\n`).
    func line(_ c: Connection, _ bytes: UnsafeRawBufferPointer, now: Int64, _ ingress: Pipeline.Ingress) {
        var body = bytes
        if body.last == UInt8(ascii: "\r") { body = UnsafeRawBufferPointer(rebasing: body.dropLast()) }
        if body.isEmpty || body.first == UInt8(ascii: "#") { return }
        metrics.linesIn += 1
        let parsed = body.withMemoryRebound(to: UInt8.self) { parser.parse($0, broker: max(c.broker, 0)) }
        guard c.isLoggedIn else {
            if case .session(.login(let name, let token, let resume, let hb)) = parsed {
                login(c, name: name, token: token, resume: resume, hb: hb, now: now)
            } else {
                reject(c, .notLoggedIn, cid: Gateway.cid(of: parsed), detail: nil, now: now)
            }
            return
        }
        if !throttle(c.broker, now: now) {
            reject(c, .throttled, cid: Gateway.cid(of: parsed), detail: nil, now: now)
            return
        }
        switch parsed {
        case .empty: return
        case .command(let command):
            metrics.commands[Int(command.kind.rawValue), default: 0] += 1
            ingress.send(.command(command, stamp: nil))
        case .reject(let reason, let cid, let detail):
            inOrder(c, .reject(reason, cid: cid, detail: detail), ingress)
        case .session(.ping(let token)):
            inOrder(c, .session(.pong(token: token)), ingress)
        case .session(let request):
            session(c, request, now: now, ingress)
        }
    }

    /// An answer of the gateway's own for a logged-in session, sent through the pipeline like a
    /// command (not journaled): it comes out in its place after the answers to the lines before
    /// it, as a broker reading its lines in order expects.
    func inOrder(_ c: Connection, _ body: EdgeAnswer.Body, _ ingress: Pipeline.Ingress) {
        ingress.send(.answer(EdgeAnswer(who: directory.brokers[Int(c.broker)], broker: c.broker, body: body), stamp: nil))
    }

    static func cid(of parsed: ParsedLine) -> ClientOrderID {
        switch parsed {
        case .command(let command): command.cid
        case .reject(_, let cid, _): cid
        default: .none
        }
    }

    /// An edge `REJ` (no `seq`), stamped with the time the line was read.
    func reject(_ c: Connection, _ reason: RejectReason, cid: ClientOrderID, detail: String?, now: Int64) {
        metrics.rejected(reason)
        c.append(formatter.rejectLine(reason, cid: cid, detail: detail, ts: now))
    }

    func throttle(_ b: Int32, now: Int64) -> Bool {
        if buckets[Int(b)] == nil {
            let rate = directory.brokerMessagesPerSecondMax[Int(b)] ?? settings.messagesPerSecondDefault
            buckets[Int(b)] = TokenBucket(perSecond: rate, now: now)
        }
        return buckets[Int(b)]!.take(now: now)
    }

    func session(_ c: Connection, _ request: SessionRequest, now: Int64, _ ingress: Pipeline.Ingress) {
        switch request {
        case .login:
            inOrder(c, .reject(.malformed, cid: .none, detail: "ALREADY_LOGGED_IN"), ingress)
        case .ping(let token):
            inOrder(c, .session(.pong(token: token)), ingress)
        case .logout:
            c.bye("LOGOUT", now: now)
        case .subscribe(let instrument, let depth):
            guard instrument >= 0 else { return inOrder(c, .reject(.unknownSymbol, cid: .none, detail: nil), ingress) }
            guard c.subscriptions[instrument] != nil || c.subscriptions.count < settings.subscriptionsMax else {
                return inOrder(c, .reject(.malformed, cid: .none, detail: "TOO_MANY_SUBSCRIPTIONS"), ingress)
            }
            if c.subscriptions[instrument] == nil { subscribers[Int(instrument)].append(c) }
            c.subscriptions[instrument] = depth
            c.booksDue.insert(instrument)
            // After the BOOK, the quote board from its start: a late subscriber sees every live quote.
            c.boardsDue[instrument] = 0
            if !catchingUp.contains(where: { $0 === c }) { catchingUp.append(c) }
        case .unsubscribe(let instrument):
            guard instrument >= 0 else { return inOrder(c, .reject(.unknownSymbol, cid: .none, detail: nil), ingress) }
            if c.subscriptions.removeValue(forKey: instrument) != nil { subscribers[Int(instrument)].removeAll { $0 === c } }
            c.booksDue.remove(instrument)
            c.boardsDue[instrument] = nil
        }
    }

    /// `LOGIN`: the token, then the resume point, then the older session (if any) is replaced.
    func login(_ c: Connection, name: String, token: String, resume: Int64, hb: Int64, now: Int64) {
        guard let b = directory.broker(Array(name.utf8)), Gateway.same(token, directory.brokerTokens[Int(b)]) else {
            metrics.loginsRefused += 1
            reject(c, .auth, cid: .none, detail: nil, now: now)
            return c.end("AUTH", now: now)
        }
        let last = history.lastSeq(b)
        guard resume >= 0 && resume <= last else {
            metrics.loginsRefused += 1
            reject(c, .seqAhead, cid: .none, detail: nil, now: now)
            return c.end("SEQ_AHEAD", now: now)
        }
        if let older = sessions[Int(b)] {
            older.bye("REPLACED", now: now)
            touch(older)
        }
        sessions[Int(b)] = c
        pendingLogins -= 1
        c.broker = b
        c.heartbeatNanos = hb * 1_000_000_000
        metrics.logins += 1
        c.append("LOGGEDIN broker=\(directory.brokers[Int(b)]) next=\(last + 1)")
        c.nextSeq = resume + 1
        if c.nextSeq < history.firstSeq(b) {
            // Older than memory holds: told again from the journal.
            c.backlog = rebuild(b, c.nextSeq, history.firstSeq(b) - 1)
            metrics.resumesFromJournal += 1
            c.nextSeq = history.firstSeq(b)
        }
        c.caughtUp = false
        catchingUp.append(c)
    }

    /// Constant-time comparison, so the time a refusal takes says nothing about the token.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = x.count ^ y.count
        for i in 0..<min(x.count, y.count) { diff |= Int(x[i] ^ y[i]) }
        return diff == 0
    }
}

// MARK: - Output

extension Gateway {
    /// Takes what egress handed over: order messages into the history (and so to their
    /// sessions), operator replies to their session, trades and quote lines to subscribers, new
    /// book pictures, the quote boards' changes.
    func takeOutbox(now: Int64) {
        outbox.take(into: &inbox)
        if inbox.isEmpty { return }
        inbox.bytes.withUnsafeBytes { bytes in
            for line in inbox.lines {
                let text = UnsafeRawBufferPointer(rebasing: bytes[Int(line.start)..<Int(line.start + line.count)])
                if line.kind == .reject, let reason = RejectReason(rawValue: line.reason) { metrics.rejected(reason) }
                switch line.audience {
                case .broker:
                    guard line.broker >= 0 && Int(line.broker) < sessions.count else { continue }
                    let s = sessions[Int(line.broker)]
                    if line.seq > 0 {
                        history.append(line.broker, seq: line.seq, text)
                        // A session that is caught up takes it at once, in its place among the
                        // lines without a seq; one still catching up gets it from the history.
                        if let s, s.caughtUp, s.closingSince == nil, s.nextSeq == line.seq {
                            s.append(text)
                            s.nextSeq += 1
                        }
                    } else if let s, s.closingSince == nil {
                        s.append(text)
                    }
                    if let s { touch(s) }
                case .operators:
                    for (b, isOperator) in directory.brokerIsOperator.enumerated() where isOperator {
                        guard let s = sessions[b], s.closingSince == nil else { continue }
                        s.append(text)
                        touch(s)
                    }
                case .marketData:
                    marketData(line, text)
                }
            }
        }
        for picture in inbox.books {
            books[Int(picture.instrument)] = picture
            for s in subscribers[Int(picture.instrument)] {
                s.booksDue.insert(picture.instrument)
                touch(s)
            }
        }
        for q in inbox.quotes where q.instrument >= 0 && Int(q.instrument) < boards.count {
            boards[Int(q.instrument)].apply(q)
            // The book did not change, but a BOOK sent from now on carries the instrument's last mdseq.
            if let p = books[Int(q.instrument)], p.mdseq < q.mdseq { books[Int(q.instrument)]!.mdseq = q.mdseq }
        }
        inbox.removeAll()
    }

    /// A `TRADE` or `QUOTE` line, to the instrument's subscribers. A session still being sent the
    /// board skips the line of a quote the board has not reached yet: the board, kept up to date
    /// before it is sent on, will show that quote as it then is.
    func marketData(_ line: OutLine, _ text: UnsafeRawBufferPointer) {
        if line.kind == .trade { metrics.trades += 1 }
        if line.kind == .quote { metrics.quoteUpdates += 1 }
        guard line.instrument >= 0 && Int(line.instrument) < subscribers.count else { return }
        for s in subscribers[Int(line.instrument)] where s.closingSince == nil {
            if line.kind == .quote, let sent = s.boardsDue[line.instrument], line.qid > sent { continue }
            s.append(text)
            touch(s)
        }
    }

    /// Fills a session's output from its backlog and history while it has room, adds the books
    /// due (the newest picture only: a slow subscriber sees the latest, not a backlog), and
    /// disconnects it as a slow consumer once what it has not taken passes the bound.
    func pump(_ c: Connection, now: Int64) {
        guard c.isLoggedIn, c.closingSince == nil else { return }
        let room = settings.outputBytesMax / 2
        if c.backlogSent < c.backlog.count && c.unsentBytes < room {
            let take = min(c.backlog.count - c.backlogSent, room - c.unsentBytes)
            c.out.append(contentsOf: c.backlog[c.backlogSent..<(c.backlogSent + take)])
            c.backlogSent += take
            if c.backlogSent == c.backlog.count { c.backlog = [] ; c.backlogSent = 0 }
        }
        if c.backlog.isEmpty {
            let last = history.lastSeq(c.broker)
            while c.nextSeq <= last && c.unsentBytes < room {
                history.withLine(c.broker, seq: c.nextSeq) { c.append($0) }
                c.nextSeq += 1
            }
            if c.nextSeq > last { c.caughtUp = true }
        }
        if c.unsentBytes < room {
            for i in c.booksDue {
                guard let picture = books[Int(i)], let depth = c.subscriptions[i] else { continue }
                c.append(bookLine(picture, depth: depth, now: now))
            }
            c.booksDue.removeAll(keepingCapacity: true)
            sendBoards(c, room: room)
        }
        let waiting = c.unsentBytes + (c.caughtUp ? history.bytes(c.broker, from: c.nextSeq, limit: settings.outputBytesMax) : 0)
        if waiting > settings.outputBytesMax {
            metrics.slowConsumers += 1
            c.out.removeAll()
            c.sent = 0
            c.bye("SLOW_CONSUMER", now: now)
        }
    }

    /// The quote boards due to `c` after its `SUB`s, each in qid order from where it got to, while
    /// the session has room: a large board goes out over several rounds, never past the output bound.
    func sendBoards(_ c: Connection, room: Int) {
        for (i, after) in c.boardsDue {
            var last = after
            let done = boards[Int(i)].forEach(after: after) { q in
                guard c.unsentBytes < room else { return false }
                formatter.append(q.event, to: &c.out)
                c.out.append(UInt8(ascii: "\n"))
                last = q.qid
                return true
            }
            c.boardsDue[i] = done ? nil : last
        }
    }

    func bookLine(_ p: BookPicture, depth: Int, now: Int64) -> String {
        func side(_ levels: [(Int64, Int64)]) -> String {
            levels.prefix(depth).map { "\(Decimal4.format($0.0)):\($0.1)" }.joined(separator: ",")
        }
        var auction = ""
        if let i = p.indicative {
            auction = i.price > 0 ? " iop=\(Decimal4.format(i.price)) iov=\(i.volume)" : " iop= iov="
        }
        return "BOOK sym=\(directory.symbols[Int(p.instrument)]) mdseq=\(p.mdseq) bids=\(side(p.bids)) asks=\(side(p.asks))"
            + auction + " ts=\(now)"
    }

    /// One write per touched connection; those with output left wait for the socket.
    func writeTouched(now: Int64) {
        // Sessions with history to catch up on are touched every round until they have.
        catchingUp.removeAll {
            ($0.caughtUp && $0.boardsDue.isEmpty) || $0.closingSince != nil || connection($0.token) !== $0
        }
        touched.append(contentsOf: catchingUp)
        var seen = Set<UInt64>()
        let list = touched
        touched.removeAll(keepingCapacity: true)
        for c in list where seen.insert(c.token).inserted {
            guard connection(c.token) === c else { continue }
            pump(c, now: now)
            let written = c.writeOut(now: now)
            if written < 0 {
                c.end(c.closeReason.isEmpty ? "WRITE_ERROR" : c.closeReason, now: now)
                close(c)
                continue
            }
            metrics.bytesOut += UInt64(written)
            if c.closingSince != nil && c.unsentBytes == 0 {
                close(c)
                continue
            }
            let wants = c.unsentBytes > 0
            if wants != c.writeInterest {
                c.writeInterest = wants
                poller.change(c.socket.fd, token: c.token, write: wants)
            }
        }
    }

    /// Heartbeats, timeouts, pending logins, closings that take too long.
    func timers(now: Int64) {
        for case let c? in slots {
            if let since = c.closingSince {
                if now - since > 1_000_000_000 { close(c) }
                continue
            }
            if c.kind == .metrics {
                if now - c.opened > 5_000_000_000 { close(c) }
                continue
            }
            if !c.isLoggedIn {
                if now - c.opened > settings.loginTimeoutNanos {
                    c.bye("TIMEOUT", now: now)
                    metrics.timeouts += 1
                    touch(c)
                }
                continue
            }
            if now - c.lastIn > 3 * c.heartbeatNanos {
                metrics.timeouts += 1
                c.bye("TIMEOUT", now: now)
                touch(c)
            } else if now - c.lastOut >= c.heartbeatNanos && c.unsentBytes == 0 {
                c.append("HEARTBEAT")
                touch(c)
            }
        }
    }
}
