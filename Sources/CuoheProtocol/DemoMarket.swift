import CuoheCore

/// The built-in demo market the engine opens with when no configuration file is given: four
/// instruments, three brokers and an operator, six accounts. It is written as configuration JSON
/// and loaded through `ConfigLoader`, so it is also a worked example of the file format.
///
/// It is set up so that every market rule can be tried at once from netcat: every instrument has
/// holders who can sell; ZJ100518 is T+1 with a holder cap of 5 (3 taken); ZJ200077 has a 5-day
/// holding period and a lot of 1; A2002's qualification has expired (it may sell but not buy);
/// A3001 has only 100,000.00 CNY left under its annual buy cap.
///
/// ZJ300155 is traded by negotiated transfer only (`mode: NEGOTIATED`: `QUOTE`, `ACCEPT`, `CROSS`)
/// under the regional five-day rule both ways (`holdingDays: 5, rebuyDays: 5`); A1001 and A2001
/// hold it, and T3001 is a trust account standing for 3 actual holders (`beneficialOwners: 3`).
///
/// The market keeps China's time (`+08:00`). ZJ100231 and ZJ100518 trade continuously all day
/// (phase `OPEN`, no schedule). ZJ200077, the illiquid one, trades the way a thin market does: it
/// starts `CLOSED`, and its schedule runs an opening call auction from 09:15, continuous trading
/// from 09:25, a closing call auction from 14:57, and closes at 15:00.
public enum DemoMarket {
    /// The demo market as configuration JSON (the format of `CONFIG.md`).
    public static let json: String = """
        {
          "tradingDate": "2026-12-01",
          "timeZone": "+08:00",
          "fees": { "feeBps": 3, "stampDutyBps": 10 },
          "instruments": [
            { "symbol": "ZJ100231", "name": "Hangzhou Lingxi Robotics", "tick": "0.01", "lot": 100,
              "referencePrice": "12.00", "bandPercent": 10, "holdingDays": 0 },
            { "symbol": "ZJ100518", "name": "Ningbo Haiyun Biotech", "tick": "0.01", "lot": 100,
              "referencePrice": "8.50", "bandPercent": 10, "holderCap": 5, "holdingDays": 1 },
            { "symbol": "ZJ200077", "name": "Wenzhou Qiaotou Buttons", "tick": "0.05", "lot": 1,
              "referencePrice": "3.20", "bandPercent": 20, "holdingDays": 5, "phase": "CLOSED",
              "schedule": [
                { "at": "09:15", "phase": "AUCTION" }, { "at": "09:25", "phase": "OPEN" },
                { "at": "14:57", "phase": "AUCTION" }, { "at": "15:00", "phase": "CLOSED" }
              ] },
            { "symbol": "ZJ300155", "name": "Lishui Bamboo Crafts", "tick": "0.01", "lot": 100,
              "referencePrice": "5.00", "bandPercent": 10, "holdingDays": 5, "rebuyDays": 5, "mode": "NEGOTIATED" }
          ],
          "brokers": [
            { "id": "B01", "token": "secret1", "operator": false },
            { "id": "B02", "token": "secret2", "operator": false },
            { "id": "B03", "token": "secret3", "operator": false },
            { "id": "OPS", "token": "opsecret", "operator": true }
          ],
          "accounts": [
            { "id": "A1001", "broker": "B01", "qualifiedUntil": "2027-12-31", "cash": "1000000.00",
              "holdings": { "ZJ100231": 5000, "ZJ200077": 2000, "ZJ300155": 3000 }, "annualBuyCap": "1000000.00" },
            { "id": "A1002", "broker": "B01", "qualifiedUntil": "2027-12-31", "cash": "800000.00",
              "holdings": { "ZJ100518": 3000 } },
            { "id": "A2001", "broker": "B02", "qualifiedUntil": "2027-12-31", "cash": "1200000.00",
              "holdings": { "ZJ100231": 2000, "ZJ100518": 1000, "ZJ300155": 2000 } },
            { "id": "A2002", "broker": "B02", "qualifiedUntil": "2026-06-30", "cash": "500000.00",
              "holdings": { "ZJ100231": 3000, "ZJ200077": 5000 } },
            { "id": "A3001", "broker": "B03", "qualifiedUntil": "2027-12-31", "cash": "1000000.00",
              "holdings": { "ZJ100518": 2000, "ZJ200077": 1500 },
              "annualBuyCap": "1000000.00", "boughtThisYear": "900000.00" },
            { "id": "T3001", "broker": "B03", "qualifiedUntil": "2027-12-31", "cash": "600000.00",
              "beneficialOwners": 3 }
          ]
        }
        """

    /// The demo market, loaded. The JSON above is fixed and a test loads it, so this cannot fail.
    public static var config: MarketConfig {
        try! ConfigLoader.parse(Array(json.utf8), file: "demo market")
    }

    /// A short description of the demo market for the start-up banner: instruments with their
    /// bands, brokers with their LOGIN tokens, accounts, and a first line to type.
    public static var summary: String { summary(of: config) }

