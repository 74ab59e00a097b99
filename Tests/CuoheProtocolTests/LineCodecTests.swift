import XCTest
import CuoheCore
@testable import CuoheProtocol

final class DecimalTests: XCTestCase {
    /// The parser's overloads on a line's bytes against the generic ones: the same value or the
    /// same refusal on every text, edge cases and random ones.
    func testTheLineOverloadsAgreeWithTheGenericParsers() {
        var g = SystemRandomNumberGenerator()
        var texts = ["", ".", "0", "0.", ".0", "5.", ".5", "1..2", "1.2.3", "00000.0001", "999999999999999",
                     "999999999999999.9999", "1000000000000000", "100000000000000.00001", "922337203685477.5807",
                     "922337203685477.5808", "100000000.0000", "100000000.0001", "12a", "+1", "-1", " 1", "1 ",
                     "123456789012345678", "1234567890123456789", "000000000000000000", "0000000000000000000"]
        let alphabet = Array("0123456789.".utf8) + [0x2F, 0x3A, 0x2D, 0x2B, 0x20, 0x00, 0xB0]
        for _ in 0..<50_000 {
            let n = Int.random(in: 0...24, using: &g)
            let digitsOnly = Bool.random(using: &g)
            let bytes = (0..<n).map { _ in
                digitsOnly ? UInt8.random(in: 48...57, using: &g) : alphabet.randomElement(using: &g)!
            }
            texts.append(String(decoding: bytes, as: UTF8.self))
        }
        for text in texts {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { buffer in
                for max in [Bounds.priceMax, Int64.max] {
                    XCTAssertEqual(Decimal4.parse(buffer, max: max), Decimal4.parse(bytes, max: max), "\(text) max \(max)")
                }
                XCTAssertEqual(Decimal4.parseInteger(buffer), Decimal4.parseInteger(bytes), text)
            }
        }
    }

    func testParsesFixedPointWithAtMostFourFractionalDigits() {
        XCTAssertEqual(Decimal4.parse("12.34"), 123_400)
        XCTAssertEqual(Decimal4.parse("0.5"), 5_000)
        XCTAssertEqual(Decimal4.parse("100"), 1_000_000)
        XCTAssertEqual(Decimal4.parse("0.0001"), 1)
        XCTAssertEqual(Decimal4.parse(".5"), 5_000)
        XCTAssertEqual(Decimal4.parse("0"), 0)
        for bad in ["", ".", "1.", "1.23456", "-1", "+1", "1e3", "1,5", "1.2.3", " 1", "abc", "１"] {
            XCTAssertNil(Decimal4.parse(bad), bad)
        }
        XCTAssertNil(Decimal4.parse("1000000001"), "above the price bound")
        XCTAssertEqual(Decimal4.parse("1000000000"), Bounds.priceMax)
        XCTAssertNil(Decimal4.parse("9999999999999999999"), "overflow is refused, not wrapped")
        // The integer part times 10^4 fits, the fraction added to it does not: this crashed the
        // engine on any price or amount field before the sum was checked.
        XCTAssertEqual(Decimal4.parse("922337203685477.5807", max: .max), Int64.max)
        XCTAssertNil(Decimal4.parse("922337203685477.5808", max: .max))
        XCTAssertNil(Decimal4.parse("922337203685477.9999"))
        let parser = LineParser(directory: Directory(config: DemoMarket.config))
        guard case .command(let c) = parser.parse("NEW cid=a acct=A1001 sym=ZJ100231 side=BUY qty=1 px=922337203685477.5808",
                                                  broker: 0) else { return XCTFail("a NEW reaches the core") }
        XCTAssertEqual(c.price, Command.invalid, "answered BAD_PRICE by the matcher")
    }

    func testFormatsWithTwoDecimalsAtLeastAndNoTrailingZerosBeyond() {
        XCTAssertEqual(Decimal4.format(123_400), "12.34")
        XCTAssertEqual(Decimal4.format(5_000), "0.50")
        XCTAssertEqual(Decimal4.format(12_345), "1.2345")
        XCTAssertEqual(Decimal4.format(12_340), "1.234")
        XCTAssertEqual(Decimal4.format(0), "0.00")
        XCTAssertEqual(Decimal4.format(-1_500), "-0.15")
        XCTAssertEqual(Decimal4.format(Int64.max), "922337203685477.5807")
    }

