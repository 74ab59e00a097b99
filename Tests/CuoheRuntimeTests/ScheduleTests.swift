import XCTest
import Foundation
import CuoheCore
import CuoheProtocol
@testable import CuoheRuntime

/// The trading schedule as an operator meets it: the demo market's ZJ200077 runs an opening call
/// auction, continuous trading and a closing call auction by its schedule (+08:00) alone.
extension CommandLineTests {
    static var auctionDay: String {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("docs/examples/auction-day.txt").path
    }

    /// The day, worked out by hand: 09:00 is before the auction (MARKET_CLOSED); the 09:15 PHASE is
    /// issued, stamped 09:15, before the 09:16 order; 1,000 shares clear at 3.25 and 3.30 with
    /// imbalance 100 at both, so 3.25, nearer the reference 3.20; the 09:25 PHASE OPEN uncrosses
    /// before the 10:00 order, which trades in the book; the closing auction uncrosses 300 at
    /// 3.35 at 15:00, then the rest of the DAY bid expires; the ROLL makes 3.35 the reference, and
    /// the next day's 09:15 PHASE is issued before the 09:20 order.
    static let auctionDayOutput = """
            B01 REJ seq=1 cid=early reason=MARKET_CLOSED ts=1796086800000000000
            OPS OK verb=PHASE sym=ZJ200077 phase=AUCTION ts=1796087700000000000
            B01 ACK seq=2 cid=o1 oid=1 acct=A1002 sym=ZJ200077 side=BUY qty=1000 px=3.30 tif=DAY ts=1796087760000000000
            B02 ACK seq=1 cid=o2 oid=2 acct=A2002 sym=ZJ200077 side=SELL qty=600 px=3.15 tif=DAY ts=1796087820000000000
            * IOP sym=ZJ200077 iop=3.20 iov=600 ts=1796087820000000000
            B03 ACK seq=1 cid=o3 oid=3 acct=A3001 sym=ZJ200077 side=SELL qty=500 px=3.25 tif=DAY ts=1796087880000000000
            * IOP sym=ZJ200077 iop=3.25 iov=1000 ts=1796087880000000000
            B02 ACK seq=2 cid=o4 oid=4 acct=A2001 sym=ZJ200077 side=BUY qty=400 px=3.20 tif=DAY ts=1796087940000000000
            B01 ACK seq=3 cid=o5 oid=5 acct=A1001 sym=ZJ200077 side=SELL qty=300 px=3.35 tif=DAY ts=1796088000000000000
            B02 REJ seq=3 cid=o6 reason=MARKET_CLOSED detail=AUCTION ts=1796088060000000000
            OPS OK verb=PHASE sym=ZJ200077 phase=OPEN ts=1796088300000000000
            B01 FILL seq=4 cid=o1 oid=1 tid=1 px=3.25 qty=600 leaves=400 cum=600 liq=AUCTION ts=1796088300000000000
            B02 FILL seq=4 cid=o2 oid=2 tid=1 px=3.25 qty=600 leaves=0 cum=600 liq=AUCTION ts=1796088300000000000
            * TRADE sym=ZJ200077 mdseq=1 tid=1 px=3.25 qty=600 kind=AUCTION ts=1796088300000000000
            B01 FILL seq=5 cid=o1 oid=1 tid=2 px=3.25 qty=400 leaves=0 cum=1000 liq=AUCTION ts=1796088300000000000
            B03 FILL seq=2 cid=o3 oid=3 tid=2 px=3.25 qty=400 leaves=100 cum=400 liq=AUCTION ts=1796088300000000000
            * TRADE sym=ZJ200077 mdseq=2 tid=2 px=3.25 qty=400 kind=AUCTION ts=1796088300000000000
            B01 ACK seq=6 cid=c1 oid=6 acct=A1001 sym=ZJ200077 side=BUY qty=100 px=3.25 tif=DAY ts=1796090400000000000
            B01 FILL seq=7 cid=c1 oid=6 tid=3 px=3.25 qty=100 leaves=0 cum=100 liq=TAKER ts=1796090400000000000
            B03 FILL seq=3 cid=o3 oid=3 tid=3 px=3.25 qty=100 leaves=0 cum=500 liq=MAKER ts=1796090400000000000
            * TRADE sym=ZJ200077 mdseq=3 tid=3 px=3.25 qty=100 kind=BOOK ts=1796090400000000000
            OPS OK verb=PHASE sym=ZJ200077 phase=AUCTION ts=1796108220000000000
            B02 REPLACED seq=5 cid=o4 oid=4 newcid=o4r qty=400 px=3.40 leaves=400 ts=1796108280000000000
            * IOP sym=ZJ200077 iop=3.35 iov=300 ts=1796108280000000000
            B01 REJ seq=8 cid=c2 reason=HOLDING_PERIOD ts=1796108340000000000
            OPS OK verb=PHASE sym=ZJ200077 phase=CLOSED ts=1796108400000000000
            B02 FILL seq=6 cid=o4r oid=4 tid=4 px=3.35 qty=300 leaves=100 cum=300 liq=AUCTION ts=1796108400000000000
            B01 FILL seq=9 cid=o5 oid=5 tid=4 px=3.35 qty=300 leaves=0 cum=300 liq=AUCTION ts=1796108400000000000
            * TRADE sym=ZJ200077 mdseq=4 tid=4 px=3.35 qty=300 kind=AUCTION ts=1796108400000000000
            B02 CANCELED seq=7 cid=o4r oid=4 leaves=0 reason=EXPIRED ts=1796108400000000000
            B01 STATUS seq=10 cid=o5 oid=5 state=FILLED qty=300 px=3.35 leaves=0 cum=300 ts=1796108460000000000
            OPS OK verb=ROLL date=2026-12-02 ts=1796112000000000000
            OPS OK verb=PHASE sym=ZJ200077 phase=AUCTION ts=1796174100000000000
            B02 ACK seq=8 cid=d2 oid=7 acct=A2001 sym=ZJ200077 side=BUY qty=100 px=3.35 tif=DAY ts=1796174400000000000
            """

