import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// The pipeline driven by a source and a sink that are not replay: commands built in memory go
/// in, a sink of the test's own collects what comes out. It must be what the matcher alone gives
/// the same sequenced commands, in the same order, with the edge's answers in their places, and
/// every command in the journal.
final class PipelineTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-pipeline-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    /// What came out of the pipeline, in order.
    final class Collected: @unchecked Sendable {
        enum Item: Equatable {
            case event(kind: EventKind, broker: Int32, seq: Int64, ts: Int64, oid: Int64, tid: Int64)
            case answer(who: String, ts: Int64, nextSeq: Int64)
        }
        var items: [Item] = []
        var flushes = 0
    }

    struct CollectingSink: EgressSink {
        let collected: Collected

        func deliver(_ e: Event) {
            collected.items.append(.event(kind: e.kind, broker: e.broker, seq: e.seq, ts: e.ts, oid: e.oid, tid: e.tid))
        }
        func deliver(_ answer: EdgeAnswer, nextSeq: Int64) {
            collected.items.append(.answer(who: answer.who, ts: answer.ts, nextSeq: nextSeq))
        }
        func flush() throws(IOError) { collected.flushes += 1 }
    }

    /// Seeded order flow on the demo market's first instrument, as binary commands.
    static func commands(_ n: Int, seed: UInt64) -> [Command] {
        var x = seed
        func next(_ m: Int) -> Int {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((x >> 33) % UInt64(m))
        }
        let parties: [(broker: Int32, account: Int32)] = [(0, 0), (1, 2), (1, 3), (2, 4)]
        return (0..<n).map { i in
            let (broker, account) = parties[next(parties.count)]
            if next(10) < 7 || i < 5 {
                return .newOrder(broker: broker, ts: 0, cid: ClientOrderID("p\(i)")!, account: account, instrument: 0,
                                 side: next(2) == 0 ? .buy : .sell, qty: Int64(1 + next(3)) * 100,
                                 price: Int64(1_170 + next(60)) * 100)
            }
            return .cancel(broker: broker, ts: 0, cid: ClientOrderID("p\(next(i))")!)
        }
    }

    func testAnInMemorySourceAndSinkSeeWhatTheMatcherGives() throws {
        let commands = Self.commands(5_000, seed: 31)
        let data = root + "/data"
        let engine = try Recovery.open(data: data, configText: nil, configName: nil,
                                       options: RecoveryOptions(limits: EngineLimits(ordersLiveMax: 1 << 14, cidsPerDayMax: 1 << 15)),
                                       log: { _ in })
        let collected = Collected()
        let pong = EdgeAnswer(who: "B02", broker: 1, body: .session(.pong(token: "x")))
        let metrics = PipelineMetrics()
        let outcome = Pipeline.run(engine: engine, snapshotEvery: 1_000, recordsTrades: true,
                                   sink: CollectingSink(collected: collected), metrics: metrics, log: { _ in },
                                   fail: { XCTFail($0); fatalError($0) }) { ingress in
            for (i, c) in commands.enumerated() {
                ingress.send(.command(c, stamp: nil))
                if i == 2_500 { ingress.send(.answer(pong, stamp: nil)) }
                if i % 97 == 0 { ingress.flush() }
            }
        }
        // The same commands, stamped by the same clock, through the matcher alone.
        var matcher = Matcher(config: DemoMarket.config, limits: EngineLimits(ordersLiveMax: 1 << 14, cidsPerDayMax: 1 << 15))
        var clock = SequencingClock(tradingDate: DemoMarket.config.tradingDate,
                                    brokerIsOperator: Directory(config: DemoMarket.config).brokerIsOperator,
                                    schedule: TradingSchedule(config: DemoMarket.config))
        var expected: [Collected.Item] = []
        var events = EventBuffer()
        for (i, c) in commands.enumerated() {
            guard case .command(let stamped) = clock.sequence(.command(c, stamp: nil)) else { return XCTFail("not sequenced") }
            events.removeAll()
            matcher.process(stamped, into: &events)
            for e in events.array {
                expected.append(.event(kind: e.kind, broker: e.broker, seq: e.seq, ts: e.ts, oid: e.oid, tid: e.tid))
            }
            if i == 2_500 {
                expected.append(.answer(who: "B02", ts: clock.stamp()!, nextSeq: matcher.lastSeq(broker: 1) + 1))
            }
        }
        XCTAssertEqual(collected.items.count, expected.count)
        XCTAssertEqual(collected.items, expected)
        XCTAssertGreaterThan(collected.flushes, 0)
        XCTAssertEqual(outcome.matcher.stateDigest(), matcher.stateDigest())
        XCTAssertEqual(outcome.trades.count, Int(matcher.counters.trades))
        // Each stage counted what it did, once.
        let eventCount = collected.items.filter { if case .event = $0 { return true } else { return false } }.count
        XCTAssertEqual(metrics.commandsSequenced.current, UInt64(commands.count))
        XCTAssertEqual(metrics.commandsMatched.current, UInt64(commands.count))
        XCTAssertEqual(metrics.journalBytes.current, UInt64(commands.count * JournalRecord.recordBytes))
        XCTAssertEqual(metrics.journalAppend.total, metrics.batches.current)
        XCTAssertGreaterThan(metrics.batches.current, 0)
        XCTAssertEqual(metrics.eventsOut.current, UInt64(eventCount))
        XCTAssertEqual(metrics.answersOut.current, 1)
        XCTAssertEqual(metrics.answersSequenced.current, 1)
        XCTAssertEqual(metrics.trades.current, UInt64(matcher.counters.trades))
        XCTAssertEqual(metrics.tradesSettled.current, UInt64(matcher.counters.trades))
        XCTAssertEqual(metrics.restingOrders.current, UInt64(matcher.liveOrderCount))
        XCTAssertGreaterThanOrEqual(metrics.snapshotsTaken.current, 1)
        XCTAssertEqual(metrics.flushes.current, UInt64(collected.flushes))
        XCTAssertEqual(metrics.ringOccupancy().map(\.name), ["ingress", "sequenced", "matched", "settled"])
        XCTAssertEqual(metrics.ringOccupancy().map(\.items), [0, 0, 0, 0], "drained at the end")
        // Everything is in the journal, and the run ended with a snapshot of its last record
        // (those along the way depend on timing: none is taken while one is being written).
        _ = consume outcome
        XCTAssertEqual(try Journal.read(directory: DataDirectory.journalPath(data)).commands.count, commands.count)
        XCTAssertEqual(SnapshotFile.list(data).first, UInt64(commands.count))
    }

    /// A stamp the sequencer may not use turns the command into `BAD_TIMESTAMP`, journals
    /// nothing, and the clock does not move.
    func testTheSequencerOwnsTheClock() throws {
        let data = root + "/data"
        let engine = try Recovery.open(data: data, configText: nil, configName: nil, options: RecoveryOptions(),
                                       log: { _ in })
        let collected = Collected()
        let midnight = DemoMarket.config.tradingDate.midnightNanos
        let status = Command.status(broker: 0, ts: 0, cid: ClientOrderID("a")!)
        let metrics = PipelineMetrics()
        let outcome = Pipeline.run(engine: engine, snapshotEvery: 1_000, recordsTrades: false,
                                   sink: CollectingSink(collected: collected), metrics: metrics, log: { _ in },
                                   fail: { XCTFail($0); fatalError($0) }) { ingress in
            ingress.send(.command(status, stamp: midnight + 500))
            ingress.send(.command(status, stamp: midnight + 10))  // back: refused
            ingress.send(.command(status, stamp: nil))            // the next nanosecond
        }
        XCTAssertEqual(collected.items, [
            .event(kind: .reject, broker: 0, seq: 1, ts: midnight + 500, oid: 0, tid: 0),
            .answer(who: "-", ts: 0, nextSeq: 1),
            .event(kind: .reject, broker: 0, seq: 2, ts: midnight + 501, oid: 0, tid: 0),
        ])
        _ = consume outcome
        XCTAssertEqual(metrics.stampsRefused.current, 1)
        XCTAssertEqual(metrics.commandsSequenced.current, 2)
        XCTAssertEqual(try Journal.read(directory: DataDirectory.journalPath(data)).commands.map(\.ts),
                       [midnight + 500, midnight + 501])
    }

    /// The histogram's buckets are powers of two of nanoseconds; its quantiles are bucket edges.
    func testDurationHistogramBuckets() {
        let h = DurationHistogram()
        for nanos: Int64 in [0, 1, 2, 3, 1_000, 1_023, 1_024, 5_000_000] { h.record(nanos: nanos) }
        XCTAssertEqual(DurationHistogram.bucket(0), 0)
        XCTAssertEqual(DurationHistogram.bucket(1_023), 9)
        XCTAssertEqual(DurationHistogram.bucket(1_024), 10)
        XCTAssertEqual(DurationHistogram.bucket(.max), DurationHistogram.bucketCount - 1)
        XCTAssertEqual(h.total, 8)
        XCTAssertEqual(h.sum, 0 + 1 + 2 + 3 + 1_000 + 1_023 + 1_024 + 5_000_000)
        XCTAssertEqual(h.counts()[9], 2)
        XCTAssertEqual(h.quantileUpperBound(0.5), 4, "the 4th of 8 is 3 ns, in [2, 4)")
        XCTAssertEqual(h.quantileUpperBound(1.0), 1 << 23, "5 ms lies in [2^22, 2^23)")
        XCTAssertEqual(DurationHistogram().quantileUpperBound(0.99), 0)
    }
}
