#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import BenchSupport

/// A run over TCP: sessions on threads of their own, phases handed to them by this thread, a
/// progress line once a second, the figures and the honesty checks at the end.
enum LoadRun {
    final class Crew: @unchecked Sendable {
        let sessions: [BenchSession]
        var phase = Phase(kind: .openLoop, ratePerSession: 0, window: 0, start: 0, measureFrom: 0, end: 0)
        let go: [DispatchSemaphore]
        let done = DispatchSemaphore(value: 0)

        init(_ sessions: [BenchSession]) {
            self.sessions = sessions
            go = sessions.map { _ in DispatchSemaphore(value: 0) }
            for (i, s) in sessions.enumerated() {
                Thread { [self] in
                    while true {
                        go[i].wait()
                        s.run(phase)
                        done.signal()
                    }
                }.start()
            }
        }

        /// Runs `phase` on every session, drawing the progress line until they finish.
        func run(_ phase: Phase, totalRate: Double, progress: Bool) {
            self.phase = phase
            for g in go { g.signal() }
            var finished = 0
            var lastSent = sessions.reduce(0) { $0 + $1.sentCount.load(ordering: .relaxed) }
            var tick = nowNanos()
            while finished < sessions.count {
                if done.wait(timeout: .now() + .milliseconds(100)) == .success { finished += 1; continue }
                let now = nowNanos()
                guard progress, now - tick >= 1_000_000_000 else { continue }
                let sent = sessions.reduce(0) { $0 + $1.sentCount.load(ordering: .relaxed) }
                let acked = sessions.reduce(0) { $0 + $1.answeredCount.load(ordering: .relaxed) }
                var second = LatencyHistogram()
                for s in sessions { second.merge(s.interval.withLock { h in defer { h.reset() }; return h }) }
                let behind = isBehind(phase: phase, totalRate: totalRate)
                let line = String(format: "%6.1f s  sent %9d  acked %9d  rate %8.0f/s  p99 %@  %@",
                                  Double(now - phase.start) / 1e9, sent, acked, Double(sent - lastSent) * 1e9 / Double(now - tick),
                                  Report.micros(Double(second.value(at: 0.99)) / 1_000).padding(toLength: 9, withPad: " ", startingAt: 0),
                                  phase.kind == .closedLoop ? "" : behind ? "BEHIND schedule" : "on schedule")
                LoadRun.show(line)
                lastSent = sent
                tick = now
            }
            if progress && isatty(1) != 0 { print("") }
        }

        /// Behind: a session more than 10 ms late on its timetable, or more than 100 ms of
        /// orders waiting for answers.
        func isBehind(phase: Phase, totalRate: Double) -> Bool {
            guard phase.kind == .openLoop else { return false }
            let lag = sessions.map { $0.lagNanos.load(ordering: .relaxed) }.max() ?? 0
            let waiting = sessions.reduce(0) { $0 + $1.sentCount.load(ordering: .relaxed) - $1.answeredCount.load(ordering: .relaxed) }
            return lag > 10_000_000 || Double(waiting) > max(100, totalRate * 0.1)
        }
    }

    static func show(_ line: String) {
        if isatty(1) != 0 {
            print("\r\(line)\u{1b}[K", terminator: "")
            fflush(nil)
        } else {
            print(line)
        }
    }

    static func run(_ o: Options) -> RunResult {
        var engine: SpawnedEngine?
        let port: UInt16
        do {
            if o.spawn {
                engine = try SpawnedEngine(sessions: o.sessions, instruments: o.instruments, durability: o.durability)
                port = engine!.port
            } else {
                port = o.port
            }
        } catch {
            fail("\(error)")
        }
        defer { engine?.stop() }
        print("cuohe-bench: \(o.description), 127.0.0.1:\(port)")
        let symbols = (0..<o.instruments).map { BenchMarket.symbol($0) }
        let sessions: [BenchSession]
        do {
            sessions = try (0..<o.sessions).map {
                try BenchSession(index: $0, port: port, broker: "K\($0)", token: "t\($0)", account: "C\($0)",
                                 instruments: symbols, mix: o.mix, seed: o.seed)
            }
        } catch {
            fail("\(error)")
        }
        let perSession = o.closedLoop ? 4_000_000 / o.sessions
            : Int(o.rate * (o.ramp ? 6 * o.stepSeconds : o.warmup + o.duration) * 1.3 / Double(o.sessions)) + 1_000
        for s in sessions { s.reserve(perSession) }
        let statsBefore = stats(port: port)
        let crew = Crew(sessions)
        let cpuBefore = (CPUTime.own, engine?.cpuSeconds)
        let loadStart = nowNanos()
        var steps: [RampStep]? = nil
        var measuredSeconds = o.duration
        if o.ramp {
            (steps, measuredSeconds) = ramp(o, crew)
        } else {
            let start = nowNanos() + 50_000_000
            let phase = Phase(kind: o.closedLoop ? .closedLoop : .openLoop, ratePerSession: o.rate / Double(o.sessions),
                              window: o.window, start: start, measureFrom: start + Int64(o.warmup * 1e9),
                              end: start + Int64((o.warmup + o.duration) * 1e9))
            crew.run(phase, totalRate: o.rate, progress: true)
        }
        let cpu = (CPUTime.own - cpuBefore.0, engine.map { $0.cpuSeconds - (cpuBefore.1 ?? 0) })
        let loadEnd = nowNanos()
        let sweepEnd = nowNanos() + 30_000_000_000
        crew.run(Phase(kind: .statusSweep, ratePerSession: 0, window: 0, start: nowNanos(), measureFrom: .max, end: sweepEnd),
                 totalRate: 0, progress: false)
        var r = result(o, sessions, seconds: measuredSeconds, steps: steps, before: statsBefore, after: stats(port: port))
        r.clientCPUSeconds = cpu.0
        r.engineCPUSeconds = cpu.1
        r.loadSeconds = Double(loadEnd - loadStart) / 1e9
        return r
    }

