import XCTest
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// What replay's edge answers for input at and past its bounds: lines too long whatever they hold,
/// the terminator counted in the protocol's 1,024 bytes, names never echoed raw, stamps that never
/// go back, and a deposit past the cash bound named as such.
final class ReplayEdgeTests: XCTestCase {
    /// Replays `lines` (as bytes, each without its `\n`) on the demo market.
    func replay(_ lines: [[UInt8]]) -> [String] {
        var engine = Replay(config: DemoMarket.config, limits: EngineLimits(ordersLiveMax: 1024, cidsPerDayMax: 1024,
                                                                            positionsMax: 1024, lockLotsMax: 1024))
        var out: [UInt8] = []
        for line in lines { engine.feed(line[...], into: &out) }
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Split as bytes: as a `String`, `\r\n` is one character and would not split.
    func replay(_ text: String) -> [String] {
        replay(Array(text.utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { Array($0) })
    }

    /// A line past the input bound used to be cut and then trimmed: one whose first 4,096 bytes
    /// were spaces vanished without an answer. Every line past the bound is answered
    /// `LINE_TOO_LONG`: for its broker when one can be read, else for `-`.
    func testEveryLinePastTheInputBoundIsAnsweredLineTooLong() {
        let spaces = String(repeating: " ", count: 5_000) + "B01 STATUS cid=a"
        let padded = "B01 STATUS cid=a" + String(repeating: " ", count: 5_000)
        let comment = "#" + String(repeating: "x", count: 5_000)
        let out = replay([spaces, padded, comment, "B01 STATUS cid=a"].joined(separator: "\n"))
        XCTAssertEqual(out, [
            "- REJ reason=LINE_TOO_LONG ts=1796054400000000000",
            "B01 REJ reason=LINE_TOO_LONG ts=1796054400000000000",
            "- REJ reason=LINE_TOO_LONG ts=1796054400000000000",
            "B01 REJ seq=1 cid=a reason=UNKNOWN_ORDER ts=1796054400000000000",
        ])
    }

    /// "At most 1024 bytes per line including the terminator": 1,023 bytes and `\n` fit, 1,023
    /// bytes and `\r\n` do not (they used to: the `\r` was dropped before counting).
    func testTheProtocolsBoundCountsTheTerminator() {
        let line = "STATUS cid=a"
        func padded(_ length: Int) -> String { line + String(repeating: " ", count: length - line.count) }
        let out = replay(["B01 " + padded(1_023), "B01 " + padded(1_023) + "\r", "B01 " + padded(1_022) + "\r"]
            .joined(separator: "\n"))
        XCTAssertEqual(out, [
            "B01 REJ seq=1 cid=a reason=UNKNOWN_ORDER ts=1796054400000000000",
            "B01 REJ reason=LINE_TOO_LONG ts=1796054400000000001",
            "B01 REJ seq=2 cid=a reason=UNKNOWN_ORDER ts=1796054400000000001",
        ])
        let parser = LineParser(directory: Directory(config: DemoMarket.config))
        for (text, tooLong) in [(padded(1_023), false), (padded(1_023) + "\r", true), (padded(1_022) + "\r", false),
                                (padded(1_024), true)] {
            if case .reject(.lineTooLong, _, _) = parser.parse(text, broker: 0) {
                XCTAssertTrue(tooLong, "\(text.utf8.count) bytes")
            } else {
                XCTAssertFalse(tooLong, "\(text.utf8.count) bytes")
            }
        }
    }

    /// An unknown broker's name is printed back only if it is a plain identifier: control bytes
    /// (a terminal's escape sequences), broken UTF-8 and look-alike letters (the Kelvin sign for
    /// `K`) become `-`. Inside a protocol line any byte past ASCII is refused `NON_ASCII`, so
    /// nothing echoed (`PONG t=`) can carry one.
    func testNamesAreNeverEchoedRaw() {
        let escape: [UInt8] = [0x1B] + Array("[31mB01 STATUS cid=a".utf8)
        let broken: [UInt8] = [0xFF, 0xFE, 0x41] + Array(" STATUS cid=a".utf8)
        let kelvin = Array("\u{212A}01 STATUS cid=a".utf8)
        let unknown = Array("B99 STATUS cid=a".utf8)
        let pong = Array("B01 PING t=caf\u{E9}".utf8)
        let c1 = Array("B01 PING t=a\u{9B}31m".utf8)
        XCTAssertEqual(replay([escape, broken, kelvin, unknown, pong, c1]), [
            "- REJ reason=AUTH detail=UNKNOWN_BROKER ts=1796054400000000000",
            "- REJ reason=AUTH detail=UNKNOWN_BROKER ts=1796054400000000000",
            "- REJ reason=AUTH detail=UNKNOWN_BROKER ts=1796054400000000000",
            "B99 REJ reason=AUTH detail=UNKNOWN_BROKER ts=1796054400000000000",
            "B01 REJ reason=MALFORMED detail=NON_ASCII ts=1796054400000000000",
            "B01 REJ reason=MALFORMED detail=NON_ASCII ts=1796054400000000000",
        ])
    }

    /// `@` stamps that go back, or fall before the trading day, are refused `BAD_TIMESTAMP`
    /// (they used to be journaled as given); an equal stamp is fine. So the journal's times never
    /// decrease, across a `ROLL` too.
    func testStampsNeverGoBack() {
        let midnight: Int64 = 1_796_054_400_000_000_000  // 2026-12-01 00:00 in +08:00
        let day: Int64 = 86_400_000_000_000
        var engine = Replay(config: DemoMarket.config)
        var out: [UInt8] = []
        var stamps: [Int64] = []
        for line in ["@\(midnight - 1) B01 STATUS cid=a",            // before the trading day
                     "@\(midnight + 500) B01 STATUS cid=a",
                     "@\(midnight + 400) B01 STATUS cid=a",          // back
                     "@\(midnight + 500) B01 STATUS cid=a",          // equal
                     "B01 STATUS cid=a",                             // the clock's next tick
                     "OPS ROLL date=2026-12-02",
                     "@\(midnight + day - 1) B01 STATUS cid=a",      // before the new day
                     "@\(midnight + day + 7) B01 STATUS cid=a"] {
            stamps += engine.feed(Array(line.utf8)[...], into: &out).map(\.ts)
        }
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0.contains("BAD_TIMESTAMP") }, Array(repeating: "- REJ reason=MALFORMED detail=BAD_TIMESTAMP",
                                                                          count: 3))
        XCTAssertEqual(stamps, [midnight + 500, midnight + 500, midnight + 501, midnight + 502, midnight + day + 7])
    }

    /// A `DEPOSIT` past the largest balance says `CASH_LIMIT`, as documented (the parser used to
    /// refuse it first as `BAD_AMOUNT`); an amount past what the engine's integers hold is still
    /// `BAD_AMOUNT`.
    func testADepositPastTheCashBoundSaysCashLimit() {
        XCTAssertEqual(replay("""
            OPS DEPOSIT acct=A1001 amount=10000000000001
            OPS DEPOSIT acct=A1001 amount=922337203685477.5807
            OPS DEPOSIT acct=A1001 amount=922337203685477.5808
            OPS DEPOSIT acct=A1001 amount=0.0001
            """), [
            "OPS REJ reason=MALFORMED detail=CASH_LIMIT ts=1796054400000000000",
            "OPS REJ reason=MALFORMED detail=CASH_LIMIT ts=1796054400000000001",
            "OPS REJ reason=MALFORMED detail=BAD_AMOUNT ts=1796054400000000002",
            "OPS OK verb=DEPOSIT acct=A1001 amount=0.0001 cash=1000000.0001 ts=1796054400000000002",
        ])
    }
}