    /// The line formatter writes integers and amounts itself, straight into the line (and
    /// `Decimal4` through it): checked against the standard library's integer text on the edges
    /// and a seeded spread of magnitudes, both signs.
    func testTheLineWriterFormatsNumbersAsTheStandardLibraryDoes() {
        var values: [Int64] = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1_000, 5_000, 12_345, 120_000, 123_400,
                               Int64.max, Int64.min, Int64.min + 1, -1, -10, -99_999, Bounds.priceMax, Bounds.quantityMax]
        // Each side of every power of ten: where the digit count changes.
        var power: Int64 = 1
        for _ in 0...18 {
            values += [power - 1, power, power + 1, -power, -(power - 1)]
            if power <= Int64.max / 10 { power *= 10 }
        }
        var x: UInt64 = 0xD1617
        for _ in 0..<20_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let magnitude = Int64(bitPattern: x >> 1) >> Int64(x % 63)
            values.append(x & 1 == 0 ? magnitude : -magnitude)
        }
        /// `v` as a decimal of 10^-4 units with at least `minFraction` fractional digits.
        func reference(_ v: Int64, minFraction: Int) -> String {
            let magnitude = v.magnitude
            var fraction = String(magnitude % 10_000)
            fraction = String(repeating: "0", count: 4 - fraction.count) + fraction
            while fraction.count > minFraction && fraction.hasSuffix("0") { fraction.removeLast() }
            return (v < 0 ? "-" : "") + String(magnitude / 10_000) + (fraction.isEmpty ? "" : "." + fraction)
        }
        for v in values {
            var integer: [UInt8] = []
            Decimal4.appendInteger(v, to: &integer)
            XCTAssertEqual(String(decoding: integer, as: UTF8.self), String(v), "integer \(v)")
            for minFraction in [0, 2, 4] {
                XCTAssertEqual(Decimal4.format(v, minFraction: minFraction), reference(v, minFraction: minFraction),
                               "amount \(v), \(minFraction) digits at least")
            }
        }
        // A window too small is reported, never written past.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { buffer in
            var w = FieldWriter(base: buffer.baseAddress!, capacity: 8)
            w.int("ts", 1_796_054_400_000_000_000)
            XCTAssertTrue(w.overflowed)
            XCTAssertLessThanOrEqual(w.count, 8)
        }
    }

    func testRoundTripsEveryValueItFormats() {
        var x: UInt64 = 1
        for _ in 0..<10_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let v = Int64(x >> 20) % Bounds.priceMax
            XCTAssertEqual(Decimal4.parse(Decimal4.format(v)), v)
        }
    }

    func testIntegers() {
        XCTAssertEqual(Decimal4.parseInteger(Array("42".utf8)), 42)
        XCTAssertNil(Decimal4.parseInteger(Array("4x".utf8)))
        XCTAssertNil(Decimal4.parseInteger(Array("".utf8)))
        XCTAssertEqual(Decimal4.parseInt64(Array("9223372036854775807".utf8)), Int64.max)
        XCTAssertNil(Decimal4.parseInt64(Array("9223372036854775808".utf8)))
        var out: [UInt8] = []
        Decimal4.appendInteger(Int64.min + 1, to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "-9223372036854775807")
    }
}

final class LineParserTests: XCTestCase {
    let parser = LineParser(directory: Directory(config: DemoMarket.config))

    func command(_ line: String) -> Command? {
        if case .command(let c) = parser.parse(line, broker: 1) { return c }
        return nil
    }

    func rejection(_ line: String) -> (RejectReason, String?)? {
        if case .reject(let r, _, let d) = parser.parse(line, broker: 1) { return (r, d) }
        return nil
    }

    func testNewResolvesNamesAndNumbers() throws {
        let c = try XCTUnwrap(command("NEW cid=a.b-c_1 acct=A2001 sym=ZJ100518 side=SELL qty=300 px=8.5 tif=GTC"))
        XCTAssertEqual(c.kind, .new)
        XCTAssertEqual(c.broker, 1)
        XCTAssertEqual(c.cid, ClientOrderID("a.b-c_1"))
        XCTAssertEqual(c.account, 2)
        XCTAssertEqual(c.instrument, 1)
        XCTAssertEqual(c.side, .sell)
        XCTAssertEqual(c.qty, 300)
        XCTAssertEqual(c.price, 85_000)
        XCTAssertEqual(c.tif, .gtc)
        XCTAssertEqual(c.type, .limit)
    }