    /// Steps the rate up by 25% until the p99 passes the bound or the engine falls behind.
    static func ramp(_ o: Options, _ crew: Crew) -> ([RampStep], Double) {
        var steps: [RampStep] = []
        var rate = o.rate
        if o.warmup > 0 {
            let start = nowNanos() + 20_000_000
            crew.run(Phase(kind: .openLoop, ratePerSession: rate / Double(o.sessions), window: 0, start: start,
                           measureFrom: .max, end: start + Int64(o.warmup * 1e9)), totalRate: rate, progress: true)
        }
        while steps.count < 40 {
            for s in crew.sessions { s.toAck.reset(); s.sentMeasured = 0; s.answeredMeasured = 0 }
            let start = nowNanos() + 20_000_000
            let phase = Phase(kind: .openLoop, ratePerSession: rate / Double(o.sessions), window: 0, start: start,
                              measureFrom: start + 500_000_000, end: start + Int64(o.stepSeconds * 1e9))
            let fellBehind = Atomic<Bool>(false)
            let stepRate = rate
            let watcher = Thread {
                while nowNanos() < phase.end {
                    if crew.isBehind(phase: phase, totalRate: stepRate) && nowNanos() > phase.measureFrom {
                        fellBehind.store(true, ordering: .relaxed)
                    }
                    usleep(100_000)
                }
            }
            watcher.start()
            crew.run(phase, totalRate: rate, progress: true)
            var h = LatencyHistogram()
            for s in crew.sessions { h.merge(s.toAck) }
            let sent = crew.sessions.reduce(0) { $0 + $1.sentMeasured }
            let expected = rate * (o.stepSeconds - 0.5)
            let behind = fellBehind.load(ordering: .relaxed) || Double(sent) < 0.95 * expected
            let p99 = Double(h.value(at: 0.99)) / 1_000
            let held = !behind && p99 <= o.sloP99Micros
            steps.append(RampStep(rate: rate, p99Micros: p99, behind: behind, held: held))
            LoadRun.show(String(format: "ramp step %.0f/s: p99 %@, %@", rate, Report.micros(p99), held ? "held" : "not held"))
            if isatty(1) != 0 { print("") }
            if !held { break }
            rate *= 1.25
        }
        return (steps, o.stepSeconds - 0.5)
    }

    /// The engine's `STATS` line, through the operator's session.
    static func stats(port: UInt16) -> String? {
        guard let ops = try? BenchSession(index: 999, port: port, broker: "OPS", token: "opsecret", account: "",
                                          instruments: [], mix: Mix(), seed: 0) else { return nil }
        return ops.ask("STATS")
    }

    static func result(_ o: Options, _ sessions: [BenchSession], seconds: Double, steps: [RampStep]?,
                       before: String?, after: String?) -> RunResult {
        var ack = LatencyHistogram(), fill = LatencyHistogram()
        var violations: [String] = []
        var fills: [Int64: (px: Int64, qty: Int64, count: Int)] = [:]
        for s in sessions {
            ack.merge(s.toAck)
            fill.merge(s.toFill)
            violations += s.violations
            for (tid, f) in s.fills {
                if let seen = fills[tid] {
                    if seen.px != f.px || seen.qty != f.qty { violations.append("trade \(tid): the two sides' FILLs differ") }
                    fills[tid] = (f.px, f.qty, seen.count + f.count)
                } else {
                    fills[tid] = f
                }
            }
        }
        for (tid, f) in fills where f.count != 2 { violations.append("trade \(tid): \(f.count) FILLs, not one per side") }
        if let path = o.hgrm {
            do {
                try ack.percentileDistribution().write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                violations.append("writing \(path): \(error)")
            }
        }
        let sent = sessions.reduce(0) { $0 + $1.sentMeasured }, acked = sessions.reduce(0) { $0 + $1.answeredMeasured }
        let filled = sessions.reduce(0) { $0 + $1.filledMeasured }
        var parameters = o.parameters
        parameters["trades"] = "\(fills.count)"
        return RunResult(label: o.label ?? (o.spawn ? o.durability : "tcp") + (o.closedLoop ? " --max" : o.ramp ? " --ramp" : " \(Int(o.rate))/s"),
                         parameters: parameters, seconds: seconds,
                         sentPerSecond: Double(sent) / seconds, ackedPerSecond: Double(acked) / seconds,
                         fillsPerSecond: Double(filled) / seconds,
                         latencyMicros: ["order-to-ack": Report.latency(ack), "order-to-first-fill": Report.latency(fill)],
                         curves: ["order-to-ack": Report.curve(ack), "order-to-first-fill": Report.curve(fill)],
                         ramp: steps, sustainedRate: steps?.last(where: { $0.held })?.rate,
                         statsBefore: before, statsAfter: after, violations: violations)
    }
}

extension BenchSession {
    /// Sends an operator line and returns its answer (the operator's session only).
    func ask(_ text: String) -> String? {
        send(line: text)
        flushNow()
        var answer: String?
        let deadline = nowNanos() + 5_000_000_000
        while answer == nil && nowNanos() < deadline {
            answer = readLine(timeoutMs: 100)
        }
        return answer
    }
}
