import XCTest
import CuoheCore
@testable import CuoheProtocol

/// The engine's parser against the plain reference parser on a seeded stream of lines: valid
/// lines of every verb, and the same lines broken in every way the protocol names (and some it
/// does not). Every answer must be the same, field for field.
final class LineParserDifferentialTests: XCTestCase {
    func testTheParserAnswersEveryLineAsTheReferenceDoes() {
        let directory = Directory(config: DemoMarket.config)
        let parser = LineParser(directory: directory)
        let reference = ReferenceLineParser(directory: directory)
        var x: UInt64 = 0x5EED
        func next(_ n: Int) -> Int {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((x >> 33) % UInt64(n))
        }
        func pick<T>(_ items: [T]) -> T { items[next(items.count)] }
        let valid = [
            "NEW cid=c1 acct=A1001 sym=ZJ100231 side=BUY qty=300 px=12.10",
            "NEW cid=c2 acct=A2001 sym=ZJ100231 side=SELL qty=100 px=12.1 tif=GTC",
            "NEW cid=m1 acct=A3001 sym=ZJ100231 side=BUY qty=500 type=MARKET tif=IOC",
            "NEW cid=f1 acct=A1001 sym=ZJ100231 side=SELL qty=200 px=12.00 type=LIMIT tif=FOK",
            "NEW cid=d1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00 tif=DAY",
            "CANCEL cid=c1", "STATUS cid=c2", "REPLACE cid=c1 newcid=c9 qty=200", "REPLACE cid=c1 newcid=c9 px=12.2",
            "REPLACE cid=c1 newcid=c9 qty=100 px=12.30", "HALT sym=ZJ100231", "RESUME sym=ZJ100231",
            "PHASE sym=ZJ100231 phase=CLOSED", "PHASE sym=ZJ100231 phase=AUCTION", "PHASE sym=ZJ100231 phase=OPEN",
            "ROLL date=2026-12-02", "DEPOSIT acct=A1001 amount=1000.25", "WITHDRAW acct=A2001 amount=5",
            "STATS", "LOGOUT", "LOGIN broker=B01 token=secret1", "LOGIN broker=B01 token=t resume=17 hb=30",
            "PING", "PING t=abc", "SUB sym=ZJ100231 depth=5", "UNSUB sym=ZJ100231",
            "QUOTE cid=q1 acct=A1001 sym=ZJ100231 side=SELL qty=100 px=12.10",
            "ACCEPT cid=a1 acct=A2001 quote=17 qty=100",
            "CROSS cid=x1 acct=A1001 sym=ZJ100231 side=BUY qty=300 px=12.00 ref=AG2026x1 cp=B02",
            "CROSS cid=x2 acct=A2001 sym=ZJ100231 side=SELL qty=300 px=12.00 ref=7 cp=NOPE",
        ]
        let tokens = ["cid=x", "qty=", "=5", "px=1=2", "foo=bar", "Cid=c", "qty=-1", "px=12.345678", "acct=NOPE",
                      "sym=XX", "side=buy", "type=STOP", "tif=GTD", "phase=LUNCH", "date=2026-13-01", "amount=0",
                      "depth=21", "hb=0", "resume=x", "newcid=" + String(repeating: "z", count: 33), "cid=bad!",
                      "t=", "qty=99999999999999999999", "px=.5", "cid=c1", "broker=B02", "token=x", "nokey", "a=b",
                      "ref=" + String(repeating: "r", count: 17), "ref=a_b", "ref=Z9", "cp=B01", "cp=", "quote=0",
                      "quote=-3", "quote=1.5", "quote=99999999999999999999"]
        var compared = 0
        var kinds: [String: Int] = [:]
        for _ in 0..<40_000 {
            var words = pick(valid).split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            switch next(13) {
            case 0: words.remove(at: next(words.count))                         // a field (or the verb) gone
            case 1: words.insert(pick(tokens), at: 1 + next(words.count))       // a stray field
            case 2: words.append(words[next(words.count)])                      // a duplicate
            case 3: words[0] = words[0].lowercased()                            // verb case
            case 4: words.insert("", at: 1 + next(words.count))                 // a double space
            case 5:                                                             // a value swapped
                let i = next(words.count)
                if i > 0 { words[i] = String(words[i].prefix { $0 != "=" }) + "=" + pick(["", "x", "0", "12.10", "A1001", "="]) }
            case 6: words += Array(repeating: "t=1", count: 17)                 // too many fields
            case 7: words[next(words.count)] += pick(["\u{01}", "\u{7F}", " ", "\r", "é"])
            case 8: words.append(String(repeating: "q", count: next(1_100)))    // long lines
            case 9:                                                             // two strays, maybe equal
                let stray = pick(tokens)
                words.insert(stray, at: 1 + next(words.count))
                words.insert(next(2) == 0 ? stray : pick(tokens), at: 1 + next(words.count))
            default: break                                                      // as is
            }
            var line = Array(words.joined(separator: " ").utf8)
            if next(20) == 0 { line.append(UInt8(ascii: "\r")) }
            let broker = Int32(next(directory.brokers.count))
            let mine = "\(parser.parse(line, broker: broker))"
            let theirs = "\(reference.parse(line, broker: broker))"
            if mine != theirs {
                XCTFail("line \(String(decoding: line, as: UTF8.self))\n  parser:    \(mine)\n  reference: \(theirs)")
                return
            }
            // The slice entry point answers the same.
            XCTAssertEqual("\(parser.parse(line[...], broker: broker))", mine)
            compared += 1
            kinds[String(mine.prefix { $0 != "(" }), default: 0] += 1
        }
        XCTAssertEqual(compared, 40_000)
        for kind in ["command", "reject", "session", "empty"] {
            XCTAssertGreaterThan(kinds[kind, default: 0], kind == "empty" ? 0 : 1_000, "too few \(kind) lines")
        }
    }
}
