import XCTest
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

final class SnapshotTests: XCTestCase {
    /// Order flow over all three demo instruments (one with a holding period and a holder cap of
    /// 5, one with lot 1), GTC orders, deposits, ROLLs and call auctions: every kind of state a
    /// snapshot holds.
    static func lines(_ n: Int, seed: UInt64) -> [String] {
        var x = seed
        func next(_ k: Int) -> Int {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((x >> 33) % UInt64(k))
        }
        let accounts = [("B01", "A1001"), ("B01", "A1002"), ("B02", "A2001"), ("B02", "A2002"), ("B03", "A3001")]
        let syms = [("ZJ100231", 1150, 100), ("ZJ100518", 800, 100), ("ZJ200077", 300, 1)]
        // ZJ200077 starts the day CLOSED (its schedule opens it): opened at once, so that its
        // orders rest and trade like the others'.
        var out = ["OPS PHASE sym=ZJ200077 phase=OPEN"]
        var day = 2
        for i in 0..<n {
            let (broker, acct) = accounts[next(accounts.count)]
            let (sym, base, lot) = syms[next(3)]
            switch next(100) {
            case 0..<55:
                var px = base + next(60)
                if sym == "ZJ200077" { px = px - px % 5 }
                let tif = ["DAY", "DAY", "GTC", "IOC"][next(4)]
                out.append("\(broker) NEW cid=c\(i) acct=\(acct) sym=\(sym) side=\(next(2) == 0 ? "BUY" : "SELL") "
                           + "qty=\((1 + next(5)) * lot * (lot == 1 ? 37 : 1)) px=\(px / 100).\(px % 100 < 10 ? "0" : "")\(px % 100) tif=\(tif)")
            case 55..<75: out.append("\(broker) CANCEL cid=c\(next(i + 1))")
            case 75..<85: out.append("\(broker) REPLACE cid=c\(next(i + 1)) newcid=r\(i) qty=\((1 + next(5)) * lot)")
            case 85..<92: out.append("\(broker) STATUS cid=c\(next(i + 1))")
            case 92..<96: out.append("OPS DEPOSIT acct=\(acct) amount=\(1 + next(1000)).25")
            case 96 where i % 3 == 0:
                out.append("OPS ROLL date=2026-12-\(day < 10 ? "0" : "")\(day)")
                day = min(day + 1, 28)
            case 97:
                // Call auctions: a snapshot may fall while one collects a crossed book.
                out.append("OPS PHASE sym=\(sym) phase=\(["AUCTION", "AUCTION", "OPEN", "CLOSED"][next(4)])")
            default: out.append("\(broker) NEW cid=m\(i) acct=\(acct) sym=\(sym) side=BUY qty=\(lot) type=MARKET")
            }
        }
        return out
    }

    func testRestoreGivesTheSameStateAndTheSameFuture() throws {
        let limits = EngineLimits(ordersLiveMax: 1 << 14, cidsPerDayMax: 1 << 16, positionsMax: 256, lockLotsMax: 256)
        let all = Self.lines(12_000, seed: 99)
        // Also a cut while an auction collects a crossed book (its index and indicative price are
        // rebuilt by the restore, not stored).
        var probe = Replay(config: DemoMarket.config, limits: limits, recordsTrades: false)
        var ignored: [UInt8] = []
        var crossedAt: Int?
        for (k, line) in all.enumerated() {
            probe.feed(Array(line.utf8)[...], into: &ignored)
            if (0..<3).contains(where: { probe.matcher.indicative(Int32($0)) != nil }) {
                crossedAt = k + 1
                break
            }
        }
        let auctionCut = try XCTUnwrap(crossedAt, "the flow never crosses a book in an auction")
        for cut in [0, 1, auctionCut, 4_321, 11_999] {
            var live = Replay(config: DemoMarket.config, limits: limits, recordsTrades: false)
            var discard: [UInt8] = []
            for line in all[..<cut] { live.feed(Array(line.utf8)[...], into: &discard) }
            let bytes = live.matcher.snapshot()
            guard var restored = Matcher.restore(bytes, config: DemoMarket.config, limits: limits) else {
                return XCTFail("snapshot at \(cut) does not restore")
            }
            XCTAssertEqual(restored.stateDigest(), live.matcher.stateDigest(), "state differs after restore at \(cut)")
            XCTAssertEqual(restored.snapshot(), bytes, "a restored matcher snapshots to the same bytes")
            // The future: the rest of the day through both, message by message.
            let text = ReplayText(directory: live.directory)
            var liveOut: [UInt8] = []
            var restoredOut: [UInt8] = []
            var events = EventBuffer()
            for line in all[cut...] {
                var out: [UInt8] = []
                let commands = live.feed(Array(line.utf8)[...], into: &out)
                liveOut += out
                events.removeAll()
                for command in commands { restored.process(command, into: &events) }
                for i in 0..<events.count { text.append(events[i], to: &restoredOut) }
            }
            XCTAssertEqual(String(decoding: restoredOut, as: UTF8.self), String(decoding: liveOut, as: UTF8.self),
                           "outputs after a restore at \(cut) differ")
            XCTAssertEqual(restored.stateDigest(), live.matcher.stateDigest())
            XCTAssertGreaterThan(live.matcher.counters.trades, 100)
        }
    }

    func testDamagedSnapshotsAreRefused() {
        var live = Replay(config: DemoMarket.config, limits: EngineLimits(ordersLiveMax: 4096, cidsPerDayMax: 16384))
        var discard: [UInt8] = []
        for line in Self.lines(2_000, seed: 7) { live.feed(Array(line.utf8)[...], into: &discard) }
        let bytes = live.matcher.snapshot()
        let limits = EngineLimits(ordersLiveMax: 4096, cidsPerDayMax: 16384)
        func restores(_ bytes: [UInt8], _ config: MarketConfig = DemoMarket.config) -> Bool {
            guard let m = Matcher.restore(bytes, config: config, limits: limits) else { return false }
            return m.verify() == nil
        }
        XCTAssertTrue(restores(bytes))
        XCTAssertFalse(restores(Array(bytes.dropLast())), "truncated")
        XCTAssertFalse(restores(bytes + [0]), "trailing bytes")
        var other = DemoMarket.config
        other.instruments.removeLast()
        XCTAssertFalse(restores(bytes, other), "another market")
        var wrongMagic = bytes
        wrongMagic[0] ^= 1
        XCTAssertFalse(restores(wrongMagic))
    }
}
