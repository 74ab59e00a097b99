#if canImport(Glibc)
import Glibc
#endif
import Foundation
import BenchSupport
import CuoheCore
import CuoheProtocol
import CuoheRuntime

// cuohe-pipeline-bench: the durable path without text, two ways. Build and run in release mode:
//   swift run -c release cuohe-pipeline-bench [--commands N] [--dir DIR] [--mode single|threaded|both]
//
// single: journal (group commit) then matcher on one thread. Throughput: batches of 1,024
// commands, each appended (one write, one fdatasync under `sync`) and then matched. Durable-ack
// latency: commands arrive on a fixed schedule (100k/s); each loop takes every command that has
// arrived (up to 1,024), makes it durable, matches it; a command's latency is from its arrival to
// the end of its batch (when its outputs may be released).
//
// threaded: the real `DurablePipeline` (ingress → sequencer/journal → matcher → settlement →
// egress threads over SPSC rings, blocking waits, a snapshot every 1,000,000 commands as `cuohe replay --data` does by default) fed binary
// commands on this thread. Throughput: all commands sent as fast as the rings take them, timed to
// the last event leaving egress. Latency: commands sent on the 100k/s schedule (this thread sleeps
// between arrivals); a command's latency is from its scheduled arrival to its first event reaching
// egress, which is only after its batch is durable.



/// Order flow on the demo market's first instrument: limit orders around 12.00, cancels of
/// earlier cids (live or not), now and then a marketable order.
func commands(_ n: Int) -> [Command] {
    let config = DemoMarket.config
    let directory = Directory(config: config)
    let accounts: [(Int32, Int32)] = [("A1001", "B01"), ("A2001", "B02"), ("A2002", "B02"), ("A3001", "B03")].map {
        (directory.account($0.0), directory.broker($0.1)!)
    }
    var rng = SplitMix64(state: 7)
    var out: [Command] = []
    out.reserveCapacity(n)
    for i in 0..<n {
        let (acct, broker) = accounts[rng.below(accounts.count)]
        let ts = config.tradingDate.midnightNanos + Int64(i)
        if rng.below(10) < 7 || i < 10 {
            let side: Side = rng.below(2) == 0 ? .buy : .sell
            let px = Int64(1_170 + rng.below(60)) * 100
            out.append(.newOrder(broker: broker, ts: ts, cid: ClientOrderID("c\(i)")!, account: acct, instrument: 0,
                                 side: side, qty: Int64(1 + rng.below(3)) * 100, price: px,
                                 tif: rng.below(10) == 0 ? .ioc : .day))
        } else {
            out.append(.cancel(broker: broker, ts: ts, cid: ClientOrderID("c\(rng.below(i))")!))
        }
    }
    return out
}


var count = 1_000_000
var mode = "both"
var snapshotEvery = 1_000_000
var root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-pipeline-bench-\(getpid())").path
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    guard let v = args.popFirst() else { print("usage: cuohe-pipeline-bench [--commands N] [--dir DIR] [--mode single|threaded|both] [--snapshot-every N]"); exit(2) }
    switch a {
    case "--commands": count = Int(v) ?? count
    case "--dir": root = v
    case "--mode": mode = v
    case "--snapshot-every": snapshotEvery = Int(v) ?? snapshotEvery
    default: print("unknown option \(a)"); exit(2)
    }
}
try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
let all = commands(count)
var limits = EngineLimits(ordersLiveMax: 1 << 20, cidsPerDayMax: count + 16)
limits.prefaultsMemory = true  // page faults belong to start-up, not to the measured run
var summary: [String] = []
for durability in [Durability.sync, Durability.none] where mode != "threaded" {
    // Throughput.
    let dir = root + "/\(durability.rawValue)-throughput"
    try? FileManager.default.removeItem(atPath: dir)
    let (journal, _) = try Journal.open(directory: dir, durability: durability) { print($0) }
    var matcher = Matcher(config: DemoMarket.config, limits: limits)
    var events = EventBuffer(capacity: 1 << 16)
    let start = nowNanos()
    var i = 0
    while i < all.count {
        let batch = Array(all[i..<min(i + 1024, all.count)])
        try journal.append(batch)
        events.removeAll()
        batch.withUnsafeBufferPointer { matcher.process($0, into: &events) }
        i += batch.count
    }
    let rate = Double(all.count) / (Double(nowNanos() - start) / 1e9)
    print("\(durability.rawValue): \(Int(rate)) commands/s durable and matched (batches of 1024)")
    summary.append("\(durability.rawValue)_cmds_per_sec=\(Int(rate))")
    try? FileManager.default.removeItem(atPath: dir)

    // Durable-ack latency at 100k commands/s.
    let ldir = root + "/\(durability.rawValue)-latency"
    try? FileManager.default.removeItem(atPath: ldir)
    let (ljournal, _) = try Journal.open(directory: ldir, durability: durability) { print($0) }
    var lmatcher = Matcher(config: DemoMarket.config, limits: limits)
    let paced = min(all.count, 300_000)
    let gap: Int64 = 10_000
    var latencies: [Int64] = []
    latencies.reserveCapacity(paced)
    let t0 = nowNanos()
    var next = 0
    var batches = 0
    while next < paced {
        let now = nowNanos()
        let arrived = min(paced, Int((now - t0) / gap) + 1)
        if arrived <= next { continue }
        let end = min(arrived, next + 1024)
        let batch = Array(all[next..<end])
        try ljournal.append(batch)
        events.removeAll()
        batch.withUnsafeBufferPointer { lmatcher.process($0, into: &events) }
        let done = nowNanos()
        for k in next..<end { latencies.append(done - (t0 + Int64(k) * gap)) }
        next = end
        batches += 1
    }
    latencies.sort()
    let line = "p50=\(percentile(latencies, 0.5) / 1000)us p99=\(percentile(latencies, 0.99) / 1000)us "
        + "p99.9=\(percentile(latencies, 0.999) / 1000)us max=\(latencies.last! / 1000)us"
    print("\(durability.rawValue): durable-ack latency at 100k commands/s: \(line) (\(paced / max(batches, 1)) commands a batch)")
    summary.append("\(durability.rawValue)_ack_p50_us=\(percentile(latencies, 0.5) / 1000) "
                   + "\(durability.rawValue)_ack_p99_us=\(percentile(latencies, 0.99) / 1000) "
                   + "\(durability.rawValue)_ack_p999_us=\(percentile(latencies, 0.999) / 1000)")
    try? FileManager.default.removeItem(atPath: ldir)
}