    /// `QUOTE`, `ACCEPT` and `CROSS` (PROTOCOL.md, "Negotiated transfer"): every field required,
    /// none optional; `ref` is 1 to 16 of `[A-Za-z0-9]`; an unknown `cp` reaches the core as -1.
    func testNegotiatedVerbs() throws {
        let q = try XCTUnwrap(command("QUOTE cid=q1 acct=A1001 sym=ZJ300155 side=SELL qty=300 px=5.10"))
        XCTAssertEqual([q.kind.rawValue, q.side.rawValue], [CommandKind.quote.rawValue, Side.sell.rawValue])
        XCTAssertEqual([Int64(q.account), Int64(q.instrument), q.qty, q.price], [0, 3, 300, 51_000])
        let a = try XCTUnwrap(command("ACCEPT cid=a1 acct=T3001 quote=42 qty=100"))
        XCTAssertEqual(a.kind, .accept)
        XCTAssertEqual([Int64(a.account), a.quoteOid, a.qty, Int64(a.instrument)], [5, 42, 100, -1])
        let x = try XCTUnwrap(command("CROSS cid=x1 acct=A2001 sym=ZJ300155 side=BUY qty=500 px=5.05 ref=AG20261201 cp=B03"))
        XCTAssertEqual(x.kind, .cross)
        XCTAssertEqual(x.ref, ClientOrderID("AG20261201"))
        XCTAssertEqual(x.counterBroker, 2)
        XCTAssertEqual(try XCTUnwrap(command("CROSS cid=x acct=A2001 sym=ZJ300155 side=BUY qty=5 px=5 ref=R cp=NOPE")).counterBroker, -1)
        XCTAssertEqual(rejection("QUOTE cid=q acct=A1001 sym=ZJ300155 side=SELL qty=300")?.1, "MISSING_PX")
        XCTAssertEqual(rejection("QUOTE cid=q acct=A1001 sym=ZJ300155 side=SELL qty=300 px=5 tif=GTC")?.1, "UNKNOWN_KEY_TIF")
        XCTAssertEqual(rejection("ACCEPT cid=a acct=A1001 quote=0 qty=100")?.1, "BAD_QUOTE")
        XCTAssertEqual(rejection("ACCEPT cid=a acct=A1001 quote=12 qty=100 px=5")?.1, "UNKNOWN_KEY_PX")
        XCTAssertEqual(rejection("CROSS cid=x acct=A sym=S side=BUY qty=1 px=1 ref=a_b cp=B01")?.1, "BAD_REF")
        XCTAssertEqual(rejection("CROSS cid=x acct=A sym=S side=BUY qty=1 px=1 ref=\(String(repeating: "r", count: 17)) cp=B01")?.1,
                       "BAD_REF")
        XCTAssertNotNil(command("CROSS cid=x acct=A sym=S side=BUY qty=1 px=1 ref=\(String(repeating: "r", count: 16)) cp=B01"))
        XCTAssertEqual(rejection("CROSS cid=x acct=A sym=S side=BUY qty=1 px=1 ref=R")?.1, "MISSING_CP")
    }

    /// A line longer than the formatter's window (only a name the loader would refuse can make
    /// one: here a 600-byte symbol, set in code) is written again into a wider one, whole.
    func testALineLongerThanTheWindowIsWrittenWhole() {
        let long = String(repeating: "S", count: 600)
        let config = MarketConfig(tradingDate: CivilDate(iso: "2026-12-01")!,
                                  instruments: [InstrumentConfig(symbol: long, name: "Long", tick: 100, lot: 100,
                                                                 referencePrice: 100_000, bandPercent: 10)],
                                  brokers: [BrokerConfig(id: "B01", token: "t")], accounts: [])
        let formatter = LineFormatter(directory: Directory(config: config))
        var trade = Event(kind: .trade, broker: 0, ts: 7)
        trade.instrument = 0
        trade.mdseq = 1
        trade.tid = 1
        trade.price = 100_000
        trade.qty = 100
        var out: [UInt8] = Array("before\n".utf8)
        formatter.append(trade, to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "before\nTRADE sym=\(long) mdseq=1 tid=1 px=10.00 qty=100 kind=BOOK ts=7")
        out = []
        formatter.append(trade, who: ClientOrderID("B01")!, to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "B01 TRADE sym=\(long) mdseq=1 tid=1 px=10.00 qty=100 kind=BOOK ts=7\n")
    }

