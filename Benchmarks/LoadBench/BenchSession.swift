#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import BenchSupport

/// What one phase of load asks of every session.
struct Phase: Sendable {
    enum Kind: Sendable { case openLoop, closedLoop, statusSweep }
    var kind: Kind
    /// Orders a second for this session (open loop), or orders outstanding at most (closed loop).
    var ratePerSession: Double
    var window: Int
    /// Monotonic start; warm-up ends at `measureFrom`; the phase ends at `end`.
    var start: Int64
    var measureFrom: Int64
    var end: Int64
}

/// The order mix, in parts of 100.
struct Mix: Sendable {
    var new = 60, marketable = 20, cancel = 15, replace = 5
}

/// One broker session of the load: its socket, its orders, its measurements. A thread of its own
/// sends on the schedule and reads what comes back with `poll`, never spinning.
final class BenchSession: @unchecked Sendable {
    let index: Int
    let fd: Int32
    let broker: String
    let account: String
    let instruments: [String]
    let mix: Mix
    var random: SplitMix64

    // Counters the progress line reads.
    let sentCount = Atomic<Int>(0)
    let answeredCount = Atomic<Int>(0)
    let filledCount = Atomic<Int>(0)
    let lagNanos = Atomic<Int64>(0)
    /// Order-to-ack latencies of the current second (swapped out by the progress line).
    let interval = Mutex(LatencyHistogram())

    // Measured (after warm-up).
    var toAck = LatencyHistogram()
    var toFill = LatencyHistogram()
    var sentMeasured = 0, answeredMeasured = 0, filledMeasured = 0

    // The orders: by number (cid `n<k>`), with the replace commands mapped to them (`r<k>`).
    struct Order {
        var scheduled: Int64 = 0
        var measured = false
        var resting = false
        var answers = 0
        var open = false
        var terminal = false
        var filled = false
        var leaves: Int64 = 0
        var pending: UInt8 = 0  // 0 none, 1 cancel, 2 replace
        var cid = ""
    }
    var orders: [Order] = []
    var replaceTarget: [Int: Int] = [:]
    var openResting: [Int] = []
    var nextReplace = 0
    // Honesty.
    var lastSeq: Int64 = 0
    var violations: [String] = []
    var fills: [Int64: (px: Int64, qty: Int64, count: Int)] = [:]
    var statusChecked = 0
    var statusAsked = 0
    /// The current phase's measured window (for the throughput counts).
    var measureFrom: Int64 = .max
    var measureEnd: Int64 = .max

    private(set) var peerClosed = false
    private var chunk = [UInt8](repeating: 0, count: 1 << 16)
    private var input: [UInt8] = []
    private var output: [UInt8] = []