    /// `cuohe serve`'s start-up banner: the market, then where to connect and what to type.
    public static func banner(of market: MarketConfig, address: String, metrics: String?) -> String {
        let host = address.split(separator: ":").first.map(String.init) ?? address
        let port = address.split(separator: ":").last.map(String.init) ?? ""
        var text = summary(of: market, title: market.brokers == config.brokers && market.instruments == config.instruments
                                                ? "Demo market" : "Market",
                           connect: "nc \(host) \(port)")
        text += "\nListening on \(address) (line protocol)"
        if let metrics { text += "; metrics on http://\(metrics)/metrics" }
        return text
    }

    static func summary(of market: MarketConfig, title: String = "Demo market", connect: String = "nc <host> <port>") -> String {
        var lines: [String] = []
        let fees = market.fees
        lines.append("\(title), trading date \(market.tradingDate.iso); fee \(fees.feeBps) bps each side, "
                     + "stamp duty \(fees.stampDutyBps) bps on sells.")
        lines.append("Instruments:")
        for i in market.instruments {
            let band = InstrumentConfig.band(referencePrice: i.referencePrice, tick: i.tick, bandPercent: i.bandPercent)
            let hold = i.holdingDays == 0 ? "T+0" : "T+\(i.holdingDays)"
            lines.append("  " + pad(i.symbol, 9) + pad(i.name, 26) + pad("tick \(Decimal4.format(i.tick))", 11)
                         + pad("lot \(i.lot)", 9) + pad("ref \(Decimal4.format(i.referencePrice))", 11)
                         + pad("band \(Decimal4.format(band.low))-\(Decimal4.format(band.high))", 18)
                         + pad(hold, 5) + "holders max \(i.holderCap)")
            var rules: [String] = []
            if i.mode == .negotiated { rules.append("negotiated transfer only (QUOTE, ACCEPT, CROSS)") }
            if i.rebuyDays > 0 { rules.append("no buy within \(i.rebuyDays) days of a sell") }
            if !rules.isEmpty { lines.append(String(repeating: " ", count: 11) + rules.joined(separator: "; ")) }
            if let day = describeDay(i, timeZoneOffsetSeconds: market.timeZoneOffsetSeconds) { lines.append(day) }
        }
        lines.append("Brokers (LOGIN broker=<id> token=<token>):")
        for b in market.brokers {
            lines.append("  " + pad(b.id, 5) + "token=\(b.token)" + (b.isOperator ? "  (operator)" : ""))
        }
        lines.append("Accounts:")
        for a in market.accounts {
            var line = "  " + pad(a.id, 7) + pad("broker \(a.broker)", 11) + pad("cash \(Decimal4.format(a.cash))", 18)
            if let until = a.qualifiedUntil, until >= market.tradingDate {
                line += pad("qualified until \(until.iso)", 32)
            } else if let until = a.qualifiedUntil {
                line += pad("expired \(until.iso) (sell only)", 32)
            } else {
                line += pad("not qualified (sell only)", 32)
            }
            line += a.holdings.map { "\($0.symbol):\($0.shares)" }.joined(separator: " ")
            if a.beneficialOwners > 1 {
                line += "trust for \(a.beneficialOwners) actual holders" + (a.holdings.isEmpty ? "" : "; ")
            }
            if let cap = a.annualBuyCap {
                line += "  annual cap \(Decimal4.format(cap)), bought \(Decimal4.format(a.boughtThisYear))"
            }
            lines.append(line)
        }
        lines.append("Try: \(connect), then type")
        if let broker = market.brokers.first,
           let account = market.accounts.first(where: { $0.broker == broker.id }),
           let instrument = market.instruments.first {
            lines.append("  LOGIN broker=\(broker.id) token=\(broker.token)")
            lines.append("  NEW cid=c1 acct=\(account.id) sym=\(instrument.symbol) side=BUY qty=\(instrument.lot) "
                         + "px=\(Decimal4.format(instrument.referencePrice))")
        }
        return lines.joined(separator: "\n")
    }

    /// `starts CLOSED; daily (+08:00): 09:15 AUCTION, 09:25 OPEN, …` under an instrument that does
    /// not simply trade all day; nil for one that does. A schedule may hold 1,440 entries, so only
    /// the first few are shown.
    static func describeDay(_ instrument: InstrumentConfig, timeZoneOffsetSeconds: Int32) -> String? {
        guard instrument.phase != .open || !instrument.schedule.isEmpty else { return nil }
        var text = String(repeating: " ", count: 11) + "starts \(Spelling.phase(instrument.phase))"
        guard !instrument.schedule.isEmpty else { return text }
        let shownMax = 6
        let shown = instrument.schedule.prefix(shownMax).map {
            "\(ConfigLoader.timeOfDayText($0.secondOfDay)) \(Spelling.phase($0.phase))"
        }
        text += "; daily (\(ConfigLoader.timeZoneText(timeZoneOffsetSeconds))): " + shown.joined(separator: ", ")
        if instrument.schedule.count > shownMax { text += ", … (\(instrument.schedule.count) entries)" }
        return text
    }

    /// `text` padded with spaces to `width` characters (and at least one space after it).
    private static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(1, width - text.count))
    }
}
