import BenchSupport

// What comes back, matched to what was sent, with the honesty checks as it arrives.
extension BenchSession {
    /// The value of `key` in a protocol line, as bytes (the line is never made a `String`:
    /// this runs for every message, on the same two cores as the engine).
    static func field(_ line: ArraySlice<UInt8>, _ key: StaticString) -> ArraySlice<UInt8>? {
        let k = UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        var i = line.startIndex
        while i < line.endIndex {
            var j = i
            while j < line.endIndex && line[j] != 32 { j += 1 }
            if j - i > k.count && line[i + k.count] == 61 {
                var same = true
                for n in 0..<k.count where line[i + n] != k[n] { same = false; break }
                if same { return line[(i + k.count + 1)..<j] }
            }
            i = j + 1
        }
        return nil
    }

    /// Digits as a number, ignoring a decimal point (prices compare as their digits).
    static func number(_ bytes: ArraySlice<UInt8>?) -> Int64? {
        guard let bytes, !bytes.isEmpty else { return nil }
        var v: Int64 = 0
        for b in bytes where b != 46 {
            guard b >= 48 && b <= 57 else { return nil }
            v = v &* 10 &+ Int64(b - 48)
        }
        return v
    }

    static func starts(_ line: ArraySlice<UInt8>, _ word: StaticString) -> Bool {
        let w = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard line.count >= w.count else { return false }
        for n in 0..<w.count where line[line.startIndex + n] != w[n] { return false }
        return line.count == w.count || line[line.startIndex + w.count] == 32
    }

    /// The order a cid names: `n<k>` is order k; `r<j>` the order replace j moved.
    func order(ofCid cid: ArraySlice<UInt8>) -> Int? {
        guard let tag = cid.first, let n = BenchSession.number(cid.dropFirst()).map(Int.init) else { return nil }
        if tag == UInt8(ascii: "n") { return n < orders.count ? n : nil }
        if tag == UInt8(ascii: "r") { return replaceTarget[n] }
        return nil
    }

    func text(_ line: ArraySlice<UInt8>) -> String { String(decoding: line, as: UTF8.self) }

    func handle(_ line: ArraySlice<UInt8>, now: Int64) {
        typealias S = BenchSession
        if S.starts(line, "HEARTBEAT") || S.starts(line, "PONG") || S.starts(line, "LOGGEDIN") || S.starts(line, "BOOK")
            || S.starts(line, "TRADE") || line.isEmpty { return }
        guard let seq = S.number(S.field(line, "seq")) else {
            violations.append("\(broker): a line without seq: \(text(line))")
            return
        }
        if seq != lastSeq + 1 { violations.append("\(broker): seq \(seq) after \(lastSeq)") }
        lastSeq = seq
        guard let cid = S.field(line, "cid"), let k = order(ofCid: cid) else {
            violations.append("\(broker): a message for an unknown cid: \(text(line))")
            return
        }
        let counted = now >= measureFrom && now < measureEnd
        if S.starts(line, "ACK") {
            answerNew(k, rejected: false, now: now, counted: counted)
        } else if S.starts(line, "REJ") {
            if orders[k].pending != 0 { answerPending(k, counted: counted) } else { answerNew(k, rejected: true, now: now, counted: counted) }
        } else if S.starts(line, "FILL") {
            fill(k, line, now: now, counted: counted)
        } else if S.starts(line, "CANCELED") {
            if let r = S.field(line, "reason"), r.elementsEqual("USER".utf8), orders[k].pending != 0 { answerPending(k, counted: counted) }
            orders[k].open = false
            orders[k].terminal = true
        } else if S.starts(line, "REPLACED") {
            guard orders[k].pending == 2, let newCid = S.field(line, "newcid") else {
                violations.append("\(broker): REPLACED not asked for: \(text(line))")
                return
            }
            orders[k].cid = text(newCid)
            orders[k].leaves = S.number(S.field(line, "leaves")) ?? orders[k].leaves
            answerPending(k, counted: counted)
        } else if S.starts(line, "STATUS") {
            status(k, line)
        } else {
            violations.append("\(broker): unexpected \(text(line))")
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

    private func fill(_ k: Int, _ line: ArraySlice<UInt8>, now: Int64, counted: Bool) {
        guard let tid = BenchSession.number(BenchSession.field(line, "tid")),
              let leaves = BenchSession.number(BenchSession.field(line, "leaves")) else {
            violations.append("\(broker): FILL without tid or leaves")
            return
        }
        let px = BenchSession.number(BenchSession.field(line, "px")) ?? -1, qty = BenchSession.number(BenchSession.field(line, "qty")) ?? -1
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

    private func status(_ k: Int, _ line: ArraySlice<UInt8>) {
        statusChecked += 1
        let state = BenchSession.field(line, "state").map { text($0) }
        let leaves = BenchSession.number(BenchSession.field(line, "leaves"))
        if orders[k].open && !orders[k].terminal {
            if !(state == "NEW" || state == "PARTIAL") || leaves != orders[k].leaves {
                violations.append("\(broker): n\(k) open here (leaves \(orders[k].leaves)) but the engine says \(text(line))")
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