    func testAScheduledDayReplaysByItsScheduleAlone() throws {
        let r = try cuohe(["replay", CommandLineTests.auctionDay])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, CommandLineTests.auctionDayOutput + "\n")
    }

    /// Split across a restart at every line, through the journal: the second run's clock is the
    /// journal's, so the schedule's entries fire exactly as in one run; the journal holds them as
    /// the schedule's own records and verifies.
    func testTheScheduleCarriesOnAcrossARestart() throws {
        let lines = try String(contentsOfFile: CommandLineTests.auctionDay, encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-sched-\(getpid())").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for cut in [5, 9, 11, 13, 16] {
            let data = root + "/cut\(cut)"
            let first = try cuohe(["replay", "--data", data, "--no-prefault", "-"],
                                  stdin: lines[..<cut].joined(separator: "\n") + "\n")
            let second = try cuohe(["replay", "--data", data, "--no-prefault", "-"],
                                   stdin: lines[cut...].joined(separator: "\n") + "\n")
            XCTAssertEqual(first.status, 0, first.stderr)
            XCTAssertEqual(second.status, 0, second.stderr)
            XCTAssertEqual(first.stdout + second.stdout, CommandLineTests.auctionDayOutput + "\n", "cut at line \(cut)")
            let verify = try cuohe(["journal", "verify", data])
            XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
            let dump = try cuohe(["journal", "dump", data])
            let scheduled = dump.stdout.split(separator: "\n").filter { $0.contains(" (schedule) PHASE sym=ZJ200077") }
            XCTAssertEqual(scheduled.count, 5, dump.stdout)
            XCTAssertTrue(scheduled[0].contains("ts=1796087700000000000"), dump.stdout)
        }
    }

    /// An entry due at exactly the next nanosecond, and a late ROLL (10:00 on the new date): the
    /// in-memory replay, the pipeline through `--data`, and the pipeline split across a restart
    /// stamp every command alike. The ROLL comes after the new date's 09:15 and 09:25 entries, so
    /// they are carried out right after it, in order, stamped with its time.
    func testLateRollAndAnEntryAtTheNextNanosecondAreSequencedAlikeEverywhere() throws {
        let lines = [
            "@1796087699999999999 B01 STATUS cid=nope",
            "B01 NEW cid=o1 acct=A1002 sym=ZJ200077 side=BUY qty=100 px=3.20",
            "@1796087700000000000 B02 NEW cid=o2 acct=A2002 sym=ZJ200077 side=SELL qty=100 px=3.20",
            "@1796176800000000000 OPS ROLL date=2026-12-02",
            "@1796176860000000000 B01 NEW cid=x acct=A1002 sym=ZJ200077 side=BUY qty=100 px=3.20",
        ]
        let input = lines.joined(separator: "\n") + "\n"
        let memory = try cuohe(["replay", "-"], stdin: input)
        XCTAssertEqual(memory.status, 0, memory.stderr)
        XCTAssertTrue(memory.stdout.contains("""
            OPS OK verb=PHASE sym=ZJ200077 phase=AUCTION ts=1796087700000000000
            B01 ACK seq=2 cid=o1 oid=1 acct=A1002 sym=ZJ200077 side=BUY qty=100 px=3.20 tif=DAY ts=1796087700000000000
            B02 ACK seq=1 cid=o2 oid=2 acct=A2002 sym=ZJ200077 side=SELL qty=100 px=3.20 tif=DAY ts=1796087700000000000
            """), memory.stdout)
        XCTAssertTrue(memory.stdout.hasSuffix("""
            OPS OK verb=ROLL date=2026-12-02 ts=1796176800000000000
            OPS OK verb=PHASE sym=ZJ200077 phase=AUCTION ts=1796176800000000000
            OPS OK verb=PHASE sym=ZJ200077 phase=OPEN ts=1796176800000000000
            B01 ACK seq=4 cid=x oid=3 acct=A1002 sym=ZJ200077 side=BUY qty=100 px=3.20 tif=DAY ts=1796176860000000000

            """), memory.stdout)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-late-\(getpid())").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let whole = try cuohe(["replay", "--data", root + "/whole", "--no-prefault", "-"], stdin: input)
        XCTAssertEqual(whole.stdout, memory.stdout)
        for cut in [1, 3, 4] {
            let data = root + "/cut\(cut)"
            let first = try cuohe(["replay", "--data", data, "--no-prefault", "-"],
                                  stdin: lines[..<cut].joined(separator: "\n") + "\n")
            let second = try cuohe(["replay", "--data", data, "--no-prefault", "-"],
                                   stdin: lines[cut...].joined(separator: "\n") + "\n")
            XCTAssertEqual(first.stdout + second.stdout, memory.stdout, "cut at line \(cut)")
        }
    }
}
