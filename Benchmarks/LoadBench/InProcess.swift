import Foundation
import Synchronization
import BenchSupport
import CuoheCore
import CuoheProtocol
import CuoheRuntime

/// `--in-process`: the same market and order flow straight into the pipeline (no TCP, no text),
/// closed loop, so the engine's own cost can be told apart from the network's and the codec's.
/// Only NEW orders (resting and marketable): each gets exactly one ACK or REJ, in order, so the
/// n-th answer belongs to the n-th order.
enum InProcess {
    static func run(_ o: Options) -> RunResult {
        let dir = NSTemporaryDirectory() + "cuohe-bench-inproc-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = Array(BenchMarket.json(sessions: o.sessions, instruments: o.instruments).utf8)
        let engine: RecoveredEngine
        do {
            engine = try Recovery.open(data: dir, configText: text, configName: "bench market",
                                       options: RecoveryOptions(durability: o.durability == "none" ? .none : .sync), log: { _ in })
        } catch {
            fail("\(error)")
        }
        let count = Int(o.duration * 3_000_000) + 1
        let sentAt = UnsafeMutablePointer<Int64>.allocate(capacity: count)
        defer { sentAt.deallocate() }
        let answered = Atomic<Int>(0)
        let histogram = Mutex(LatencyHistogram())
        let measureFrom = Atomic<Int>(Int.max)
        nonisolated(unsafe) let times = sentAt
        let sink = EventHandlerSink { e in
            guard e.kind == .ack || (e.kind == .reject && e.seq > 0) else { return }
            let n = answered.load(ordering: .relaxed)
            if n >= measureFrom.load(ordering: .relaxed) { histogram.withLock { $0.record(nowNanos() - times[n]) } }
            answered.store(n + 1, ordering: .releasing)
        }
        var random = SplitMix64(state: o.seed)
        var sent = 0
        var measuredStart: Int64 = 0, measuredSent = 0
        let window = o.window * o.sessions
        print("cuohe-bench: in-process, closed loop, window \(window), \(o.sessions) brokers, durability \(o.durability), \(Int(o.duration)) s + \(Int(o.warmup)) s warm-up")
        let outcome = Pipeline.run(engine: engine, snapshotEvery: 1 << 30, recordsTrades: false, sink: sink,
                                   log: { _ in }, fail: { fail($0) }) { ingress in
            let start = nowNanos()
            let warm = start + Int64(o.warmup * 1e9), end = warm + Int64(o.duration * 1e9)
            var now = start
            while now < end && sent < count {
                if measuredStart == 0 && now >= warm {
                    measuredStart = now
                    measureFrom.store(sent, ordering: .relaxed)
                    measuredSent = sent
                }
                while sent - answered.load(ordering: .acquiring) >= window { ingress.flush(); usleep(20) }
                let b = Int32(random.below(o.sessions))
                let marketable = random.below(100) < o.mix.marketable * 100 / max(1, o.mix.new + o.mix.marketable)
                var c = Command(kind: .new, broker: b, ts: 0)
                c.account = b
                c.instrument = Int32(random.below(o.instruments))
                c.side = random.below(2) == 0 ? .buy : .sell
                let ticks = Int64(marketable ? 5 : 1 + random.below(5))
                c.price = (c.side == .buy) == marketable ? 100_000 + ticks * 100 : 100_000 - ticks * 100
                c.qty = 100
                c.tif = marketable ? .ioc : .day
                c.cid = ClientOrderID("n\(sent)")!
                sentAt[sent] = nowNanos()
                ingress.send(.command(c, stamp: nil))
                sent += 1
                if sent & 63 == 0 { now = nowNanos() }
            }
            ingress.flush()
            while answered.load(ordering: .acquiring) < sent { usleep(100) }
            now = nowNanos()
            measuredSent = sent - measuredSent
            measuredStart = now - measuredStart
        }
        _ = outcome
        let seconds = Double(measuredStart) / 1e9
        let h = histogram.withLock { $0 }
        var parameters = o.parameters
        parameters["window"] = "\(window)"
        return RunResult(label: o.label ?? "in-process \(o.durability) --max", parameters: parameters, seconds: seconds,
                         sentPerSecond: Double(measuredSent) / seconds, ackedPerSecond: Double(measuredSent) / seconds,
                         fillsPerSecond: 0, latencyMicros: ["command-to-answer": Report.latency(h)],
                         curves: ["command-to-answer": Report.curve(h)], ramp: nil, sustainedRate: nil,
                         statsBefore: nil, statsAfter: "STATS commands=\(outcome.matcher.counters.commands)",
                         violations: answered.load(ordering: .relaxed) == sent ? [] : ["\(sent) commands sent, \(answered.load(ordering: .relaxed)) answered"])
    }
}

/// `cuohe-bench plot A.json B.json … --svg FILE`: several runs on one chart.
enum Plot {
    static func run(_ arguments: ArraySlice<String>) -> Never {
        var files: [String] = [], svg: String?
        var args = arguments
        while let a = args.popFirst() {
            if a == "--svg" { svg = args.popFirst() } else { files.append(a) }
        }
        guard let svg, !files.isEmpty else { fail("usage: cuohe-bench plot A.json B.json … --svg FILE") }
        do {
            let runs = try files.map { try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: URL(fileURLWithPath: $0))) }
            try Report.svg(runs, title: "cuohe-bench: " + runs.map(\.label).joined(separator: " vs ")).write(toFile: svg, atomically: true, encoding: .utf8)
            print("wrote \(svg): \(runs.count) runs")
        } catch {
            fail("\(error)")
        }
        exit(0)
    }
}
