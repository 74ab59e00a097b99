import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// The end-of-day files' newer parts: the `kind` of each trade and `instruments.csv`, written at
/// a `ROLL`, by `--export` (in memory and with a data directory) and by `journal rebuild-eod`.
final class EndOfDayTests: XCTestCase {
    var dir = ""
    let market = Directory(config: DemoMarket.config)
    let date = CivilDate(year: 2026, month: 12, day: 1)!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-eodt-\(getpid())-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func cuohe(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let result = try CrashTests.runCuohe(arguments)
        XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
        return result
    }

    func file(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    func input(_ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func trade(_ tid: Int64, instrument: Int32, price: Int64, qty: Int64, on day: CivilDate, kind: TradeKind = .book)
        -> TradeRecord {
        TradeRecord(tid: tid, date: day, ts: tid, instrument: instrument, price: price, qty: qty, buyer: 2, buyerBroker: 1,
                    seller: 0, sellerBroker: 0, buyerFee: 0, sellerFee: 0, stampDuty: 0, kind: kind)
    }

    /// Every kind has one spelling, the same in the public `TRADE` and in `trades.csv`.
    func testEachTradeKindIsSpelledTheSameInTheTradeLineAndTradesCSV() {
        let formatter = LineFormatter(directory: market)
        let kinds: [(TradeKind, String)] = [(.book, "BOOK"), (.auction, "AUCTION"), (.quote, "QUOTE"), (.cross, "CROSS")]
        for (kind, spelling) in kinds {
            var e = Event(kind: .trade, broker: 1, ts: 9)
            e.instrument = 0
            e.tid = 7
            e.mdseq = 3
            e.price = 121_000
            e.qty = 100
            e.tradeKind = kind
            XCTAssertTrue(formatter.line(e).hasPrefix("TRADE sym=ZJ100231 mdseq=3 tid=7 px=12.10 qty=100 kind=\(spelling)"),
                          formatter.line(e))
            let csv = EndOfDay.tradesCSV([trade(7, instrument: 0, price: 121_000, qty: 100, on: date, kind: kind)],
                                         directory: market)
            XCTAssertEqual(csv, EndOfDay.tradesHeader + "\n"
                           + "7,2026-12-01,7,ZJ100231,12.10,100,A2001,B02,A1001,B01,0.00,0.00,0.00,\(spelling)\n")
        }
    }

    /// `instruments.csv` counts the trades of its day only, per instrument, and sums volume and
    /// value exactly even past 64 bits (two trades at the largest price and quantity).
    func testInstrumentsCountTheirDayOnlyAndSumPastSixtyFourBits() throws {
        let other = CivilDate(year: 2026, month: 11, day: 30)!
        let trades = [
            trade(1, instrument: 0, price: Bounds.priceMax, qty: Bounds.quantityMax, on: date),
            trade(2, instrument: 0, price: Bounds.priceMax, qty: Bounds.quantityMax, on: date, kind: .auction),
            trade(3, instrument: 0, price: 1, qty: 3, on: date),
            trade(4, instrument: 1, price: 85_000, qty: 1_000, on: other),
            trade(5, instrument: 2, price: 32_500, qty: 7, on: date),
        ]
        let matcher = Matcher(config: DemoMarket.config, limits: EngineLimits(ordersLiveMax: 64, cidsPerDayMax: 64,
                                                                              positionsMax: 64, lockLotsMax: 64))
        let open = DayPrices(openDayOf: matcher)
        XCTAssertEqual(open, DayPrices(date: date, reference: [120_000, 85_000, 32_000, 50_000],
                                             next: [120_000, 85_000, 32_000, 50_000]))
        let prices = DayPrices(date: date, reference: open.reference, next: [121_000, 85_000, 32_500, 50_000])
        XCTAssertEqual(EndOfDay.instrumentsCSV(trades, prices: prices, ledger: matcher.ledger, directory: market), """
            sym,date,referencePrice,nextReferencePrice,trades,volume,value,holders
            ZJ100231,2026-12-01,12.00,12.10,3,2000000000003,2000000000000000000000.0003,3
            ZJ100518,2026-12-01,8.50,8.50,0,0,0.00,3
            ZJ200077,2026-12-01,3.20,3.25,1,7,22.75,3
            ZJ300155,2026-12-01,5.00,5.00,0,0,0.00,2

            """)
    }

    /// A day of two book trades closed by a `ROLL`: its `instruments.csv` is worked out by hand
    /// (A3001 is a new holder of ZJ100231, the fourth; the other two instruments keep the three
    /// of the demo market's holdings). `--export` of the day before its ROLL writes the same file,
    /// in memory and through a data directory; `journal verify` checks it and `rebuild-eod`
    /// puts it back.
    func testInstrumentsOfARolledDay() throws {
        let day = """
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=300 px=12.10
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.10
            B03 NEW cid=b2 acct=A3001 sym=ZJ100231 side=BUY qty=100 px=12.10

            """
        let closed = """
            sym,date,referencePrice,nextReferencePrice,trades,volume,value,holders
            ZJ100231,2026-12-01,12.00,12.10,2,300,3630.00,4
            ZJ100518,2026-12-01,8.50,8.50,0,0,0.00,3
            ZJ200077,2026-12-01,3.20,3.20,0,0,0.00,3
            ZJ300155,2026-12-01,5.00,5.00,0,0,0.00,2

            """
        let dayOnly = try input("day.txt", day)
        let rolled = try input("rolled.txt", day + "OPS ROLL date=2026-12-02\n")
        let data = dir + "/data"
        _ = try cuohe(["replay", "--data", data, "--no-prefault", rolled])
        let written = data + "/eod/2026-12-01/instruments.csv"
        XCTAssertEqual(try file(written), closed)
        let trades = try file(data + "/eod/2026-12-01/trades.csv").split(separator: "\n")
        XCTAssertEqual(trades.count, 3)
        XCTAssertTrue(trades.dropFirst().allSatisfy { $0.hasSuffix(",BOOK") }, "\(trades)")
        _ = try cuohe(["replay", "--export", dir + "/memory", dayOnly])
        XCTAssertEqual(try file(dir + "/memory/instruments.csv"), closed)
        _ = try cuohe(["replay", "--data", dir + "/other", "--no-prefault", "--export", dir + "/durable", dayOnly])
        XCTAssertEqual(try file(dir + "/durable/instruments.csv"), closed)
        // After the ROLL the open day starts from the prices the close reported.
        _ = try cuohe(["replay", "--export", dir + "/after", rolled])
        XCTAssertEqual(try file(dir + "/after/instruments.csv"), """
            sym,date,referencePrice,nextReferencePrice,trades,volume,value,holders
            ZJ100231,2026-12-02,12.10,12.10,0,0,0.00,4
            ZJ100518,2026-12-02,8.50,8.50,0,0,0.00,3
            ZJ200077,2026-12-02,3.20,3.20,0,0,0.00,3
            ZJ300155,2026-12-02,5.00,5.00,0,0,0.00,2

            """)
        XCTAssertTrue(try cuohe(["journal", "verify", data]).stdout.contains("eod_days=1"))
        try closed.replacingOccurrences(of: "3630.00,4", with: "3630.00,5").write(toFile: written, atomically: true,
                                                                                encoding: .utf8)
        let tampered = try CrashTests.runCuohe(["journal", "verify", data])
        XCTAssertEqual(tampered.status, 1)
        XCTAssertTrue(tampered.stderr.contains(written + " differs from what the journal gives"), tampered.stderr)
        try FileManager.default.removeItem(atPath: written)
        let missing = try CrashTests.runCuohe(["journal", "verify", data])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("instruments.csv is missing"), missing.stderr)
        _ = try cuohe(["journal", "rebuild-eod", data])
        XCTAssertEqual(try file(written), closed)
    }

    /// A call auction's uncross is a trade of kind AUCTION in trades.csv, a book trade after it
    /// BOOK: the same through the trade log at a ROLL as in memory. The uncross trades at 12.00
    /// (every price from 12.00 to 12.10 executes 200 with no imbalance; 12.00 is the reference).
    func testAnAuctionTradeIsOfKindAuction() throws {
        let text = try input("auction.txt", """
            OPS PHASE sym=ZJ100231 phase=AUCTION
            B02 NEW cid=b1 acct=A2001 sym=ZJ100231 side=BUY qty=200 px=12.10
            B01 NEW cid=s1 acct=A1001 sym=ZJ100231 side=SELL qty=200 px=12.00
            OPS PHASE sym=ZJ100231 phase=OPEN
            B01 NEW cid=s2 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.05
            B02 NEW cid=b2 acct=A2001 sym=ZJ100231 side=BUY qty=100 px=12.05
            OPS ROLL date=2026-12-02

            """)
        // Fees: 3 bps a side, stamp duty 10 bps on the seller, each rounded down to the fen. The
        // clock starts at the day's midnight, 1 ns a command: the uncross is the 4th command's.
        let expected = """
            tid,date,ts,sym,px,qty,buyer,buyerBroker,seller,sellerBroker,buyerFee,sellerFee,stampDuty,kind
            1,2026-12-01,1796054400000000003,ZJ100231,12.00,200,A2001,B02,A1001,B01,0.72,0.72,2.40,AUCTION
            2,2026-12-01,1796054400000000005,ZJ100231,12.05,100,A2001,B02,A1001,B01,0.36,0.36,1.20,BOOK

            """
        let memory = try cuohe(["replay", "--export", dir + "/memory", text])
        XCTAssertTrue(memory.stdout.contains("* TRADE sym=ZJ100231 mdseq="), memory.stdout)
        XCTAssertTrue(memory.stdout.contains(" tid=1 px=12.00 qty=200 kind=AUCTION"), memory.stdout)
        XCTAssertEqual(try file(dir + "/memory/trades.csv"), expected)
        let data = dir + "/data"
        _ = try cuohe(["replay", "--data", data, "--no-prefault", text])
        XCTAssertEqual(try file(data + "/eod/2026-12-01/trades.csv"), expected)
        XCTAssertTrue(try file(data + "/eod/2026-12-01/instruments.csv")
                        .contains("\nZJ100231,2026-12-01,12.00,12.05,2,300,3605.00,3\n"))
    }
}
