import CuoheCore
@testable import CuoheProtocol
import Foundation
import XCTest

/// The configuration file (`CONFIG.md`): the example, the demo market, one test per kind of
/// error, the JSON reader underneath, and a fuzz loop.
final class ConfigLoaderTests: XCTestCase {
    // MARK: - Fixtures

    /// The example from CONFIG.md, verbatim.
    static let configExample = """
        {
          "tradingDate": "2026-12-01",
          "fees": { "feeBps": 3, "stampDutyBps": 10 },
          "instruments": [
            { "symbol": "ZJ100231", "name": "Hangzhou Lingxi Robotics", "tick": "0.01", "lot": 100,
              "referencePrice": "12.00", "bandPercent": 10, "holderCap": 200, "holdingDays": 0,
              "phase": "OPEN" }
          ],
          "brokers": [
            { "id": "B01", "token": "secret1", "operator": false, "maxMessagesPerSecond": 20000 },
            { "id": "OPS", "token": "opsecret", "operator": true }
          ],
          "accounts": [
            { "id": "A1001", "broker": "B01", "qualifiedUntil": "2027-12-31", "cash": "1000000.00",
              "holdings": { "ZJ100231": 5000 }, "annualBuyCap": "1000000.00" }
          ]
        }
        """

    static let instrumentA = #"{ "symbol": "ZJ100231", "name": "Lingxi", "tick": "0.01", "lot": 100, "referencePrice": "12.00", "bandPercent": 10 }"#
    static let instrumentB = #"{ "symbol": "ZJ100518", "name": "Haiyun", "tick": "0.01", "lot": 100, "referencePrice": "8.50", "bandPercent": 10, "holderCap": 2 }"#
    static let brokerA = #"{ "id": "B01", "token": "secret1", "operator": false }"#
    static let brokerB = #"{ "id": "B02", "token": "secret2" }"#
    static let accountA = #"{ "id": "A1", "broker": "B01", "cash": "100.00", "holdings": { "ZJ100231": 100 } }"#

    /// A small valid configuration with pieces replaced.
    static func market(instruments: [String] = [instrumentA, instrumentB], brokers: [String] = [brokerA, brokerB],
                       accounts: [String] = [accountA], extra: String = "") -> String {
        """
        {
          "tradingDate": "2026-12-01",\(extra)
          "instruments": [\(instruments.joined(separator: ",\n    "))],
          "brokers": [\(brokers.joined(separator: ",\n    "))],
          "accounts": [\(accounts.joined(separator: ",\n    "))]
        }
        """
    }

