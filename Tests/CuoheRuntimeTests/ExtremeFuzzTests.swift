import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// A fuzz through the `cuohe` binary whose lines carry extreme values: amounts and quantities at
/// and past every bound, prices at the price bound and past what an `Int64` holds, many accounts
/// depositing to the largest balance, far `ROLL`s, stamps out of order, broken bytes. The same
/// input runs in memory, through `--data` (snapshots every few hundred commands), through `--data`
/// split across a restart, and is then checked by `journal verify`: no run may crash, and every
/// run must print the same bytes.
final class ExtremeFuzzTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-fuzz-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    static let accountCount = 150

    /// `TOP` trades at the price bound, `MID` is ordinary, `DUST` trades at 0.0001 and 0.0002; 150
    /// accounts, a few holding 10^12 shares, a few starting at the largest balance.
    static var config: String {
        var accounts: [String] = []
        for a in 0..<accountCount {
            var holdings: [String] = []
            if a % 37 == 0 { holdings = ["\"TOP\": 1000000000000", "\"MID\": 1000000000000", "\"DUST\": 1000000000000"] }
            if a % 11 == 1 && holdings.isEmpty { holdings.append("\"MID\": 500000") }
            let cash = a % 50 == 3 ? "10000000000000" : (a % 7 == 0 ? "0" : "\(a * 12345).6789")
            let cap = a % 13 == 5 ? ", \"annualBuyCap\": \"10000000000000\"" : ""
            accounts.append("""
                { "id": "F\(a)", "broker": "B0\(1 + a % 4)", "qualifiedUntil": "2262-04-10", "cash": "\(cash)"\(cap),
                  "holdings": { \(holdings.joined(separator: ", ")) } }
                """)
        }
        return """
            { "tradingDate": "2026-12-01", "fees": { "feeBps": 3, "stampDutyBps": 10 },
              "instruments": [
                { "symbol": "TOP", "name": "Top", "tick": "100000", "lot": 1, "referencePrice": "1000000000", "bandPercent": 50 },
                { "symbol": "MID", "name": "Mid", "tick": "0.01", "lot": 100, "referencePrice": "10.00", "bandPercent": 10,
                  "holdingDays": 1 },
                { "symbol": "DUST", "name": "Dust", "tick": "0.0001", "lot": 1, "referencePrice": "0.0001", "bandPercent": 100 }
              ],
              "brokers": [ { "id": "OPS", "token": "o", "operator": true }, { "id": "B01", "token": "1" },
                           { "id": "B02", "token": "2" }, { "id": "B03", "token": "3" }, { "id": "B04", "token": "4" } ],
              "accounts": [ \(accounts.joined(separator: ",\n")) ] }
            """
    }

    /// Seeded lines aimed at the bounds.
    static func input(lines count: Int, seed: UInt64) -> [UInt8] {
        var x = seed
        func next(_ n: Int) -> Int {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((x >> 33) % UInt64(n))
        }
        func pick(_ items: [String]) -> String { items[next(items.count)] }
        let amounts = ["10000000000000", "10000000000000.0001", "922337203685477.5807", "922337203685477.5808",
                       "100000000000000", "99999999999999.9999", "0.0001", "1", "0", "123456.78", "9999999999999999999"]
        let prices = ["1000000000", "1000000000.0001", "999999999.9999", "500000000", "750000000", "0.0001", "0.0002",
                      "10.00", "11.00", "9.00", "0", "922337203685477.5808", "99999999999999999999", "1.00001"]
        let quantities = ["1", "100", "1000000000000", "1000000000001", "9223372036854775807", "99999999999999999999",
                          "0", "500", "100000"]
        let symbols = ["TOP", "MID", "DUST", "NOPE"]
        var out: [UInt8] = []
        var cids = 0
        var day = CivilDate(year: 2026, month: 12, day: 1)!
        for i in 0..<count {
            // Mostly the account's own broker; now and then another's (NOT_YOUR_ACCOUNT).
            // Holders of 10^12 shares and the richest accounts come up often: they make the trades
            // at the price bound.
            let a = [37 * next(5), 3 + 50 * next(3), next(accountCount), next(accountCount)][next(4)]
            let broker = "B0\(1 + (next(10) == 0 ? next(4) : a % 4))"
            let account = "F\(a)"
            var line: String
            switch next(1_000) {
            case ..<100: line = "OPS DEPOSIT acct=\(account) amount=\(pick(amounts))"
            case ..<140: line = "OPS WITHDRAW acct=\(account) amount=\(pick(amounts))"
            case ..<540:
                // A lawful order at each instrument's own edges: they rest, cross and settle.
                cids += 1
                let (sym, qty, px) = [("TOP", ["1", "10", "10000", "1000000000000"], ["500000000", "750000000", "1000000000"]),
                                      ("MID", ["100", "100000", "1000000000000"], ["9.00", "10.00", "11.00"]),
                                      ("DUST", ["1", "1000000", "1000000000000"], ["0.0001", "0.0002"])][next(3)]
                line = "\(broker) NEW cid=c\(cids) acct=\(account) sym=\(sym) side=\(pick(["BUY", "SELL"])) qty=\(pick(qty))"
                    + (next(8) == 0 ? " type=MARKET" : " px=\(pick(px))") + (next(3) == 0 ? " tif=\(pick(["GTC", "IOC", "FOK"]))" : "")
            case ..<650:
                cids += 1
                let market = next(6) == 0
                line = "\(broker) NEW cid=c\(cids) acct=\(account) sym=\(pick(symbols)) side=\(pick(["BUY", "SELL"])) "
                    + "qty=\(pick(quantities))" + (market ? " type=MARKET" : " px=\(pick(prices))")
                    + (next(3) == 0 ? " tif=\(pick(["DAY", "GTC", "IOC", "FOK"]))" : "")
            case ..<720:
                cids += 1
                line = "\(broker) REPLACE cid=c\(max(1, cids - 1 - next(20))) newcid=c\(cids) qty=\(pick(quantities))"
                    + (next(2) == 0 ? " px=\(pick(prices))" : "")
            case ..<790: line = "\(broker) CANCEL cid=c\(max(1, cids - next(30)))"
            case ..<820: line = "\(broker) STATUS cid=c\(max(1, cids - next(30)))"
            case ..<850:
                day = CivilDate(daysSinceEpoch: day.daysSinceEpoch + 1 + Int32(next(3)))
                // The far dates only near the end: after them no later day is left.
                let far = i > count * 9 / 10 && next(4) == 0
                line = "OPS ROLL date=\(far ? pick(["2262-04-10", "2262-04-11", "9999-12-31"]) : day.iso)"
            case ..<865:
                let sym = pick(symbols)
                line = "OPS HALT sym=\(sym)" + (next(4) != 0 ? "\nOPS RESUME sym=\(sym)" : "")
            case ..<880:
                // Mostly a close (its DAY orders expire) and the reopening after it.
                let sym = pick(symbols)
                line = "OPS PHASE sym=\(sym) phase=\(pick(["CLOSED", "AUCTION", "OPEN"]))"
                if next(4) != 0 { line += "\nOPS PHASE sym=\(sym) phase=OPEN" }
            case ..<890: line = "OPS STATS"
            case ..<910: line = "@\(pick(["0", "9223372036854775807", "1796083200000000000", "1999999999999999999"])) \(broker) STATUS cid=c1"
            case ..<930: line = "\(broker) \(pick(["PING t=x", "LOGIN broker=\(broker) token=1", "SUB sym=TOP depth=20", "LOGOUT"]))"
            case ..<950: line = String(repeating: pick([" ", "x", "B01 "]), count: 1_000 + next(5_000))
            default:
                // Bytes of any kind: a terminal escape, broken UTF-8, NUL, lone \r.
                var bytes: [UInt8] = Array("\(broker) ".utf8)
                for _ in 0..<(1 + next(40)) { bytes.append(UInt8(next(256))) }
                out += bytes.filter { $0 != UInt8(ascii: "\n") } + [UInt8(ascii: "\n")]
                continue
            }
            out += Array(line.utf8) + [UInt8(ascii: "\n")]
        }
        return out
    }

    func cuohe(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try CrashTests.runCuohe(arguments)
    }

    func testExtremeInputNeverCrashesAndEveryPathPrintsTheSame() throws {
        let configPath = root + "/market.json"
        try Self.config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let lines = Self.input(lines: 6_000, seed: 0xF022)
        let inputPath = root + "/day.txt"
        try Data(lines).write(to: URL(fileURLWithPath: inputPath))
        let memory = try cuohe(["replay", "--config", configPath, inputPath])
        XCTAssertEqual(memory.status, 0, memory.stderr)
        // Not a trivial run: orders traded, deposits and rejects at the bounds were reached.
        let topTrades = memory.stdout.components(separatedBy: "* TRADE sym=TOP").count - 1
        XCTAssertGreaterThanOrEqual(topTrades, 10, "trades at the price bound")
        XCTAssertGreaterThanOrEqual(memory.stdout.components(separatedBy: "* TRADE").count - 1, 100, "trades")
        XCTAssertTrue(memory.stdout.contains("detail=CASH_LIMIT"))
        XCTAssertTrue(memory.stdout.contains("reason=LINE_TOO_LONG"))
        XCTAssertTrue(memory.stdout.contains("detail=BAD_TIMESTAMP"))
        XCTAssertTrue(memory.stdout.contains("reason=BAD_QTY"))

        let data = root + "/data"
        let durable = try cuohe(["replay", "--config", configPath, "--data", data, "--no-prefault", "--snapshot-every", "700",
                                 inputPath])
        XCTAssertEqual(durable.status, 0, durable.stderr)
        XCTAssertEqual(durable.stdout, memory.stdout, "the journaled run prints what the in-memory run prints")
        let verify = try cuohe(["journal", "verify", data])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)

        // Split at a line boundary across a restart (recovering from a snapshot): the same bytes.
        let newlines = lines.indices.filter { lines[$0] == UInt8(ascii: "\n") }
        let cut = newlines[newlines.count / 2] + 1
        try Data(lines[..<cut]).write(to: URL(fileURLWithPath: root + "/first.txt"))
        try Data(lines[cut...]).write(to: URL(fileURLWithPath: root + "/second.txt"))
        let split = root + "/split"
        let first = try cuohe(["replay", "--config", configPath, "--data", split, "--no-prefault", "--snapshot-every", "500",
                               root + "/first.txt"])
        let second = try cuohe(["replay", "--data", split, "--no-prefault", root + "/second.txt"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("(snapshot at "), "the restart recovered from a snapshot: \(second.stderr)")
        XCTAssertEqual(first.stdout + second.stdout, memory.stdout, "a restart changes nothing printed")
        let verifySplit = try cuohe(["journal", "verify", split])
        XCTAssertEqual(verifySplit.status, 0, verifySplit.stdout + verifySplit.stderr)
        let hash = { (s: String) in s.split(separator: " ").first { $0.hasPrefix("state=") } }
        XCTAssertEqual(hash(verifySplit.stdout), hash(verify.stdout), "the same state")
    }
}