    /// The negotiated verbs' answers and the quote board's line, as the contract spells them.
    func testNegotiatedLinesAreFormatted() {
        let formatter = LineFormatter(directory: Directory(config: DemoMarket.config))
        var ack = Event(kind: .ack, broker: 0, ts: 7)
        ack.seq = 3
        ack.cid = ClientOrderID("q1")!
        ack.oid = 9
        ack.account = 0
        ack.instrument = 3
        ack.side = .sell
        ack.qty = 300
        ack.price = 51_000
        ack.verb = .quote
        XCTAssertEqual(formatter.line(ack), "ACK seq=3 cid=q1 oid=9 acct=A1001 sym=ZJ300155 side=SELL qty=300 px=5.10 tif=DAY type=QUOTE ts=7")
        var board = Event(kind: .quote, broker: 0, ts: 7)
        board.instrument = 3
        board.mdseq = 12
        board.oid = 9
        board.side = .sell
        board.qty = 0
        board.price = 51_000
        XCTAssertEqual(formatter.line(board), "QUOTE sym=ZJ300155 mdseq=12 qid=9 side=SELL qty=0 px=5.10 broker=B01 ts=7")
        var trade = Event(kind: .trade, broker: 0, ts: 7)
        trade.instrument = 3
        trade.mdseq = 13
        trade.tid = 4
        trade.price = 50_500
        trade.qty = 500
        trade.tradeKind = .cross
        XCTAssertEqual(formatter.line(trade), "TRADE sym=ZJ300155 mdseq=13 tid=4 px=5.05 qty=500 kind=CROSS ts=7")
        for (reason, detail, text) in [(RejectReason.crossMismatch, RejectDetail.refInUse, "CROSS_MISMATCH detail=REF_IN_USE"),
                                       (.badQty, .aboveQuote, "BAD_QTY detail=ABOVE_QUOTE"),
                                       (.notPermitted, .selfTrade, "NOT_PERMITTED detail=SELF_TRADE"),
                                       (.notPermitted, .unknownBroker, "NOT_PERMITTED detail=UNKNOWN_BROKER")] {
            var rej = Event(kind: .reject, broker: 1, ts: 7)
            rej.seq = 1
            rej.cid = ClientOrderID("x")!
            rej.reason = reason.rawValue
            rej.detail = detail
            XCTAssertEqual(formatter.line(rej), "REJ seq=1 cid=x reason=\(text) ts=7")
        }
    }

    func testFieldOrderIsFreeAndCarriageReturnIsAccepted() throws {
        let a = try XCTUnwrap(command("NEW px=12 qty=100 side=BUY sym=ZJ100231 acct=A1001 cid=x\r"))
        XCTAssertEqual(a.price, 120_000)
        XCTAssertEqual(a.qty, 100)
    }

    func testUnknownNamesReachTheCoreAsMinusOne() throws {
        let c = try XCTUnwrap(command("NEW cid=x acct=NOPE sym=NOPE side=BUY qty=100 px=1"))
        XCTAssertEqual(c.account, -1)
        XCTAssertEqual(c.instrument, -1)
    }

    func testBadNumbersReachTheCoreMarkedInvalid() throws {
        let c = try XCTUnwrap(command("NEW cid=x acct=A1001 sym=ZJ100231 side=BUY qty=-5 px=1e3"))
        XCTAssertEqual(c.qty, Command.invalid)
        XCTAssertEqual(c.price, Command.invalid)
        let r = try XCTUnwrap(command("REPLACE cid=x newcid=y qty=10"))
        XCTAssertEqual(r.price, Command.absent)
        XCTAssertEqual(r.qty, 10)
    }