    init(index: Int, port: UInt16, broker: String, token: String, account: String, instruments: [String],
         mix: Mix, seed: UInt64) throws {
        self.index = index
        self.broker = broker
        self.account = account
        self.instruments = instruments
        self.mix = mix
        random = SplitMix64(state: seed &+ UInt64(index) &* 0x9E37_79B9)
        fd = connectLoopback(port: port)
        guard fd >= 0 else { throw BenchError("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
        output.append(contentsOf: "LOGIN broker=\(broker) token=\(token) hb=60\n".utf8)
        flushOutput()
        let deadline = nowNanos() + 10_000_000_000
        while lastSeq == 0 && nowNanos() < deadline {
            if let line = nextLine(timeoutMs: 100) {
                if line.hasPrefix("LOGGEDIN") {
                    lastSeq = (Int64(line.split(separator: "=").last ?? "1") ?? 1) - 1
                    break
                }
                throw BenchError("\(broker): LOGIN answered \(line)")
            }
        }
    }

    deinit { close(fd) }

    /// Room for `orders` up front, so no table grows (and stalls this thread) mid-run.
    func reserve(_ orders: Int) {
        self.orders.reserveCapacity(orders)
        replaceTarget.reserveCapacity(orders / 4)
        fills.reserveCapacity(orders)
        openResting.reserveCapacity(orders)
    }

    // MARK: Running a phase

    func run(_ phase: Phase) {
        measureFrom = phase.measureFrom
        measureEnd = phase.end
        switch phase.kind {
        case .openLoop, .closedLoop: load(phase)
        case .statusSweep: sweep(until: phase.end)
        }
    }

    private func load(_ p: Phase) {
        let interval = p.kind == .openLoop ? Int64(1_000_000_000 / max(p.ratePerSession, 0.001)) : 0
        var k: Int64 = 0  // orders scheduled in this phase
        while true {
            let now = nowNanos()
            if now >= p.end { break }
            if p.kind == .openLoop {
                // Every order due by now goes out now; its latency counts from when it was due.
                while p.start + k * interval <= now && p.start + k * interval < p.end {
                    send(scheduled: p.start + k * interval, measured: p.start + k * interval >= p.measureFrom)
                    k += 1
                }
                lagNanos.store(max(0, now - (p.start + k * interval)), ordering: .relaxed)
                flushOutput()
                // Sleep until the next order is due, reading answers meanwhile; never spin.
                let due = p.start + k * interval
                let wait = due - nowNanos()
                if wait >= 1_000_000 {
                    drain(timeoutMs: Int32(min(wait / 1_000_000, 50)))
                } else {
                    drain(timeoutMs: 0)
                    let left = due - nowNanos()
                    if left > 0 { usleep(UInt32(left / 1_000)) }
                }
            } else {
                while sentCount.load(ordering: .relaxed) - answeredCount.load(ordering: .relaxed) < p.window {
                    send(scheduled: nowNanos(), measured: nowNanos() >= p.measureFrom)
                }
                flushOutput()
                drain(timeoutMs: 10)
            }
        }
        // Let the last answers in.
        let settle = nowNanos() + 2_000_000_000
        while sentCount.load(ordering: .relaxed) > answeredCount.load(ordering: .relaxed) && nowNanos() < settle {
            drain(timeoutMs: 20)
        }
    }

    /// One command of the mix, scheduled at `scheduled`.
    private func send(scheduled: Int64, measured: Bool) {
        var roll = random.below(100)
        if openResting.isEmpty { roll = roll % (mix.new + mix.marketable) }
        let instrument = instruments[random.below(instruments.count)]
        if roll < mix.new + mix.marketable {
            let k = orders.count
            let marketable = roll >= mix.new
            let buy = random.below(2) == 0
            let ticks = marketable ? 5 : 1 + random.below(5)
            let px = 1000 + (buy == marketable ? ticks : -ticks)  // cents
            var o = Order()
            o.scheduled = scheduled
            o.measured = measured
            o.resting = !marketable
            o.cid = "n\(k)"
            orders.append(o)
            line("NEW cid=n\(k) acct=\(account) sym=\(instrument) side=\(buy ? "BUY" : "SELL") qty=100 px=\(px / 100).\(px % 100 < 10 ? "0" : "")\(px % 100)" + (marketable ? " tif=IOC" : ""))
        } else {
            let pick = random.below(openResting.count)
            let k = openResting[pick]
            openResting.swapAt(pick, openResting.count - 1)
            openResting.removeLast()
            // Filled or canceled since it was listed: send a new order instead.
            guard orders[k].open && !orders[k].terminal && orders[k].pending == 0 else {
                return send(scheduled: scheduled, measured: measured)
            }
            if roll < mix.new + mix.marketable + mix.cancel {
                orders[k].pending = 1
                line("CANCEL cid=\(orders[k].cid)")
            } else {
                orders[k].pending = 2
                nextReplace += 1
                replaceTarget[nextReplace] = k
                line("REPLACE cid=\(orders[k].cid) newcid=r\(nextReplace) px=\(random.below(2) == 0 ? "9.99" : "10.01")")
            }
        }
        sentCount.add(1, ordering: .relaxed)
        if measured { sentMeasured += 1 }
    }

    func send(line text: String) { self.line(text) }
    func flushNow() { flushOutput() }

    private func line(_ text: String) {
        output.append(contentsOf: text.utf8)
        output.append(10)
    }

    private func flushOutput() {
        var off = 0
        while off < output.count {
            let n = output.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 {
                if errno == EINTR { continue }
                violations.append("\(broker): send failed: \(String(cString: strerror(errno)))")
                break
            }
            off += n
        }
        output.removeAll(keepingCapacity: true)
    }

    /// Reads and handles what arrives within `timeoutMs`.
    func drain(timeoutMs: Int32) {
        if peerClosed {
            usleep(UInt32(max(0, timeoutMs)) * 1_000)
            return
        }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMs) > 0 else { return }
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 {
                if n == 0 && !peerClosed {
                    violations.append("\(broker): the engine closed the connection")
                    peerClosed = true
                }
                break
            }
            let now = nowNanos()
            var start = 0
            for i in 0..<n where chunk[i] == 10 {
                if input.isEmpty {
                    handle(chunk[start..<i], now: now)
                } else {
                    input.append(contentsOf: chunk[start..<i])
                    handle(input[...], now: now)
                    input.removeAll(keepingCapacity: true)
                }
                start = i + 1
            }
            input.append(contentsOf: chunk[start..<n])
            if n < chunk.count { break }
        }
    }

    func readLine(timeoutMs: Int32) -> String? { nextLine(timeoutMs: timeoutMs) }

    private func nextLine(timeoutMs: Int32) -> String? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMs) > 0 else { return nil }
        var byte: UInt8 = 0
        var line: [UInt8] = []
        while recv(fd, &byte, 1, 0) == 1 {
            if byte == 10 { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return nil
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