/// First-event latencies, written by the egress thread only, read after the pipeline is joined.
final class Latencies: @unchecked Sendable {
    let values: UnsafeMutablePointer<Int64>
    let capacity: Int
    var count = 0
    var lastTs: Int64 = -1
    var events = 0
    var lastEventAt: Int64 = 0
    init(capacity: Int) {
        self.capacity = capacity
        values = .allocate(capacity: capacity)
    }
    deinit { values.deallocate() }
    func saw(_ e: Event) {
        events += 1
        if e.ts != lastTs {
            lastTs = e.ts
            if count < capacity {
                values[count] = wallNanos() - e.ts
                count += 1
            }
        }
        lastEventAt = nowNanos()
    }
}

/// Runs `commands` through the threaded pipeline into `dir`; `paced` sends them on the 100k/s
/// schedule (each asks the sequencer for its scheduled arrival, in wall-clock time, as its
/// timestamp), else as fast as the rings take them (the sequencer's clock stamps them).
func runThreaded(_ commands: [Command], durability: Durability, dir: String, paced: Bool,
                 limits: EngineLimits, snapshotEvery: Int) throws -> (Double, Latencies) {
    try? FileManager.default.removeItem(atPath: dir)
    // A fresh data directory on the demo market, opened as the engine opens one (prefaulted:
    // before the clock starts).
    let engine = try Recovery.open(data: dir, configText: nil, configName: nil,
                                   options: RecoveryOptions(limits: limits, durability: durability), log: { print($0) })
    let latencies = Latencies(capacity: commands.count)
    let gap: Int64 = 10_000
    var start: Int64 = 0
    let outcome = Pipeline.run(engine: engine, snapshotEvery: snapshotEvery, recordsTrades: false,
                               sink: EventHandlerSink { latencies.saw($0) }, log: { print($0) },
                               fail: { print("pipeline failed: \($0)"); exit(1) }) { ingress in
        start = nowNanos()
        if !paced {
            for c in commands { ingress.send(.command(c, stamp: nil)) }
            return
        }
        let t0 = nowNanos()
        let wall0 = wallNanos()
        var next = 0
        while next < commands.count {
            let arrived = min(commands.count, Int((nowNanos() - t0) / gap) + 1)
            while next < arrived {
                ingress.send(.command(commands[next], stamp: wall0 + Int64(next) * gap))
                next += 1
            }
            ingress.flush()
            usleep(50)
        }
    }
    precondition(outcome.matcher.counters.commands == Int64(commands.count), "every command matched")
    let rate = Double(commands.count) / (Double(latencies.lastEventAt - start) / 1e9)
    return (rate, latencies)
}

for durability in [Durability.sync, Durability.none] where mode != "single" {
    let dir = root + "/threaded-\(durability.rawValue)"
    let (rate, _) = try runThreaded(all, durability: durability, dir: dir, paced: false, limits: limits, snapshotEvery: snapshotEvery)
    print("\(durability.rawValue): threaded pipeline: \(Int(rate)) commands/s through journal, matcher, settlement, egress")
    summary.append("threaded_\(durability.rawValue)_cmds_per_sec=\(Int(rate))")
    let paced = Array(all.prefix(300_000))
    let (_, l) = try runThreaded(paced, durability: durability, dir: dir, paced: true, limits: limits, snapshotEvery: snapshotEvery)
    var sorted = Array(UnsafeBufferPointer(start: l.values, count: l.count))
    sorted.sort()
    let line = "p50=\(percentile(sorted, 0.5) / 1000)us p99=\(percentile(sorted, 0.99) / 1000)us "
        + "p99.9=\(percentile(sorted, 0.999) / 1000)us max=\(sorted.last! / 1000)us"
    print("\(durability.rawValue): threaded durable-ack latency at 100k commands/s: \(line) (\(l.count) commands)")
    summary.append("threaded_\(durability.rawValue)_ack_p50_us=\(percentile(sorted, 0.5) / 1000) "
                   + "threaded_\(durability.rawValue)_ack_p99_us=\(percentile(sorted, 0.99) / 1000) "
                   + "threaded_\(durability.rawValue)_ack_p999_us=\(percentile(sorted, 0.999) / 1000)")
    try? FileManager.default.removeItem(atPath: dir)
}
try? FileManager.default.removeItem(atPath: root)
print("bench pipeline " + summary.joined(separator: " "))
