import BenchSupport

// What comes back, matched to what was sent, with the honesty checks as it arrives.
extension BenchSession {
    static func field(_ parts: [Substring], _ key: String) -> Substring? {
        for p in parts where p.hasPrefix(key) && p.dropFirst(key.count).first == "=" { return p.dropFirst(key.count + 1) }
        return nil
    }

    /// The order a cid names: `n<k>` is order k; `r<j>` the order replace j moved.
    func order(ofCid cid: Substring) -> Int? {
        guard let tag = cid.first, let n = Int(cid.dropFirst()) else { return nil }
        if tag == "n" { return n < orders.count ? n : nil }
        if tag == "r" { return replaceTarget[n] }
        return nil
    }

    func handle(_ line: String, now: Int64) {
        let parts = line.split(separator: " ")
        guard let verb = parts.first else { return }
        if verb == "HEARTBEAT" || verb == "PONG" || verb == "LOGGEDIN" || verb == "BOOK" || verb == "TRADE" { return }
        guard let seqText = BenchSession.field(parts, "seq"), let seq = Int64(seqText) else {
            violations.append("\(broker): a line without seq: \(line)")
            return
        }
        if seq != lastSeq + 1 { violations.append("\(broker): seq \(seq) after \(lastSeq)") }
        lastSeq = seq
        guard let cid = BenchSession.field(parts, "cid"), let k = order(ofCid: cid) else {
            violations.append("\(broker): a message for an unknown cid: \(line)")
            return
        }
        let counted = now >= measureFrom && now < measureEnd
        switch verb {
        case "ACK": answerNew(k, rejected: false, now: now, counted: counted)
        case "REJ":
            if orders[k].pending != 0 {
                answerPending(k, counted: counted)
            } else {
                answerNew(k, rejected: true, now: now, counted: counted)
            }
        case "FILL": fill(k, parts, now: now, counted: counted)
        case "CANCELED":
            if BenchSession.field(parts, "reason") == "USER" && orders[k].pending != 0 { answerPending(k, counted: counted) }
            orders[k].open = false
            orders[k].terminal = true
        case "REPLACED":
            guard orders[k].pending == 2, let newCid = BenchSession.field(parts, "newcid") else {
                violations.append("\(broker): REPLACED not asked for: \(line)")
                return
            }
            orders[k].cid = String(newCid)
            orders[k].leaves = Int64(BenchSession.field(parts, "leaves") ?? "") ?? orders[k].leaves
            answerPending(k, counted: counted)
        case "STATUS":
            status(k, parts, line)
        default:
            violations.append("\(broker): unexpected \(line)")
        }
    }

    private func answerNew(_ k: Int, rejected: Bool, now: Int64, counted: Bool) {
        orders[k].answers += 1
        if orders[k].answers > 1 { violations.append("\(broker): order n\(k) answered twice") }
        if rejected {
            orders[k].terminal = true
        } else if !orders[k].terminal {
            orders[k].open = true
            orders[k].leaves = 100
            if orders[k].resting { openResting.append(k) }
        }
        let latency = now - orders[k].scheduled
        interval.withLock { $0.record(latency) }
        if orders[k].measured { toAck.record(latency) }
        answeredCount.add(1, ordering: .relaxed)
        if counted { answeredMeasured += 1 }
    }

    private func answerPending(_ k: Int, counted: Bool) {
        let wasStatus = orders[k].pending == 3
        orders[k].pending = 0
        if orders[k].open && !orders[k].terminal && orders[k].resting { openResting.append(k) }
        if wasStatus { return }
        answeredCount.add(1, ordering: .relaxed)
        if counted { answeredMeasured += 1 }
    }

    private func fill(_ k: Int, _ parts: [Substring], now: Int64, counted: Bool) {
        guard let tid = Int64(BenchSession.field(parts, "tid") ?? ""), let leaves = Int64(BenchSession.field(parts, "leaves") ?? "") else {
            violations.append("\(broker): FILL without tid or leaves")
            return
        }
        let px = String(BenchSession.field(parts, "px") ?? ""), qty = String(BenchSession.field(parts, "qty") ?? "")
        if let seen = fills[tid] {
            fills[tid] = (seen.px, seen.qty, seen.count + 1)
            if seen.px != px || seen.qty != qty { violations.append("\(broker): the two sides of trade \(tid) differ") }
        } else {
            fills[tid] = (px, qty, 1)
        }
        if !orders[k].filled {
            orders[k].filled = true
            // A marketable order's first fill: a resting order's would measure how long it waited.
            if orders[k].measured && !orders[k].resting { toFill.record(now - orders[k].scheduled) }
        }
        orders[k].leaves = leaves
        if leaves == 0 {
            orders[k].open = false
            orders[k].terminal = true
        }
        filledCount.add(1, ordering: .relaxed)
        if counted { filledMeasured += 1 }
    }

    private func status(_ k: Int, _ parts: [Substring], _ line: String) {
        statusChecked += 1
        let state = BenchSession.field(parts, "state")
        let leaves = Int64(BenchSession.field(parts, "leaves") ?? "")
        if orders[k].open && !orders[k].terminal {
            if !(state == "NEW" || state == "PARTIAL") || leaves != orders[k].leaves {
                violations.append("\(broker): n\(k) open here (leaves \(orders[k].leaves)) but the engine says \(line)")
            }
        }
        orders[k].pending = 0
    }

    /// After the load: every order that is neither answered-and-ended nor refused must be open
    /// as the engine's `STATUS` says, and every command must have had its answer.
    func sweep(until end: Int64) {
        for (k, o) in orders.enumerated() {
            if o.answers != 1 { violations.append("\(broker): order n\(k) got \(o.answers) answers to its NEW") }
            if o.open && !o.terminal {
                orders[k].pending = 3
                statusAsked += 1
                send(line: "STATUS cid=\(o.cid)")
                // A thousand at a time, each lot read back before the next: a client that only
                // writes would be a slow consumer itself.
                if statusAsked % 1_000 == 0 {
                    flushNow()
                    while statusChecked < statusAsked && nowNanos() < end && !peerClosed { drain(timeoutMs: 20) }
                }
            }
        }
        flushNow()
        while statusChecked < statusAsked && nowNanos() < end && !peerClosed { drain(timeoutMs: 20) }
        if statusChecked < statusAsked { violations.append("\(broker): \(statusAsked - statusChecked) STATUS requests unanswered") }
        let sent = sentCount.load(ordering: .relaxed), answered = answeredCount.load(ordering: .relaxed)
        if sent != answered { violations.append("\(broker): \(sent) commands sent, \(answered) answered") }
    }
}