    func testMalformedLines() {
        XCTAssertEqual(rejection("NEW cid=x")?.1, "MISSING_ACCT")
        XCTAssertEqual(rejection("CANCEL cid=x cid=y")?.1, "DUPLICATE_KEY")
        XCTAssertEqual(rejection("CANCEL cid=x=y")?.1, "EQUALS_IN_VALUE")
        XCTAssertEqual(rejection("CANCEL Cid=x")?.1, "BAD_KEY")
        XCTAssertEqual(rejection("CANCEL cid")?.1, "FIELD_WITHOUT_VALUE")
        XCTAssertEqual(rejection("CANCEL cid=\(String(repeating: "a", count: 33))")?.1, "BAD_CID")
        XCTAssertEqual(rejection("CANCEL cid=a\u{1}")?.1, "CONTROL_BYTE")
        XCTAssertEqual(rejection("STATS x=1")?.1, "UNKNOWN_KEY_X")
        XCTAssertEqual(rejection("LOGIN broker=B01 token=t hb=61")?.1, "BAD_HB")
        XCTAssertEqual(rejection("SUB sym=ZJ100231 depth=21")?.1, "BAD_DEPTH")
        XCTAssertEqual(rejection("HELLO")?.0, .unknownVerb)
        let fields = (0..<17).map { "k\(String(UnicodeScalar(UInt8(97 + $0))))=1" }.joined(separator: " ")
        XCTAssertEqual(rejection("STATS " + fields)?.1, "TOO_MANY_FIELDS")
    }

    func testCidOfAMalformedLineIsEchoedWhenReadable() {
        if case .reject(_, let cid, _) = parser.parse("NEW cid=abc side=UP", broker: 0) {
            XCTAssertEqual(cid, ClientOrderID("abc"))
        } else {
            XCTFail("expected a rejection")
        }
    }

    func testEmptyAndCommentLinesAreIgnored() {
        for line in ["", "\r", "# LOGIN broker=B01", "#"] {
            if case .empty = parser.parse(line, broker: 0) { continue }
            XCTFail("\(line.debugDescription) should be ignored")
        }
    }

    func testSessionVerbs() {
        if case .session(.login(let b, let t, let resume, let hb)) = parser.parse("LOGIN broker=B01 token=secret1 resume=7", broker: 0) {
            XCTAssertEqual([b, t], ["B01", "secret1"])
            XCTAssertEqual(resume, 7)
            XCTAssertEqual(hb, 5)
        } else {
            XCTFail("LOGIN")
        }
        if case .session(.ping(let t)) = parser.parse("PING t=abc", broker: 0) { XCTAssertEqual(t, "abc") } else { XCTFail("PING") }
        if case .session(.subscribe(let i, let d)) = parser.parse("SUB sym=ZJ200077 depth=5", broker: 0) {
            XCTAssertEqual(i, 2)
            XCTAssertEqual(d, 5)
        } else {
            XCTFail("SUB")
        }
    }
}

final class CapacityTests: XCTestCase {
    func testFullOrderStoreRefusesWithThrottledCarryingSeqAndLosesNothing() {
        var m = Matcher(config: DemoMarket.config, limits: EngineLimits(ordersLiveMax: 2, cidsPerDayMax: 4))
        var events = EventBuffer()
        func new(_ cid: String, _ px: Int64) -> Command {
            .newOrder(broker: 0, ts: 1, cid: ClientOrderID(cid)!, account: 0, instrument: 0, side: .buy, qty: 100, price: px)
        }
        m.process(new("a", 120_000), into: &events)
        m.process(new("b", 119_900), into: &events)
        m.process(new("c", 119_800), into: &events)
        XCTAssertEqual(events.array.map(\.kind), [.ack, .ack, .reject])
        XCTAssertEqual(events[2].rejectReason, .throttled)
        XCTAssertEqual(events[2].detail, .capacity)
        XCTAssertEqual(events[2].seq, 3)
        XCTAssertEqual(m.liveOrderCount, 2)
        events.removeAll()
        // `d` takes the last of the day's 4 cids (and is refused: no room to rest); then the cid
        // index is full and `e` is refused without using its cid.
        m.process(new("d", 119_800), into: &events)
        m.process(new("e", 119_800), into: &events)
        XCTAssertEqual(events.array.map { $0.rejectReason }, [.throttled, .throttled])
        XCTAssertNil(m.verify())
    }
}