    /// The error loading `json` gives, or nil (and a test failure) if it loads.
    func loadError(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        do {
            _ = try ConfigLoader.parse(Array(json.utf8), file: "config.json")
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    /// Asserts that `json` fails at `path` with a message containing `fragment`.
    func assertError(_ json: String, path: String, _ fragment: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        guard let error = loadError(json, file: file, line: line) else { return }
        XCTAssertEqual(error.file, "config.json", file: file, line: line)
        XCTAssertEqual(error.path, path, "\(error)", file: file, line: line)
        XCTAssertTrue(error.message.contains(fragment), "\(error)", file: file, line: line)
        XCTAssertTrue(error.description.hasPrefix("config.json: \(path): "), "\(error)", file: file, line: line)
    }

    // MARK: - Loading

    func testConfigExampleParses() throws {
        let config = try ConfigLoader.parse(Array(Self.configExample.utf8), file: "config.json")
        let expected = MarketConfig(
            tradingDate: try XCTUnwrap(CivilDate(year: 2026, month: 12, day: 1)),
            fees: Fees(feeBps: 3, stampDutyBps: 10),
            instruments: [
                InstrumentConfig(symbol: "ZJ100231", name: "Hangzhou Lingxi Robotics", tick: 100, lot: 100,
                                 referencePrice: 120_000, bandPercent: 10, holderCap: 200, holdingDays: 0, phase: .open),
            ],
            brokers: [
                BrokerConfig(id: "B01", token: "secret1", isOperator: false, maxMessagesPerSecond: 20_000),
                BrokerConfig(id: "OPS", token: "opsecret", isOperator: true, maxMessagesPerSecond: nil),
            ],
            accounts: [
                AccountConfig(id: "A1001", broker: "B01", qualifiedUntil: CivilDate(year: 2027, month: 12, day: 31),
                              cash: 10_000_000_000, holdings: [Holding(symbol: "ZJ100231", shares: 5000)],
                              annualBuyCap: 10_000_000_000, boughtThisYear: 0),
            ])
        XCTAssertEqual(config, expected)
        XCTAssertEqual(config.tradingDate.iso, "2026-12-01")
    }

    func testOptionalKeysTakeTheirDefaults() throws {
        let json = """
            { "tradingDate": "2026-12-01",
              "instruments": [{ "symbol": "X.1-a_b", "name": "X", "tick": "0.05", "lot": 1, "referencePrice": "3.20",
                                "bandPercent": 0 }],
              "brokers": [{ "id": "B", "token": "t" }],
              "accounts": [{ "id": "A", "broker": "B", "cash": "0" }] }
            """
        let config = try ConfigLoader.parse(Array(json.utf8), file: "config.json")
        XCTAssertEqual(config.fees, Fees(feeBps: 0, stampDutyBps: 0))
        XCTAssertEqual(config.instruments[0], InstrumentConfig(symbol: "X.1-a_b", name: "X", tick: 500, lot: 1,
                                                               referencePrice: 32_000, bandPercent: 0, holderCap: 200,
                                                               holdingDays: 0, phase: .open))
        XCTAssertEqual(config.brokers[0], BrokerConfig(id: "B", token: "t", isOperator: false, maxMessagesPerSecond: nil))
        XCTAssertEqual(config.accounts[0], AccountConfig(id: "A", broker: "B", qualifiedUntil: nil, cash: 0, holdings: [],
                                                         annualBuyCap: nil, boughtThisYear: 0))

        let partialFees = Self.market(extra: #" "fees": { "stampDutyBps": 10 },"#)
        XCTAssertEqual(try ConfigLoader.parse(Array(partialFees.utf8), file: "f").fees, Fees(feeBps: 0, stampDutyBps: 10))
        let noAccounts = Self.market(accounts: [])
        XCTAssertEqual(try ConfigLoader.parse(Array(noAccounts.utf8), file: "f").accounts, [])
    }

    func testHoldingsKeepFileOrderAndZeroShares() throws {
        let account = #"{ "id": "A1", "broker": "B02", "cash": "0", "holdings": { "ZJ100518": 0, "ZJ100231": 300 }, "boughtThisYear": "12.3456" }"#
        let config = try ConfigLoader.parse(Array(Self.market(accounts: [account]).utf8), file: "f")
        XCTAssertEqual(config.accounts[0].holdings, [Holding(symbol: "ZJ100518", shares: 0), Holding(symbol: "ZJ100231", shares: 300)])
        XCTAssertEqual(config.accounts[0].boughtThisYear, 123_456)
    }

    func testPhasesAndLimitsAtTheirEdges() throws {
        let instruments = [
            #"{ "symbol": "P1", "name": "n", "tick": "0.0001", "lot": 1000000000, "referencePrice": "50.00", "bandPercent": 100, "holderCap": 1, "holdingDays": 365, "phase": "AUCTION" }"#,
            #"{ "symbol": "P2", "name": "n", "tick": "1", "lot": 1, "referencePrice": "1000000000", "bandPercent": 0, "phase": "CLOSED" }"#,
        ]
        let account = #"{ "id": "A1", "broker": "B01", "cash": "10000000000000", "annualBuyCap": "0" }"#
        let config = try ConfigLoader.parse(Array(Self.market(instruments: instruments, accounts: [account]).utf8), file: "f")
        XCTAssertEqual(config.instruments.map(\.phase), [.auction, .closed])
        XCTAssertEqual(config.instruments[1].referencePrice, Bounds.priceMax)
        XCTAssertEqual(config.accounts[0].cash, Bounds.accountCashMax)
        XCTAssertEqual(config.accounts[0].annualBuyCap, 0)
        // P1's band is 0.0001 to 100.0000: exactly bandTicksMax levels.
        let band = InstrumentConfig.band(referencePrice: 500_000, tick: 1, bandPercent: 100)
        XCTAssertEqual((band.high - band.low) / 1 + 1, ConfigLoader.bandTicksMax)
    }

    func testLoadReadsAFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-config-\(getpid()).json")
        try Data(Self.configExample.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let loaded = try ConfigLoader.load(path: url.path)
        XCTAssertEqual(loaded, try ConfigLoader.parse(Array(Self.configExample.utf8), file: "x"))

        try Data("{\n  \"tradingDate\": 5\n}".utf8).write(to: url)
        do {
            _ = try ConfigLoader.load(path: url.path)
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.file, url.path)
            XCTAssertEqual(error.path, "$.tradingDate")
        }
    }

    func testMissingFile() {
        do {
            _ = try ConfigLoader.load(path: "/nonexistent-cuohe-dir/config.json")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.path, "")
            XCTAssertEqual(error.description, "/nonexistent-cuohe-dir/config.json: cannot read file: No such file or directory")
        }
        do {
            _ = try ConfigLoader.load(path: FileManager.default.temporaryDirectory.path)
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue(error.description.contains("cannot read file: Is a directory"), "\(error)")
        }
    }

    // MARK: - The demo market

    func testDemoMarketParsesWithTheStatedContent() throws {
        let demo = try ConfigLoader.parse(Array(DemoMarket.json.utf8), file: "demo")
        XCTAssertEqual(DemoMarket.config, demo)
        XCTAssertEqual(demo.tradingDate.iso, "2026-12-01")
        XCTAssertEqual(demo.timeZoneOffsetSeconds, 28_800, "+08:00")
        XCTAssertEqual(demo.fees, Fees(feeBps: 3, stampDutyBps: 10))

        XCTAssertEqual(demo.instruments, [
            InstrumentConfig(symbol: "ZJ100231", name: "Hangzhou Lingxi Robotics", tick: 100, lot: 100,
                             referencePrice: 120_000, bandPercent: 10, holderCap: 200, holdingDays: 0),
            InstrumentConfig(symbol: "ZJ100518", name: "Ningbo Haiyun Biotech", tick: 100, lot: 100,
                             referencePrice: 85_000, bandPercent: 10, holderCap: 5, holdingDays: 1),
            // Closed until its opening call auction; continuous trading; a closing call auction.
            InstrumentConfig(symbol: "ZJ200077", name: "Wenzhou Qiaotou Buttons", tick: 500, lot: 1,
                             referencePrice: 32_000, bandPercent: 20, holderCap: 200, holdingDays: 5,
                             phase: .closed, schedule: [
                                 ScheduleEntry(secondOfDay: 33_300, phase: .auction),  // 09:15
                                 ScheduleEntry(secondOfDay: 33_900, phase: .open),  // 09:25
                                 ScheduleEntry(secondOfDay: 53_820, phase: .auction),  // 14:57
                                 ScheduleEntry(secondOfDay: 54_000, phase: .closed),  // 15:00
                             ]),
            // Negotiated transfer only, under the regional five-day rule both ways.
            InstrumentConfig(symbol: "ZJ300155", name: "Lishui Bamboo Crafts", tick: 100, lot: 100,
                             referencePrice: 50_000, bandPercent: 10, holderCap: 200, holdingDays: 5,
                             mode: .negotiated, rebuyDays: 5),
        ])
        let bands = demo.instruments.map {
            InstrumentConfig.band(referencePrice: $0.referencePrice, tick: $0.tick, bandPercent: $0.bandPercent)
        }
        XCTAssertEqual(bands.map(\.low), [108_000, 76_500, 26_000, 45_000])
        XCTAssertEqual(bands.map(\.high), [132_000, 93_500, 38_000, 55_000])

        XCTAssertEqual(demo.brokers, [
            BrokerConfig(id: "B01", token: "secret1"), BrokerConfig(id: "B02", token: "secret2"),
            BrokerConfig(id: "B03", token: "secret3"), BrokerConfig(id: "OPS", token: "opsecret", isOperator: true),
        ])

        XCTAssertEqual(demo.accounts.map(\.id), ["A1001", "A1002", "A2001", "A2002", "A3001", "T3001"])
        XCTAssertEqual(demo.accounts.map(\.broker), ["B01", "B01", "B02", "B02", "B03", "B03"])
        let until2027 = try XCTUnwrap(CivilDate(iso: "2027-12-31"))
        XCTAssertEqual(demo.accounts.map(\.qualifiedUntil),
                       [until2027, until2027, until2027, CivilDate(iso: "2026-06-30"), until2027, until2027])
        // A trust account standing for three actual holders.
        XCTAssertEqual(demo.accounts.map(\.beneficialOwners), [1, 1, 1, 1, 1, 3])
        let a2002 = demo.accounts[3]
        XCTAssertLessThan(try XCTUnwrap(a2002.qualifiedUntil), demo.tradingDate, "A2002 is expired: sell only")
        for account in demo.accounts {
            XCTAssertTrue((5_000_000_000...15_000_000_000).contains(account.cash), "\(account.id) has 500,000.00 to 1,500,000.00")
        }
        XCTAssertEqual(demo.accounts.filter { $0.annualBuyCap == 10_000_000_000 }.map(\.id), ["A1001", "A3001"])
        for instrument in demo.instruments {
            let holders = demo.accounts.filter { $0.holdings.contains { $0.symbol == instrument.symbol && $0.shares > 0 } }
            XCTAssertGreaterThanOrEqual(holders.count, 2, "\(instrument.symbol) has sellers")
            XCTAssertLessThan(Int64(holders.count), instrument.holderCap, "\(instrument.symbol) has room for a new holder")
        }
    }

    func testDemoSummaryShowsHowToConnect() {
        let summary = DemoMarket.summary
        for needle in ["2026-12-01", "ZJ100231", "Hangzhou Lingxi Robotics", "10.80-13.20", "ZJ100518", "7.65-9.35",
                       "ZJ200077", "2.60-3.80", "T+1", "T+5", "token=secret1", "token=secret2", "token=secret3",
                       "token=opsecret  (operator)", "A1001", "A2002", "expired 2026-06-30 (sell only)",
                       "LOGIN broker=B01 token=secret1", "NEW cid=c1 acct=A1001 sym=ZJ100231 side=BUY qty=100 px=12.00",
                       "starts CLOSED; daily (+08:00): 09:15 AUCTION, 09:25 OPEN, 14:57 AUCTION, 15:00 CLOSED",
                       "ZJ300155", "4.50-5.50", "negotiated transfer only (QUOTE, ACCEPT, CROSS); no buy within 5 days of a sell",
                       "T3001", "trust for 3 actual holders"] {
            XCTAssertTrue(summary.contains(needle), "summary lacks \(needle):\n\(summary)")
        }
        XCTAssertLessThan(summary.split(separator: "\n").count, 30, "short enough to read at start-up")
    }

    /// The summary says how an instrument's day runs only when it is not open all day, and a long
    /// schedule is cut short.
    func testSummaryDescribesAnInstrumentsDay() {
        var instrument = InstrumentConfig(symbol: "X", name: "X", tick: 1, lot: 1, referencePrice: 1, bandPercent: 0)
        XCTAssertNil(DemoMarket.describeDay(instrument, timeZoneOffsetSeconds: 0))
        instrument.phase = .auction
        XCTAssertEqual(DemoMarket.describeDay(instrument, timeZoneOffsetSeconds: 0)?.trimmingCharacters(in: .whitespaces),
                       "starts AUCTION")
        instrument.schedule = (0..<10).map { ScheduleEntry(secondOfDay: Int32($0) * 61, phase: .open) }
        XCTAssertEqual(DemoMarket.describeDay(instrument, timeZoneOffsetSeconds: -19_800)?.trimmingCharacters(in: .whitespaces),
                       "starts AUCTION; daily (-05:30): 00:00 OPEN, 00:01:01 OPEN, 00:02:02 OPEN, 00:03:03 OPEN, "
                       + "00:04:04 OPEN, 00:05:05 OPEN, … (10 entries)")
    }

    // MARK: - Time zone and schedule

    /// An instrument whose `schedule` is the JSON `entries`.
    static func scheduled(_ entries: String) -> String {
        instrumentA.replacingOccurrences(of: " }", with: #", "schedule": \#(entries) }"#)
    }

    func testTimeZoneAndScheduleParse() throws {
        let instrument = Self.scheduled(#"[{ "at": "00:00", "phase": "CLOSED" }, { "at": "09:15", "phase": "AUCTION" }, "#
                                        + #"{ "at": "14:57:30", "phase": "OPEN" }, { "at": "23:59:59", "phase": "CLOSED" }]"#)
        let json = Self.market(instruments: [instrument, Self.instrumentB], extra: #" "timeZone": "-05:30","#)
        let config = try ConfigLoader.parse(Array(json.utf8), file: "f")
        XCTAssertEqual(config.timeZoneOffsetSeconds, -19_800)
        XCTAssertEqual(config.instruments[0].schedule, [
            ScheduleEntry(secondOfDay: 0, phase: .closed), ScheduleEntry(secondOfDay: 33_300, phase: .auction),
            ScheduleEntry(secondOfDay: 53_850, phase: .open), ScheduleEntry(secondOfDay: 86_399, phase: .closed),
        ])
        XCTAssertEqual(config.instruments[1].schedule, [], "no schedule")

        func offset(_ text: String) throws -> Int32 {
            let json = Self.market(extra: " \"timeZone\": \"\(text)\",")
            return try ConfigLoader.parse(Array(json.utf8), file: "f").timeZoneOffsetSeconds
        }
        XCTAssertEqual(try offset("+08:00"), 28_800)
        XCTAssertEqual(try offset("+05:45"), 20_700)
        XCTAssertEqual(try offset("-12:00"), ConfigLoader.timeZoneOffsetSecondsMin)
        XCTAssertEqual(try offset("+14:00"), ConfigLoader.timeZoneOffsetSecondsMax)
        XCTAssertEqual(try offset("-00:00"), 0)
        XCTAssertEqual(try ConfigLoader.parse(Array(Self.market().utf8), file: "f").timeZoneOffsetSeconds, 0, "default +00:00")

        let empty = try ConfigLoader.parse(Array(Self.market(instruments: [Self.scheduled("[]")]).utf8), file: "f")
        XCTAssertEqual(empty.instruments[0].schedule, [], "an empty schedule is no schedule")
    }

    func testBadTimeZone() {
        for bad in ["+8:00", "+15:00", "08:00", "+08:60", "+14:01", "-12:30", "+0800", "+08:00 ", " +08:00", "UTC+8",
                    "+08:0", "+08:000", "+08:00:00", "", "+\u{0660}\u{0668}:00", "\u{FF0B}08:00"] {
            assertError(Self.market(extra: " \"timeZone\": \"\(bad)\","), path: "$.timeZone",
                        #"expected a UTC offset "+HH:MM" or "-HH:MM" from "-12:00" to "+14:00", like "+08:00"; got string"#)
        }
        assertError(Self.market(extra: #" "timeZone": 8,"#), path: "$.timeZone", "like \"+08:00\"; got number 8")
        assertError(Self.market(extra: #" "timeZone": null,"#), path: "$.timeZone", "got null")
        assertError(Self.market(extra: #" "timezone": "+08:00","#), path: "$", #"unknown key "timezone""#)
    }

    func testBadScheduleTime() {
        for bad in [#""9:15""#, #""24:00""#, #""09:15:60""#, #""09:60""#, #""09:15:""#, #""09:15:5""#, #""0915""#,
                    #""09.15""#, #""""#, #""09:15 ""#, #""09:15:00:00""#, "915", "null"] {
            let instrument = Self.scheduled(#"[{ "at": "08:00", "phase": "CLOSED" }, { "at": \#(bad), "phase": "OPEN" }]"#)
            assertError(Self.market(instruments: [Self.instrumentB, instrument]), path: "$.instruments[1].schedule[1].at",
                        #"expected a time of day "HH:MM" or "HH:MM:SS" from "00:00" to "23:59:59", like "09:15"; got "#)
        }
        let number = Self.scheduled(#"[{ "at": 915, "phase": "OPEN" }]"#)
        assertError(Self.market(instruments: [number]), path: "$.instruments[0].schedule[0].at", "got number 915")
        let missing = Self.scheduled(#"[{ "phase": "OPEN" }]"#)
        assertError(Self.market(instruments: [missing]), path: "$.instruments[0].schedule[0]", #"missing required key "at""#)
    }

    func testBadSchedulePhase() {
        let pause = Self.scheduled(#"[{ "at": "09:15", "phase": "PAUSE" }]"#)
        assertError(Self.market(instruments: [pause]), path: "$.instruments[0].schedule[0].phase",
                    #"expected "AUCTION", "OPEN" or "CLOSED"; got string "PAUSE""#)
        let lower = Self.scheduled(#"[{ "at": "09:15", "phase": "auction" }]"#)
        assertError(Self.market(instruments: [lower]), path: "$.instruments[0].schedule[0].phase", #"got string "auction""#)
        let missing = Self.scheduled(#"[{ "at": "09:15" }]"#)
        assertError(Self.market(instruments: [missing]), path: "$.instruments[0].schedule[0]", #"missing required key "phase""#)
    }

    func testScheduleTimesStrictlyIncrease() {
        let backwards = Self.scheduled(#"[{ "at": "09:15", "phase": "AUCTION" }, { "at": "09:25", "phase": "OPEN" }, "#
                                       + #"{ "at": "09:20", "phase": "CLOSED" }]"#)
        assertError(Self.market(instruments: [backwards]), path: "$.instruments[0].schedule[2].at",
                    #"expected a time later than the previous entry's "09:25" ($.instruments[0].schedule[1].at); "#
                    + #"got string "09:20""#)
        // The same time written two ways is still the same time.
        let same = Self.scheduled(#"[{ "at": "14:57", "phase": "AUCTION" }, { "at": "14:57:00", "phase": "CLOSED" }]"#)
        assertError(Self.market(instruments: [Self.instrumentB, same]), path: "$.instruments[1].schedule[1].at",
                    #"expected a time later than the previous entry's "14:57" ($.instruments[1].schedule[0].at); "#
                    + #"got string "14:57:00""#)
        let seconds = Self.scheduled(#"[{ "at": "14:57:30", "phase": "AUCTION" }, { "at": "14:57:29", "phase": "CLOSED" }]"#)
        assertError(Self.market(instruments: [seconds]), path: "$.instruments[0].schedule[1].at",
                    #"the previous entry's "14:57:30""#)
        let oneSecondLater = Self.scheduled(#"[{ "at": "14:57:30", "phase": "AUCTION" }, { "at": "14:57:31", "phase": "OPEN" }]"#)
        XCTAssertNoThrow(try ConfigLoader.parse(Array(Self.market(instruments: [oneSecondLater]).utf8), file: "f"))
    }

    func testScheduleEntryKeysAndShape() {
        let extra = Self.scheduled(#"[{ "at": "09:15", "phase": "AUCTION", "until": "09:25" }]"#)
        assertError(Self.market(instruments: [extra]), path: "$.instruments[0].schedule[0]",
                    #"unknown key "until"; expected one of at, phase"#)
        let object = Self.scheduled(#"{ "at": "09:15", "phase": "AUCTION" }"#)
        assertError(Self.market(instruments: [object]), path: "$.instruments[0].schedule",
                    "expected an array of schedule entries; got an object")
        let string = Self.scheduled(#""09:15 AUCTION""#)
        assertError(Self.market(instruments: [string]), path: "$.instruments[0].schedule",
                    #"expected an array of schedule entries; got string "09:15 AUCTION""#)
        assertError(Self.market(instruments: [Self.scheduled("null")]), path: "$.instruments[0].schedule",
                    "expected an array of schedule entries; got null")
        let entry = Self.scheduled(#"["09:15"]"#)
        assertError(Self.market(instruments: [entry]), path: "$.instruments[0].schedule[0]",
                    #"expected a schedule entry object; got string "09:15""#)
    }

    /// One entry a minute fills a whole day: 1,440 entries load, one more is refused.
    func testScheduleEntriesAreBounded() throws {
        func entry(_ minute: Int) -> String {
            let hh = minute / 60 < 10 ? "0\(minute / 60)" : "\(minute / 60)"
            let mm = minute % 60 < 10 ? "0\(minute % 60)" : "\(minute % 60)"
            return #"{ "at": "\#(hh):\#(mm)", "phase": "\#(minute % 2 == 0 ? "OPEN" : "AUCTION")" }"#
        }
        XCTAssertEqual(ConfigLoader.scheduleEntriesMax, 1_440)
        let day = (0..<ConfigLoader.scheduleEntriesMax).map(entry)
        let full = Self.scheduled("[" + day.joined(separator: ", ") + "]")
        let config = try ConfigLoader.parse(Array(Self.market(instruments: [full]).utf8), file: "f")
        XCTAssertEqual(config.instruments[0].schedule.count, 1_440)
        XCTAssertEqual(config.instruments[0].schedule.last, ScheduleEntry(secondOfDay: 86_340, phase: .auction))
        let over = Self.scheduled("[" + (day + [#"{ "at": "23:59:30", "phase": "CLOSED" }"#]).joined(separator: ", ") + "]")
        assertError(Self.market(instruments: [over]), path: "$.instruments[0].schedule",
                    "expected at most 1440 schedule entries; got 1441")
    }

    func testTimeTextsRoundTrip() {
        XCTAssertEqual(ConfigLoader.timeOfDayText(33_300), "09:15")
        XCTAssertEqual(ConfigLoader.timeOfDayText(53_850), "14:57:30")
        XCTAssertEqual(ConfigLoader.timeOfDayText(0), "00:00")
        XCTAssertEqual(ConfigLoader.timeOfDayText(86_399), "23:59:59")
        XCTAssertEqual(ConfigLoader.timeZoneText(28_800), "+08:00")
        XCTAssertEqual(ConfigLoader.timeZoneText(-19_800), "-05:30")
        XCTAssertEqual(ConfigLoader.timeZoneText(0), "+00:00")
    }

    // MARK: - One test per kind of error

    func testUnknownKey() {
        let typo = Self.instrumentA.replacingOccurrences(of: "\"tick\"", with: "\"tickk\"")
        assertError(Self.market(instruments: [typo]), path: "$.instruments[0]", #"unknown key "tickk""#)
        assertError(Self.market(extra: #" "tradingdate": "2026-12-01","#), path: "$", #"unknown key "tradingdate""#)
        assertError(Self.market(extra: #" "fees": { "feeBps": 3, "stamp": 1 },"#), path: "$.fees", #"unknown key "stamp""#)
        let broker = #"{ "id": "B01", "token": "t", "admin": true }"#
        assertError(Self.market(brokers: [broker]), path: "$.brokers[0]", #"unknown key "admin""#)
        let account = #"{ "id": "A1", "broker": "B01", "cash": "1", "qualified": "2027-01-01" }"#
        assertError(Self.market(accounts: [account]), path: "$.accounts[0]", #"unknown key "qualified""#)
    }

    func testMissingRequiredKey() {
        let noLot = Self.instrumentA.replacingOccurrences(of: #""lot": 100, "#, with: "")
        assertError(Self.market(instruments: [noLot]), path: "$.instruments[0]", #"missing required key "lot""#)
        let noCash = #"{ "id": "A1", "broker": "B01" }"#
        assertError(Self.market(accounts: [noCash]), path: "$.accounts[0]", #"missing required key "cash""#)
        assertError(#"{ "instruments": [], "brokers": [], "accounts": [] }"#, path: "$", #"missing required key "tradingDate""#)
    }

    func testWrongType() {
        let lotString = Self.instrumentA.replacingOccurrences(of: #""lot": 100"#, with: #""lot": "100""#)
        assertError(Self.market(instruments: [lotString]), path: "$.instruments[0].lot",
                    #"expected an integer 1...1000000000; got string "100""#)
        let lotFraction = Self.instrumentA.replacingOccurrences(of: #""lot": 100"#, with: #""lot": 100.0"#)
        assertError(Self.market(instruments: [lotFraction]), path: "$.instruments[0].lot", "got number 100.0")
        let lotZero = Self.instrumentA.replacingOccurrences(of: #""lot": 100"#, with: #""lot": 0"#)
        assertError(Self.market(instruments: [lotZero]), path: "$.instruments[0].lot", "expected an integer 1...1000000000; got number 0")
        let capNegative = Self.instrumentB.replacingOccurrences(of: #""holderCap": 2"#, with: #""holderCap": -2"#)
        assertError(Self.market(instruments: [capNegative]), path: "$.instruments[0].holderCap", "expected an integer 1...200; got number -2")
        let operatorString = #"{ "id": "B01", "token": "t", "operator": "true" }"#
        assertError(Self.market(brokers: [operatorString]), path: "$.brokers[0].operator", #"expected true or false; got string "true""#)
        let phase = Self.instrumentA.replacingOccurrences(of: "}", with: #", "phase": "open" }"#)
        assertError(Self.market(instruments: [phase]), path: "$.instruments[0].phase", #"got string "open""#)
        assertError(Self.market(extra: #" "fees": [3, 10],"#), path: "$.fees", "expected a fees object; got an array")
        assertError(Self.market(extra: #" "fees": { "feeBps": 10001 },"#), path: "$.fees.feeBps", "expected an integer 0...10000")
        assertError("[1, 2]", path: "$", "expected a configuration object; got an array")
        let nullDate = #"{ "id": "A1", "broker": "B01", "cash": "1", "qualifiedUntil": null }"#
        assertError(Self.market(accounts: [nullDate]), path: "$.accounts[0].qualifiedUntil", "got null")
        let rate = #"{ "id": "B01", "token": "t", "maxMessagesPerSecond": 0 }"#
        assertError(Self.market(brokers: [rate]), path: "$.brokers[0].maxMessagesPerSecond", "expected an integer 1...10000000")
        let holdings = #"{ "id": "A1", "broker": "B01", "cash": "1", "holdings": [] }"#
        assertError(Self.market(accounts: [holdings]), path: "$.accounts[0].holdings", "got an empty array")
        let shares = #"{ "id": "A1", "broker": "B01", "cash": "1", "holdings": { "ZJ100231": 1.5 } }"#
        assertError(Self.market(accounts: [shares]), path: "$.accounts[0].holdings.ZJ100231", "got number 1.5")
        assertError(Self.market(instruments: []), path: "$.instruments", "expected at least one instrument; got an empty array")
        assertError(Self.market(brokers: []), path: "$.brokers", "expected at least one broker")
        assertError(Self.market(instruments: ["\"ZJ1\""]), path: "$.instruments[0]", #"expected an instrument object; got string "ZJ1""#)
    }

    func testBadIdentifiers() {
        let symbol = Self.instrumentA.replacingOccurrences(of: "ZJ100231", with: "ZJ 100231")
        assertError(Self.market(instruments: [symbol], accounts: []), path: "$.instruments[0].symbol",
                    "expected a symbol of 1 to 16 characters from A-Z a-z 0-9 _ . -")
        let long = Self.instrumentA.replacingOccurrences(of: "ZJ100231", with: "ZJ1002310000000000")
        assertError(Self.market(instruments: [long], accounts: []), path: "$.instruments[0].symbol", "1 to 16 characters")
        let token = #"{ "id": "B01", "token": "a=b" }"#
        assertError(Self.market(brokers: [token]), path: "$.brokers[0].token", "without spaces or '='")
        let emptyName = Self.instrumentA.replacingOccurrences(of: #""Lingxi""#, with: #""""#)
        assertError(Self.market(instruments: [emptyName]), path: "$.instruments[0].name", "expected a name of 1 to 200 bytes")
        let controlName = Self.instrumentA.replacingOccurrences(of: #""Lingxi""#, with: #""Ling\nxi""#)
        assertError(Self.market(instruments: [controlName]), path: "$.instruments[0].name", #"got string "Ling\nxi""#)
        let account = #"{ "id": "", "broker": "B01", "cash": "1" }"#
        assertError(Self.market(accounts: [account]), path: "$.accounts[0].id", "expected an account id of 1 to 32 characters")
    }

    func testDecimalGivenAsANumber() {
        let tick = Self.instrumentA.replacingOccurrences(of: #""tick": "0.01""#, with: #""tick": 0.01"#)
        let error = loadError(Self.market(instruments: [tick]))
        XCTAssertEqual(error?.description, #"config.json: $.instruments[0].tick: expected a decimal string with at most 4 fractional digits, like "0.01"; got number 0.01"#)
        let cash = #"{ "id": "A1", "broker": "B01", "cash": 100 }"#
        assertError(Self.market(accounts: [cash]), path: "$.accounts[0].cash",
                    #"expected a decimal string with at most 4 fractional digits, like "1000000.00"; got number 100"#)
    }

    func testBadDecimal() {
        for bad in ["0.00001", "1e-2", "-0.01", "0.", "", ".", "1.2.3", " 0.01", "0,01"] {
            let tick = Self.instrumentA.replacingOccurrences(of: #""tick": "0.01""#, with: "\"tick\": \"\(bad)\"")
            assertError(Self.market(instruments: [tick]), path: "$.instruments[0].tick",
                        "expected a decimal string with at most 4 fractional digits")
        }
        let zero = Self.instrumentA.replacingOccurrences(of: #""tick": "0.01""#, with: #""tick": "0.0000""#)
        assertError(Self.market(instruments: [zero]), path: "$.instruments[0].tick", #"expected a tick greater than 0; got string "0.0000""#)
        let huge = Self.instrumentA.replacingOccurrences(of: #""12.00""#, with: #""1000000000.01""#)
        assertError(Self.market(instruments: [huge]), path: "$.instruments[0].referencePrice", "expected at most 1000000000; got")
        let cash = #"{ "id": "A1", "broker": "B01", "cash": "10000000000000.0001" }"#
        assertError(Self.market(accounts: [cash]), path: "$.accounts[0].cash", "expected at most 10000000000000;")
        let cap = #"{ "id": "A1", "broker": "B01", "cash": "1", "annualBuyCap": "99999999999999999999" }"#
        assertError(Self.market(accounts: [cap]), path: "$.accounts[0].annualBuyCap", "expected at most 10000000000000;")
    }

    func testTickNotDividingReferencePrice() {
        let instrument = Self.instrumentA.replacingOccurrences(of: #""tick": "0.01""#, with: #""tick": "0.05""#)
            .replacingOccurrences(of: #""12.00""#, with: #""12.02""#)
        assertError(Self.market(instruments: [instrument]), path: "$.instruments[0].referencePrice",
                    #"expected a multiple of the tick 0.05; got string "12.02""#)
    }

    func testDuplicateSymbol() {
        let again = Self.instrumentB.replacingOccurrences(of: "ZJ100518", with: "ZJ100231")
        assertError(Self.market(instruments: [Self.instrumentA, again]), path: "$.instruments[1].symbol",
                    #"duplicate symbol "ZJ100231"; already used by $.instruments[0]"#)
        let broker = #"{ "id": "B01", "token": "other" }"#
        assertError(Self.market(brokers: [Self.brokerA, broker]), path: "$.brokers[1].id", #"duplicate broker id "B01""#)
        let account = #"{ "id": "A1", "broker": "B02", "cash": "1" }"#
        assertError(Self.market(accounts: [Self.accountA, account]), path: "$.accounts[1].id",
                    #"duplicate account id "A1"; already used by $.accounts[0]"#)
    }

    func testUnknownBrokerInAccount() {
        let account = #"{ "id": "A1", "broker": "B09", "cash": "1" }"#
        assertError(Self.market(accounts: [account]), path: "$.accounts[0].broker",
                    #"unknown broker "B09"; expected the id of a broker in $.brokers"#)
        let number = #"{ "id": "A1", "broker": 1, "cash": "1" }"#
        assertError(Self.market(accounts: [number]), path: "$.accounts[0].broker", "got number 1")
    }

    func testUnknownSymbolInHoldings() {
        let account = #"{ "id": "A1", "broker": "B01", "cash": "1", "holdings": { "ZJ100231": 1, "ZJ999999": 100 } }"#
        assertError(Self.market(accounts: [account]), path: "$.accounts[0].holdings.ZJ999999",
                    #"unknown symbol "ZJ999999"; expected the symbol of an instrument in $.instruments"#)
        let dotted = #"{ "id": "A1", "broker": "B01", "cash": "1", "holdings": { "ZJ.1": 100 } }"#
        assertError(Self.market(accounts: [dotted]), path: #"$.accounts[0].holdings["ZJ.1"]"#, #"unknown symbol "ZJ.1""#)
    }

    func testHolderCapExceeded() {
        // ZJ100518 allows 2 holders; a zero holding does not count.
        func account(_ id: String, _ shares: Int) -> String {
            "{ \"id\": \"\(id)\", \"broker\": \"B01\", \"cash\": \"1\", \"holdings\": { \"ZJ100518\": \(shares) } }"
        }
        let two = Self.market(accounts: [account("A1", 100), account("A2", 0), account("A3", 5)])
        XCTAssertNoThrow(try ConfigLoader.parse(Array(two.utf8), file: "f"))
        assertError(Self.market(accounts: [account("A1", 100), account("A2", 0), account("A3", 5), account("A4", 1)]),
                    path: "$.accounts", "instrument ZJ100518 has 3 holders (accounts with shares > 0, each counted as its beneficialOwners) but its holderCap is 2")
    }

    /// Version 1.1: `mode`, `rebuyDays` and `beneficialOwners` load, and each bad value names its path.
    func testModeRebuyDaysAndBeneficialOwners() throws {
        let negotiated = Self.instrumentA.replacingOccurrences(of: #""bandPercent": 10"#,
                                                               with: #""bandPercent": 10, "mode": "NEGOTIATED", "rebuyDays": 5"#)
        let trust = #"{ "id": "T1", "broker": "B01", "cash": "1", "beneficialOwners": 2 }"#
        let config = try ConfigLoader.parse(Array(Self.market(instruments: [negotiated, Self.instrumentB],
                                                              accounts: [Self.accountA, trust]).utf8), file: "f")
        XCTAssertEqual(config.instruments[0].mode, .negotiated)
        XCTAssertEqual(config.instruments[0].rebuyDays, 5)
        XCTAssertEqual(config.instruments[1].mode, .continuous)
        XCTAssertEqual(config.instruments[1].rebuyDays, 0)
        XCTAssertEqual(config.accounts[0].beneficialOwners, 1)
        XCTAssertEqual(config.accounts[1].beneficialOwners, 2)

        func instrument(_ extra: String) -> String {
            Self.instrumentA.replacingOccurrences(of: #""bandPercent": 10"#, with: #""bandPercent": 10, "# + extra)
        }
        assertError(Self.market(instruments: [instrument(#""mode": "AUCTION""#)]), path: "$.instruments[0].mode",
                    #"expected "CONTINUOUS" or "NEGOTIATED"; got string "AUCTION""#)
        assertError(Self.market(instruments: [instrument(#""rebuyDays": 366"#)]), path: "$.instruments[0].rebuyDays", "366")
        assertError(Self.market(instruments: [instrument(#""mode": "NEGOTIATED", "phase": "AUCTION""#)]),
                    path: "$.instruments[0].phase", "negotiated transfer only, without call auctions")
        assertError(Self.market(instruments: [instrument(
            #""mode": "NEGOTIATED", "schedule": [{ "at": "09:15", "phase": "OPEN" }, { "at": "10:00", "phase": "AUCTION" }]"#)]),
                    path: "$.instruments[0].schedule[1].phase", "without call auctions")
        // ZJ100518's cap is 2: a trust of 3 could never buy it.
        let three = #"{ "id": "T1", "broker": "B01", "cash": "1", "beneficialOwners": 3 }"#
        assertError(Self.market(accounts: [three]), path: "$.accounts[0].beneficialOwners",
                    "expected at most 2, the smallest holderCap (ZJ100518)")
        let zero = #"{ "id": "T1", "broker": "B01", "cash": "1", "beneficialOwners": 0 }"#
        assertError(Self.market(accounts: [zero]), path: "$.accounts[0].beneficialOwners", "got number 0")
        // Holders are counted by actual holders: a trust of 2 and one more holder pass the cap of 2.
        let trustHolding = #"{ "id": "T1", "broker": "B01", "cash": "1", "beneficialOwners": 2, "holdings": { "ZJ100518": 100 } }"#
        let other = #"{ "id": "A2", "broker": "B01", "cash": "1", "holdings": { "ZJ100518": 100 } }"#
        XCTAssertNoThrow(try ConfigLoader.parse(Array(Self.market(accounts: [trustHolding]).utf8), file: "f"))
        assertError(Self.market(accounts: [trustHolding, other]), path: "$.accounts",
                    "instrument ZJ100518 has 3 holders")
    }

    func testBandTooWide() {
        let instrument = Self.instrumentA.replacingOccurrences(of: #""tick": "0.01""#, with: #""tick": "0.0001""#)
            .replacingOccurrences(of: #""12.00""#, with: #""1000.00""#)
        assertError(Self.market(instruments: [instrument]), path: "$.instruments[0]",
                    "the price band 900.00 to 1100.00 spans 2000001 ticks of 0.0001; at most 1000000 are allowed")
        // One tick past the edge tested in testPhasesAndLimitsAtTheirEdges.
        let edge = #"{ "symbol": "P1", "name": "n", "tick": "0.0001", "lot": 1, "referencePrice": "50.0001", "bandPercent": 100 }"#
        assertError(Self.market(instruments: [edge], accounts: []), path: "$.instruments[0]", "spans 1000002 ticks")
    }

    /// The accounts' cash may not add up to more than the market's bound (10^14 CNY): ten
    /// accounts at the largest balance fill it, an eleventh unit is refused, naming the account
    /// where the sum passed it.
    func testTheMarketsCashIsBounded() throws {
        func account(_ a: Int, _ cash: String) -> String { #"{ "id": "A\#(a)", "broker": "B01", "cash": "\#(cash)" }"# }
        let full = (0..<10).map { account($0, "10000000000000") }
        XCTAssertNoThrow(try ConfigLoader.parse(Array(Self.market(accounts: full).utf8), file: "f"))
        assertError(Self.market(accounts: full + [account(10, "0.0001")]), path: "$.accounts",
                    "the accounts' cash adds up to more than the 100000000000000 CNY the whole market may hold "
                    + "(passed at $.accounts[10].cash)")
    }

    /// 10,000 instruments with 1,000,000-tick bands would need about 600 GiB of engine memory:
    /// refused at load with the figure and the largest book, instead of an out-of-memory crash.
    func testAMarketTooLargeForMemoryIsRefused() throws {
        let wide = (0..<10_000).map { i in
            #"{ "symbol": "W\#(i)", "name": "n", "tick": "0.0001", "lot": 1, "referencePrice": "50.00", "bandPercent": 100 }"#
        }
        assertError(Self.market(instruments: wide, accounts: []), path: "$.instruments",
                    "the market needs up to 598.9 GiB of engine memory, more than the 8.0 GiB allowed: order books "
                    + "598.4 GiB for 10000 instruments (the largest, $.instruments[0] \"W0\", 61.2 MiB for up to "
                    + "1000000 price levels)")
        // A hundred of them fit.
        XCTAssertNoThrow(try ConfigLoader.parse(Array(Self.market(instruments: Array(wide.prefix(100)), accounts: []).utf8),
                                                file: "f"))
        XCTAssertEqual(ConfigLoader.describeBytes(1536), "1.5 KiB")
        XCTAssertEqual(ConfigLoader.describeBytes(1000), "1000 bytes")
        XCTAssertEqual(ConfigLoader.describeBytes(8 << 30), "8.0 GiB")
    }

    /// Identifiers compare byte for byte: Swift's `String ==` calls the Kelvin sign (U+212A) equal
    /// to "K", so an account's broker `\u212A01` used to be taken as broker `K01`, and a holding of
    /// `\u212AX` as one of `KX`.
    func testIdentifiersCompareByteForByte() {
        let brokers = [#"{ "id": "K01", "token": "k" }"#]
        assertError(Self.market(brokers: brokers, accounts: [#"{ "id": "A1", "broker": "\u212A01", "cash": "1" }"#]),
                    path: "$.accounts[0].broker", "expected a broker id of 1 to 16 characters from A-Z a-z 0-9 _ . -")
        let instruments = [Self.instrumentA.replacingOccurrences(of: "ZJ100231", with: "KX")]
        assertError(Self.market(instruments: instruments, brokers: brokers,
                                accounts: [#"{ "id": "A1", "broker": "K01", "cash": "1", "holdings": { "\u212AX": 5 } }"#]),
                    path: "$.accounts[0].holdings[\"\u{212A}X\"]", "unknown symbol")
    }

    /// `-` is what replay prints for a line it cannot attribute to a broker: no broker may be `-`.
    func testTheBrokerIdDashIsReserved() {
        assertError(Self.market(brokers: [Self.brokerA, #"{ "id": "-", "token": "x" }"#]), path: "$.brokers[1].id",
                    "the broker id \"-\" is reserved")
    }

    func testBadDate() {
        for bad in ["2026-02-30", "2026-12-1", "01-12-2026", "2026/12/01", "1969-12-31"] {
            let json = Self.market().replacingOccurrences(of: "\"2026-12-01\"", with: "\"\(bad)\"")
            assertError(json, path: "$.tradingDate", "expected a date \"YYYY-MM-DD\"")
        }
        let account = #"{ "id": "A1", "broker": "B01", "cash": "1", "qualifiedUntil": 20271231 }"#
        assertError(Self.market(accounts: [account]), path: "$.accounts[0].qualifiedUntil", "got number 20271231")
    }

    func testJSONSyntaxErrorHasLineAndColumn() {
        let json = """
            {
              "tradingDate": "2026-12-01",
              "fees": { "feeBps": 3 "stampDutyBps": 10 },
            """
        let error = loadError(json)
        XCTAssertEqual(error?.line, 3)
        XCTAssertEqual(error?.column, 25)
        XCTAssertEqual(error?.path, "")
        XCTAssertEqual(error?.description, #"config.json:3:25: unexpected '"'; expected ',' or '}' after an object member"#)
        XCTAssertEqual(loadError("{\n  \"tradingDate\": \"2026-12-01\",\n}")?.description,
                       "config.json:3:1: expected a key after ','; trailing commas are not allowed")
        XCTAssertEqual(loadError("")?.description, "config.json:1:1: unexpected end of input; expected a value")
    }

    func testDuplicateJSONKey() {
        let json = Self.market().replacingOccurrences(of: #""tradingDate": "2026-12-01","#,
                                                      with: #""tradingDate": "2026-12-01", "tradingDate": "2026-12-02","#)
        let error = loadError(json)
        XCTAssertEqual(error?.description, #"config.json:2:32: duplicate key "tradingDate""#)
    }

    func testDeepNestingIsBounded() {
        let depth = JSONParser.depthMax  // the object is level 1, so this many brackets go one too deep
        let json = "{\"tradingDate\": " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        let error = loadError(json)
        XCTAssertEqual(error?.line, 1)
        XCTAssertEqual(error?.column, 16 + depth)
        XCTAssertEqual(error?.message, "nesting is deeper than 64 levels")
        // Far deeper input stops at the bound instead of exhausting the stack.
        XCTAssertThrowsError(try JSONParser.parse(String(repeating: "[", count: 1_000_000)))
    }

    // MARK: - The JSON reader

    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

    func jsonError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> JSONError? {
        do {
            let value = try JSONParser.parse(bytes)
            XCTFail("expected an error, got \(value)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func jsonError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONError? {
        jsonError(Array(text.utf8), file: file, line: line)
    }

    func testJSONEscapes() throws {
        XCTAssertEqual(try parse(#""\"\\\/\b\f\n\r\t""#), .string("\"\\/\u{8}\u{C}\n\r\t"))
        XCTAssertEqual(try parse(#""\u0041\u00e9\u4E2D\u0000""#), .string("Aé中\u{0}"))
        XCTAssertEqual(try parse(#""\uD83D\uDE00 smile""#), .string("😀 smile"))
        XCTAssertEqual(try parse("\"中文 é 😀\""), .string("中文 é 😀"))
        XCTAssertEqual(try parse(#""""#), .string(""))

        XCTAssertEqual(jsonError(#""\uD800""#)?.message, #"unpaired high surrogate \uD800 in a string"#)
        XCTAssertEqual(jsonError(#""\uDC00""#)?.message, #"unpaired low surrogate \uDC00 in a string"#)
        XCTAssertEqual(jsonError(#""\uD800\u0041""#)?.message, #"high surrogate \uD800 is not followed by a low surrogate"#)
        XCTAssertEqual(jsonError(#""\u12G4""#)?.message, #"invalid \u escape: expected four hex digits"#)
        XCTAssertEqual(jsonError(#""\x""#)?.message, #"invalid escape '\x' in a string"#)
        XCTAssertEqual(jsonError("\"a\tb\"")?.message, "control character 0x09 in a string must be escaped")
        XCTAssertEqual(jsonError("\"abc")?.message, "unterminated string")
        XCTAssertEqual(jsonError("\"abc\\")?.message, "unterminated string")
        XCTAssertEqual(jsonError("\"\\u12")?.message, "unterminated string")
    }

    func testJSONRejectsInvalidUTF8() {
        let bad: [[UInt8]] = [
            [0x22, 0xC3, 0x28, 0x22],  // bad continuation
            [0x22, 0xC0, 0xAF, 0x22],  // overlong "/"
            [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // an encoded surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
            [0x22, 0xFF, 0x22],
            [0x22, 0xE4, 0xB8],  // truncated
        ]
        for bytes in bad {
            XCTAssertNotNil(jsonError(bytes), "\(bytes)")
        }
        XCTAssertEqual(try JSONParser.parse([0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22]), .string("😀"))
    }

    func testJSONNumbersKeepTheirText() throws {
        XCTAssertEqual(try parse("[0, -0, 12.50, 1e400, -1.5E+3, 2e-7, 123456789012345678901234567890]"),
                       .array([.number("0"), .number("-0"), .number("12.50"), .number("1e400"), .number("-1.5E+3"),
                               .number("2e-7"), .number("123456789012345678901234567890")]))
        for bad in ["01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity", "1.e5"] {
            XCTAssertNotNil(jsonError(bad), bad)
        }
        XCTAssertEqual(jsonError("01")?.message, "leading zeros are not allowed in a number")
    }

    func testJSONStructure() throws {
        XCTAssertEqual(try parse(" \t\r\n{\"b\": [true, false, null], \"a\": {}, \"c\": []} \n"),
                       .object([("b", .array([.bool(true), .bool(false), .null])), ("a", .object([])), ("c", .array([]))]))
        XCTAssertEqual(try parse("42"), .number("42"))
        XCTAssertEqual(try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array("[]".utf8)), .array([]), "a BOM is ignored")
        // Key order is the file's.
        guard case .object(let members) = try parse(#"{"z": 1, "a": 2, "m": 3}"#) else { return XCTFail() }
        XCTAssertEqual(members.map(\.0), ["z", "a", "m"])

        for bad in ["", " ", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{a: 1}", "{'a': 1}", "[1] x", "tru", "nul",
                    "// c\n{}", "{\"a\":1}}", "[", "{", "{\"a\":", "\u{0}", "True"] {
            XCTAssertNotNil(jsonError(bad), bad)
        }
        XCTAssertEqual(jsonError(#"{"a": 1, "b": 2, "a": 3}"#), JSONError(line: 1, column: 18, message: #"duplicate key "a""#))
        XCTAssertEqual(jsonError("[1] x")?.description, "1:5: unexpected 'x' after the end of the JSON value")
        // Columns count characters, not bytes.
        XCTAssertEqual(jsonError("[\"中文\" x]"), JSONError(line: 1, column: 7, message: "unexpected 'x'; expected ',' or ']' after an array element"))
    }

    func testJSONDepthBound() throws {
        let deepest = String(repeating: "[", count: JSONParser.depthMax) + String(repeating: "]", count: JSONParser.depthMax)
        XCTAssertNoThrow(try parse(deepest))
        let tooDeep = "[" + deepest + "]"
        XCTAssertEqual(jsonError(tooDeep), JSONError(line: 1, column: 65, message: "nesting is deeper than 64 levels"))
        let objects = String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)
        XCTAssertEqual(jsonError(objects)?.message, "nesting is deeper than 64 levels")
    }

    // MARK: - Fuzz

    /// A deterministic generator (Knuth's MMIX LCG), so a failure reproduces.
    struct LCG {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    }

    func testFuzzedDemoNeverCrashes() {
        var rng = LCG(state: 0xC0FFEE)
        let original = Array(DemoMarket.json.utf8)
        let interesting = Array("{}[]\":,0123456789.-eE+\\u \n\"tnf".utf8) + [0x00, 0x80, 0xC3, 0xED, 0xFF]
        var loaded = 0
        var refused = 0
        for _ in 0..<4000 {
            var bytes = original
            for _ in 0...rng.below(3) {
                let at = rng.below(bytes.count)
                switch rng.below(6) {
                case 0: if at < bytes.count { bytes[at] = UInt8(truncatingIfNeeded: rng.next()) }
                case 1: if at < bytes.count { bytes[at] = interesting[rng.below(interesting.count)] }
                case 2: if at < bytes.count { bytes.remove(at: at) }
                case 3: bytes.insert(interesting[rng.below(interesting.count)], at: at)
                case 4:
                    let length = rng.below(40)
                    let end = min(bytes.count, at + length)
                    bytes.insert(contentsOf: bytes[at..<end], at: rng.below(bytes.count))
                default: bytes.removeLast(rng.below(bytes.count))
                }
            }
            do {
                _ = try ConfigLoader.parse(bytes, file: "fuzz.json")
                loaded += 1
            } catch {
                XCTAssertFalse(error.message.isEmpty)
                XCTAssertTrue(error.description.hasPrefix("fuzz.json"))
                refused += 1
            }
        }
        XCTAssertEqual(loaded + refused, 4000)
        XCTAssertGreaterThan(refused, 0)
    }

    func testFuzzedRandomBytesNeverCrashTheReader() {
        var rng = LCG(state: 42)
        let alphabet = Array("{}[]\":,0123456789.-eE+\\u tfnrl\"".utf8)
        for _ in 0..<4000 {
            let count = rng.below(64)
            var bytes: [UInt8] = []
            for _ in 0..<count {
                bytes.append(rng.below(4) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[rng.below(alphabet.count)])
            }
            do {
                _ = try JSONParser.parse(bytes)
            } catch {
                XCTAssertGreaterThanOrEqual(error.line, 1)
                XCTAssertGreaterThanOrEqual(error.column, 1)
            }
        }
    }
}
