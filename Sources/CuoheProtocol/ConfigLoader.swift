import CuoheCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a configuration file was refused. The engine prints it and refuses to start.
///
/// Every error names the file; an error about a value names its JSON path (`$.instruments[0].tick`)
/// and says what was expected; a JSON syntax error names the line and column instead.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as the operator named it (or a label such as `demo market`).
    public var file: String
    /// The JSON path of the offending value, like `$.instruments[0].tick`; empty when the error is
    /// not about one value (an unreadable file, a JSON syntax error).
    public var path: String
    /// What was expected and what was found.
    public var message: String
    /// For a JSON syntax error: the 1-based line.
    public var line: Int?
    /// For a JSON syntax error: the 1-based column (in Unicode scalars).
    public var column: Int?

    /// An error in `file`: at the JSON `path` (or `""`), or at `line`:`column` for a syntax error.
    public init(file: String, path: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.path = path
        self.message = message
        self.line = line
        self.column = column
    }

    /// `config.json: $.instruments[0].tick: expected …; got …`, `config.json:3:17: …`, or
    /// `config.json: cannot read file: …`.
    public var description: String {
        if let line, let column { return "\(file):\(line):\(column): \(message)" }
        if path.isEmpty { return "\(file): \(message)" }
        return "\(file): \(path): \(message)"
    }
}

/// Loads the exchange's JSON configuration (`CONFIG.md`) into a `MarketConfig`, checking every
/// value. Extra keys are an error (a typo must not silently change a market), and an optional key
/// may be left out but not given as `null`.
public enum ConfigLoader {
    /// The exchange's fee account, as it appears in `accounts.csv`: no configured account may use it.
    public static let feeAccountID = "FEES"
    /// What replay prints in place of a broker for a line it cannot attribute to one: no broker
    /// may use it.
    public static let noBrokerID = "-"

    /// The most instruments a market may list.
    public static let instrumentsMax = 10_000
    /// The most brokers a market may configure.
    public static let brokersMax = 10_000
    /// The most investor accounts a market may configure.
    public static let accountsMax = 1_000_000

    /// The most price levels (ticks) an instrument's starting band may span, counting both edges:
    /// the order book holds one price level per tick in the band, so this bounds the memory an
    /// instrument's book takes (and a typo such as a tick of `0.0001` on a 1000 CNY instrument is
    /// refused instead of allocating millions of levels).
    public static let bandTicksMax: Int64 = Bounds.bookTicksMax

    /// The largest holding of one instrument by one account: the protocol's quantity bound, so
    /// that an instrument's at most `holderCapMax` holders hold at most 2 × 10^14 shares in all.
    public static let holdingSharesMax: Int64 = Bounds.quantityMax

    /// The largest board lot.
    public static let lotMax: Int64 = 1_000_000_000
    /// The largest fee or stamp duty, in basis points (100%).
    public static let bpsMax: Int64 = 10_000
    /// The largest holder cap (the regional-equity rule: at most 200 holders per instrument).
    public static let holderCapMax: Int64 = Bounds.holderCapMax
    /// The longest holding period, in trading days.
    public static let holdingDaysMax: Int64 = 365
    /// The most entries an instrument's daily schedule may hold. One a minute for a whole day is
    /// more than any trading day needs, and each entry is a command the sequencer issues every
    /// day, so this bounds those commands per day and per instrument.
    public static let scheduleEntriesMax = 1_440
    /// The westernmost `timeZone`, UTC-12:00, in seconds. With `timeZoneOffsetSecondsMax` it spans
    /// the offsets in civil use, so a typo such as `+18:00` is refused instead of moving the
    /// trading day.
    public static let timeZoneOffsetSecondsMin: Int32 = -12 * 3_600
    /// The easternmost `timeZone`, UTC+14:00 (see `timeZoneOffsetSecondsMin`).
    public static let timeZoneOffsetSecondsMax: Int32 = 14 * 3_600
    /// The highest per-session message rate a broker may be given.
    public static let messagesPerSecondMax: Int64 = 10_000_000
    /// The longest symbol, in characters of `[A-Za-z0-9_.-]`.
    public static let symbolLengthMax = 16
    /// The longest broker id, in characters of `[A-Za-z0-9_.-]`.
    public static let brokerIDLengthMax = 16
    /// The longest account id, in characters of `[A-Za-z0-9_.-]`.
    public static let accountIDLengthMax = 32
    /// The longest instrument name, in UTF-8 bytes.
    public static let nameBytesMax = 200
    /// The longest broker token, in bytes. A token is typed in a `LOGIN` line, so it is printable
    /// ASCII without spaces or `=`.
    public static let tokenBytesMax = 128

    /// Reads and checks the configuration file at `path`. Errors name the file as `path`.
    /// `limits` are the engine's capacities, for the memory the market would need.
    public static func load(path: String, limits: EngineLimits = EngineLimits()) throws(ConfigError) -> MarketConfig {
        let bytes = try readFile(path)
        return try parse(bytes, file: path, limits: limits)
    }

    /// Checks a configuration held in memory; `file` names it in errors.
    public static func parse(_ bytes: [UInt8], file: String,
                             limits: EngineLimits = EngineLimits()) throws(ConfigError) -> MarketConfig {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            throw ConfigError(file: file, path: "", message: error.message, line: error.line, column: error.column)
        }
        let config = try ConfigReader(file: file).market(root)
        try checkMemory(config, file: file, limits: limits)
        return config
    }

    /// Refuses a market whose engine storage could pass `Bounds.engineBytesMax` at its largest
    /// (every book grown to its room), naming the largest book.
    static func checkMemory(_ config: MarketConfig, file: String, limits: EngineLimits) throws(ConfigError) {
        let footprint = EngineFootprint(config: config, limits: limits)
        guard footprint.totalBytes > Bounds.engineBytesMax else { return }
        let largest = config.instruments[footprint.largestBookIndex]
        throw ConfigError(
            file: file, path: "$.instruments",
            message: "the market needs up to \(describeBytes(footprint.totalBytes)) of engine memory, more than the "
                + "\(describeBytes(Bounds.engineBytesMax)) allowed: order books \(describeBytes(footprint.booksBytes)) for "
                + "\(config.instruments.count) instruments (the largest, $.instruments[\(footprint.largestBookIndex)] "
                + "\(JSONParser.quote(largest.symbol)), \(describeBytes(footprint.largestBookBytes)) for up to "
                + "\(largest.bookTicksMax) price levels), other storage \(describeBytes(footprint.otherBytes)); "
                + "use larger ticks, narrower bands or fewer instruments")
    }

    /// `1.5 GiB`, `47.9 MiB`, `512 KiB`: one decimal, binary units.
    static func describeBytes(_ bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var unit = 0
        var scaled = bytes
        while scaled >= 1 << 20 && unit < units.count - 2 {
            scaled >>= 10
            unit += 1
        }
        if scaled < 1024 { return "\(scaled) \(units[unit])" }
        let tenths = scaled * 10 / 1024
        return "\(tenths / 10).\(tenths % 10) \(units[unit + 1])"
    }

    /// `09:15` for a whole minute, `14:57:30` otherwise: a schedule time as the file would give it.
    static func timeOfDayText(_ secondOfDay: Int32) -> String {
        let text = twoDigitText(secondOfDay / 3_600) + ":" + twoDigitText(secondOfDay / 60 % 60)
        return secondOfDay % 60 == 0 ? text : text + ":" + twoDigitText(secondOfDay % 60)
    }

    /// `+08:00`, `-05:30`, `+00:00`: a `timeZone` as the file gives it.
    static func timeZoneText(_ offsetSeconds: Int32) -> String {
        let minutes = abs(offsetSeconds) / 60
        return (offsetSeconds < 0 ? "-" : "+") + twoDigitText(minutes / 60) + ":" + twoDigitText(minutes % 60)
    }

    private static func twoDigitText(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// Reads a whole file, refusing one larger than the JSON reader accepts before reading it all.
    private static func readFile(_ path: String) throws(ConfigError) -> [UInt8] {
        func failure(_ reason: String) -> ConfigError {
            ConfigError(file: path, path: "", message: "cannot read file: \(reason)")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(String(cString: strerror(errno))) }
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { buffer in read(fd, buffer.baseAddress, buffer.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(String(cString: strerror(errno)))
            }
            if n == 0 { return bytes }
            guard bytes.count + n <= JSONParser.inputBytesMax else {
                throw failure("the file is larger than \(JSONParser.inputBytesMax) bytes")
            }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }
}

// MARK: - Checking the parsed JSON

/// A value and its JSON path. A member's path is built only when an error needs it: a large
/// file has millions of fields and nearly all of them are fine.
private struct Field {
    var value: JSONValue
    /// The path of the value, or of the object holding it when `key` is set.
    var parentPath: String
    var key: String?

    init(value: JSONValue, path: String) {
        self.value = value
        self.parentPath = path
        self.key = nil
    }

    init(value: JSONValue, parentPath: String, key: String) {
        self.value = value
        self.parentPath = parentPath
        self.key = key
    }

    var path: String {
        guard let key else { return parentPath }
        return ConfigReader.child(parentPath, key)
    }
}

/// An object's members, after its keys were checked against the allowed ones.
private struct Members {
    var file: String
    var members: [(String, JSONValue)]
    var path: String

    /// The member `key`, if given.
    func optional(_ key: String) -> Field? {
        for (k, v) in members where k == key { return Field(value: v, parentPath: path, key: key) }
        return nil
    }

    /// The member `key`, which must be given.
    func required(_ key: String) throws(ConfigError) -> Field {
        guard let field = optional(key) else {
            throw ConfigError(file: file, path: path, message: "missing required key \(JSONParser.quote(key))")
        }
        return field
    }
}

/// Turns the parsed JSON into a `MarketConfig`, checking every rule of `CONFIG.md`.
private struct ConfigReader {
    let file: String

    func market(_ root: JSONValue) throws(ConfigError) -> MarketConfig {
        let top = try object(Field(value: root, path: "$"), noun: "a configuration object",
                             keys: ["tradingDate", "timeZone", "fees", "instruments", "brokers", "accounts"])
        let tradingField = try top.required("tradingDate")
        let tradingDate = try date(tradingField)
        guard tradingDate.isTradingDate else {
            throw fail(tradingField.path, "expected a trading date from 1970-01-01 to \(CivilDate.lastTradingDate.iso) (the "
                       + "engine's nanosecond timestamps end in 2262); got \"\(tradingDate.iso)\"")
        }
        var timeZoneOffset: Int32 = 0
        if let f = top.optional("timeZone") { timeZoneOffset = try timeZone(f) }
        let fees = try self.fees(top.optional("fees"))
        let instrumentsField = try top.required("instruments")
        let (instruments, symbolIndex) = try self.instruments(instrumentsField)
        let brokersField = try top.required("brokers")
        let brokerIndex = try self.brokers(brokersField)
        let accounts = try self.accounts(try top.required("accounts"), brokers: brokerIndex, brokersPath: brokersField.path,
                                         symbols: symbolIndex, instruments: instruments, instrumentsPath: instrumentsField.path)
        return MarketConfig(tradingDate: tradingDate, fees: fees, instruments: instruments, brokers: brokerIndex.brokers,
                            accounts: accounts, timeZoneOffsetSeconds: timeZoneOffset)
    }

    /// `fees`, if given: each at most 100%, and both together too.
    private func fees(_ field: Field?) throws(ConfigError) -> Fees {
        var fees = Fees()
        guard let field else { return fees }
        let o = try object(field, noun: "a fees object", keys: ["feeBps", "stampDutyBps"])
        if let f = o.optional("feeBps") { fees.feeBps = try integer(f, 0...ConfigLoader.bpsMax) }
        if let f = o.optional("stampDutyBps") { fees.stampDutyBps = try integer(f, 0...ConfigLoader.bpsMax) }
        if fees.feeBps + fees.stampDutyBps > ConfigLoader.bpsMax {
            // A seller pays both: more than the whole value would leave it owing money on a sale.
            throw fail(field.path, "expected feeBps + stampDutyBps at most \(ConfigLoader.bpsMax); got "
                       + "\(fees.feeBps + fees.stampDutyBps)")
        }
        return fees
    }

    /// The instruments, each checked, symbols unique; and their index by symbol.
    private func instruments(_ instrumentsField: Field) throws(ConfigError) -> ([InstrumentConfig], [String: Int]) {
        let instrumentValues = try array(instrumentsField, noun: "instrument", plural: "instruments",
                                         max: ConfigLoader.instrumentsMax, nonEmpty: true)
        var instruments: [InstrumentConfig] = []
        instruments.reserveCapacity(instrumentValues.count)
        var symbolIndex: [String: Int] = [:]
        symbolIndex.reserveCapacity(instrumentValues.count)
        for (i, value) in instrumentValues.enumerated() {
            let path = "\(instrumentsField.path)[\(i)]"
            let instrument = try self.instrument(Field(value: value, path: path))
            if let first = symbolIndex[instrument.symbol] {
                throw fail(path + ".symbol", "duplicate symbol \(JSONParser.quote(instrument.symbol)); "
                           + "already used by \(instrumentsField.path)[\(first)]")
            }
            symbolIndex[instrument.symbol] = i
            instruments.append(instrument)
        }
        return (instruments, symbolIndex)
    }

    /// The brokers, each checked, ids unique; and their index by id.
    private func brokers(_ brokersField: Field) throws(ConfigError) -> (brokers: [BrokerConfig], index: [String: Int]) {
        let brokerValues = try array(brokersField, noun: "broker", plural: "brokers",
                                     max: ConfigLoader.brokersMax, nonEmpty: true)
        var brokers: [BrokerConfig] = []
        brokers.reserveCapacity(brokerValues.count)
        var brokerIndex: [String: Int] = [:]
        brokerIndex.reserveCapacity(brokerValues.count)
        for (i, value) in brokerValues.enumerated() {
            let path = "\(brokersField.path)[\(i)]"
            let broker = try self.broker(Field(value: value, path: path))
            if let first = brokerIndex[broker.id] {
                throw fail(path + ".id", "duplicate broker id \(JSONParser.quote(broker.id)); "
                           + "already used by \(brokersField.path)[\(first)]")
            }
            brokerIndex[broker.id] = i
            brokers.append(broker)
        }
        return (brokers, brokerIndex)
    }

    /// The accounts, each checked, ids unique, holders per instrument within its cap, cash in all
    /// within the market's bound.
    private func accounts(_ accountsField: Field, brokers brokerTable: (brokers: [BrokerConfig], index: [String: Int]),
                          brokersPath: String, symbols symbolIndex: [String: Int], instruments: [InstrumentConfig],
                          instrumentsPath: String) throws(ConfigError) -> [AccountConfig] {
        let brokerIndex = brokerTable.index
        let accountValues = try array(accountsField, noun: "account", plural: "accounts",
                                      max: ConfigLoader.accountsMax, nonEmpty: false)
        var accounts: [AccountConfig] = []
        accounts.reserveCapacity(accountValues.count)
        var accountIndex: [String: Int] = [:]
        accountIndex.reserveCapacity(accountValues.count)
        var holders = [Int](repeating: 0, count: instruments.count)
        var marketCash: Int64 = 0
        for (i, value) in accountValues.enumerated() {
            let path = "\(accountsField.path)[\(i)]"
            let account = try self.account(Field(value: value, path: path), brokers: brokerIndex,
                                           brokersPath: brokersPath, symbols: symbolIndex,
                                           instrumentsPath: instrumentsPath)
            if account.id == ConfigLoader.feeAccountID {
                throw fail(path + ".id", "the account id \(JSONParser.quote(account.id)) is reserved for the exchange's "
                           + "fee account")
            }
            if let first = accountIndex[account.id] {
                throw fail(path + ".id", "duplicate account id \(JSONParser.quote(account.id)); "
                           + "already used by \(accountsField.path)[\(first)]")
            }
            accountIndex[account.id] = i
            if let smallest = instruments.min(by: { $0.holderCap < $1.holderCap }), account.beneficialOwners > smallest.holderCap {
                throw fail(path + ".beneficialOwners", "expected at most \(smallest.holderCap), the smallest holderCap "
                           + "(\(smallest.symbol)): an account standing for more actual holders could never buy it; "
                           + "got \(account.beneficialOwners)")
            }
            for holding in account.holdings where holding.shares > 0 {
                if let s = symbolIndex[holding.symbol] { holders[s] += Int(account.beneficialOwners) }
            }
            if account.cash > Bounds.marketCashMax - marketCash {
                throw fail(accountsField.path, "the accounts' cash adds up to more than the "
                           + "\(Decimal4.format(Bounds.marketCashMax, minFraction: 0)) CNY the whole market may hold "
                           + "(passed at \(path).cash)")
            }
            marketCash += account.cash
            accounts.append(account)
        }
        for (s, instrument) in instruments.enumerated() where Int64(holders[s]) > instrument.holderCap {
            throw fail(accountsField.path, "instrument \(instrument.symbol) has \(holders[s]) holders "
                       + "(accounts with shares > 0, each counted as its beneficialOwners) but its holderCap is "
                       + "\(instrument.holderCap)")
        }
        return accounts
    }

    private func instrument(_ field: Field) throws(ConfigError) -> InstrumentConfig {
        let o = try object(field, noun: "an instrument object",
                           keys: ["symbol", "name", "tick", "lot", "referencePrice", "bandPercent",
                                  "holderCap", "holdingDays", "phase", "schedule", "mode", "rebuyDays"])
        let symbol = try identifier(o.required("symbol"), noun: "a symbol", lengthMax: ConfigLoader.symbolLengthMax)
        let name = try name(o.required("name"))
        let tickField = try o.required("tick")
        let tick = try decimal(tickField, max: Bounds.priceMax, example: "0.01")
        guard tick > 0 else { throw fail(tickField.path, "expected a tick greater than 0; got \(describe(tickField.value))") }
        let lot = try integer(o.required("lot"), 1...ConfigLoader.lotMax)
        let referenceField = try o.required("referencePrice")
        let referencePrice = try decimal(referenceField, max: Bounds.priceMax, example: "12.00")
        guard referencePrice > 0 else {
            throw fail(referenceField.path, "expected a reference price greater than 0; got \(describe(referenceField.value))")
        }
        guard referencePrice % tick == 0 else {
            throw fail(referenceField.path, "expected a multiple of the tick \(Decimal4.format(tick)); "
                       + "got \(describe(referenceField.value))")
        }
        let bandPercent = try integer(o.required("bandPercent"), 0...100)
        var holderCap = ConfigLoader.holderCapMax
        if let f = o.optional("holderCap") { holderCap = try integer(f, 1...ConfigLoader.holderCapMax) }
        var holdingDays: Int64 = 0
        if let f = o.optional("holdingDays") { holdingDays = try integer(f, 0...ConfigLoader.holdingDaysMax) }
        var phase = TradingPhase.open
        if let f = o.optional("phase") { phase = try self.phase(f) }
        var schedule: [ScheduleEntry] = []
        if let f = o.optional("schedule") { schedule = try self.schedule(f) }
        var rebuyDays: Int64 = 0
        if let f = o.optional("rebuyDays") { rebuyDays = try integer(f, 0...ConfigLoader.holdingDaysMax) }
        var mode = InstrumentMode.continuous
        if let f = o.optional("mode") { mode = try self.mode(f) }
        if mode == .negotiated { try refuseAuctions(o, phase: phase, schedule: schedule) }

        // Prices are at most 10^13 units and the percentage at most 100, so the band's arithmetic
        // stays below 10^16: no overflow.
        let band = InstrumentConfig.band(referencePrice: referencePrice, tick: tick, bandPercent: bandPercent)
        guard band.low <= band.high else {
            throw fail(field.path, "the price band is empty: its low edge \(Decimal4.format(band.low)) "
                       + "is above its high edge \(Decimal4.format(band.high))")
        }
        let bandTicks = (band.high - band.low) / tick + 1
        guard bandTicks <= ConfigLoader.bandTicksMax else {
            throw fail(field.path, "the price band \(Decimal4.format(band.low)) to \(Decimal4.format(band.high)) "
                       + "spans \(bandTicks) ticks of \(Decimal4.format(tick)); at most \(ConfigLoader.bandTicksMax) "
                       + "are allowed (the order book preallocates one price level per tick): "
                       + "use a larger tick or a narrower bandPercent")
        }
        return InstrumentConfig(symbol: symbol, name: name, tick: tick, lot: lot, referencePrice: referencePrice,
                                bandPercent: bandPercent, holderCap: holderCap, holdingDays: holdingDays,
                                phase: phase, schedule: schedule, mode: mode, rebuyDays: rebuyDays)
    }

    /// A negotiated-only instrument has no order book to run an auction on: neither its starting
    /// phase nor its schedule may be `AUCTION`.
    private func refuseAuctions(_ o: Members, phase: TradingPhase, schedule: [ScheduleEntry]) throws(ConfigError) {
        let why = "an instrument with \"mode\": \"NEGOTIATED\" trades by negotiated transfer only, without call auctions"
        if phase == .auction, let f = o.optional("phase") {
            throw fail(f.path, "expected \"OPEN\" or \"CLOSED\": \(why); got \(describe(f.value))")
        }
        if let k = schedule.firstIndex(where: { $0.phase == .auction }), let f = o.optional("schedule") {
            throw fail("\(f.path)[\(k)].phase", "expected \"OPEN\" or \"CLOSED\": \(why); got \"AUCTION\"")
        }
    }

    /// An instrument's daily schedule: entries `{ "at": "09:15", "phase": "AUCTION" }`, times
    /// strictly increasing (two entries at one time would leave the phase between them
    /// meaningless), at most `scheduleEntriesMax`.
    private func schedule(_ field: Field) throws(ConfigError) -> [ScheduleEntry] {
        let values = try array(field, noun: "schedule entry", plural: "schedule entries",
                               max: ConfigLoader.scheduleEntriesMax, nonEmpty: false)
        var entries: [ScheduleEntry] = []
        entries.reserveCapacity(values.count)
        var previous: (path: String, second: Int32)?
        for (i, value) in values.enumerated() {
            let o = try object(Field(value: value, path: "\(field.path)[\(i)]"), noun: "a schedule entry object",
                               keys: ["at", "phase"])
            let atField = try o.required("at")
            let second = try timeOfDay(atField)
            let phase = try self.phase(o.required("phase"))
            if let previous, second <= previous.second {
                throw fail(atField.path, "expected a time later than the previous entry's "
                           + "\"\(ConfigLoader.timeOfDayText(previous.second))\" (\(previous.path)); "
                           + "got \(describe(atField.value))")
            }
            previous = (atField.path, second)
            entries.append(ScheduleEntry(secondOfDay: second, phase: phase))
        }
        return entries
    }

    private func broker(_ field: Field) throws(ConfigError) -> BrokerConfig {
        let o = try object(field, noun: "a broker object", keys: ["id", "token", "operator", "maxMessagesPerSecond", "cancelOnDisconnect"])
        let idField = try o.required("id")
        let id = try identifier(idField, noun: "a broker id", lengthMax: ConfigLoader.brokerIDLengthMax)
        if id == ConfigLoader.noBrokerID {
            throw fail(idField.path, "the broker id \"\(id)\" is reserved: replay names a line it cannot attribute "
                       + "to a broker with it")
        }
        let token = try token(o.required("token"))
        var isOperator = false
        if let f = o.optional("operator") { isOperator = try bool(f) }
        var rate: Int64?
        if let f = o.optional("maxMessagesPerSecond") { rate = try integer(f, 1...ConfigLoader.messagesPerSecondMax) }
        var cancels = false
        if let f = o.optional("cancelOnDisconnect") { cancels = try bool(f) }
        return BrokerConfig(id: id, token: token, isOperator: isOperator, maxMessagesPerSecond: rate, cancelOnDisconnect: cancels)
    }

    private func account(_ field: Field, brokers: [String: Int], brokersPath: String, symbols: [String: Int],
                         instrumentsPath: String) throws(ConfigError) -> AccountConfig {
        let o = try object(field, noun: "an account object",
                           keys: ["id", "broker", "qualifiedUntil", "cash", "holdings", "annualBuyCap", "boughtThisYear",
                                  "beneficialOwners"])
        let id = try identifier(o.required("id"), noun: "an account id", lengthMax: ConfigLoader.accountIDLengthMax)
        let brokerField = try o.required("broker")
        // Checked as an identifier first: Swift compares strings by canonical equivalence (the
        // Kelvin sign equals "K"), identifiers compare byte for byte.
        let broker = try identifier(brokerField, noun: "a broker id", lengthMax: ConfigLoader.brokerIDLengthMax)
        guard brokers[broker] != nil else {
            throw fail(brokerField.path, "unknown broker \(JSONParser.quote(broker)); expected the id of a broker in \(brokersPath)")
        }
        var qualifiedUntil: CivilDate?
        if let f = o.optional("qualifiedUntil") { qualifiedUntil = try date(f) }
        let cash = try decimal(o.required("cash"), max: Bounds.accountCashMax, example: "1000000.00")
        var holdings: [Holding] = []
        if let f = o.optional("holdings") {
            guard case .object(let members) = f.value else {
                throw fail(f.path, "expected an object of symbol to shares, like {\"ZJ100231\": 5000}; got \(describe(f.value))")
            }
            holdings.reserveCapacity(members.count)
            for (symbol, value) in members {
                // The holding's path is built only for an error. An identifier first, so that the
                // lookup compares bytes (see the account's broker).
                guard ConfigReader.isIdentifier(symbol, lengthMax: ConfigLoader.symbolLengthMax), symbols[symbol] != nil else {
                    throw fail(ConfigReader.child(f.path, symbol),
                               "unknown symbol \(JSONParser.quote(symbol)); expected the symbol of an instrument in \(instrumentsPath)")
                }
                let range = 0...ConfigLoader.holdingSharesMax
                guard let shares = ConfigReader.integerValue(value, range) else {
                    throw fail(ConfigReader.child(f.path, symbol), ConfigReader.integerExpected(range, got: describe(value)))
                }
                holdings.append(Holding(symbol: symbol, shares: shares))
            }
        }
        var annualBuyCap: Int64?
        if let f = o.optional("annualBuyCap") {
            annualBuyCap = try decimal(f, max: Bounds.accountCashMax, example: "1000000.00")
        }
        var boughtThisYear: Int64 = 0
        if let f = o.optional("boughtThisYear") {
            boughtThisYear = try decimal(f, max: Bounds.accountCashMax, example: "250000.00")
        }
        var beneficialOwners: Int64 = 1
        if let f = o.optional("beneficialOwners") { beneficialOwners = try integer(f, 1...ConfigLoader.holderCapMax) }
        return AccountConfig(id: id, broker: broker, qualifiedUntil: qualifiedUntil, cash: cash, holdings: holdings,
                             annualBuyCap: annualBuyCap, boughtThisYear: boughtThisYear,
                             beneficialOwners: beneficialOwners)
    }

    // MARK: - Value checks

    private func fail(_ path: String, _ message: String) -> ConfigError {
        ConfigError(file: file, path: path, message: message)
    }

    /// An object whose keys are all among `keys` (each at most once: the JSON reader refuses
    /// duplicates).
    private func object(_ field: Field, noun: String, keys: [String]) throws(ConfigError) -> Members {
        guard case .object(let members) = field.value else {
            throw fail(field.path, "expected \(noun); got \(describe(field.value))")
        }
        for (key, _) in members where !keys.contains(key) {
            throw fail(field.path, "unknown key \(JSONParser.quote(key)); expected one of \(keys.joined(separator: ", "))")
        }
        return Members(file: file, members: members, path: field.path)
    }

    private func array(_ field: Field, noun: String, plural: String, max: Int,
                       nonEmpty: Bool) throws(ConfigError) -> [JSONValue] {
        guard case .array(let elements) = field.value else {
            throw fail(field.path, "expected an array of \(plural); got \(describe(field.value))")
        }
        if nonEmpty && elements.isEmpty {
            throw fail(field.path, "expected at least one \(noun); got an empty array")
        }
        guard elements.count <= max else {
            throw fail(field.path, "expected at most \(max) \(plural); got \(elements.count)")
        }
        return elements
    }

    /// A JSON number without sign, fraction or exponent, within `range`.
    private func integer(_ field: Field, _ range: ClosedRange<Int64>) throws(ConfigError) -> Int64 {
        guard let n = ConfigReader.integerValue(field.value, range) else {
            throw fail(field.path, ConfigReader.integerExpected(range, got: describe(field.value)))
        }
        return n
    }

    private static func integerValue(_ value: JSONValue, _ range: ClosedRange<Int64>) -> Int64? {
        guard case .number(let text) = value, let n = Decimal4.parseInteger(text.utf8), range.contains(n) else { return nil }
        return n
    }

    private static func integerExpected(_ range: ClosedRange<Int64>, got: String) -> String {
        "expected an integer \(range.lowerBound)...\(range.upperBound); got \(got)"
    }

    /// A decimal string (`Decimal4`), at most `max`, in 10^-4 units.
    private func decimal(_ field: Field, max: Int64, example: String) throws(ConfigError) -> Int64 {
        guard case .string(let text) = field.value, ConfigReader.isDecimalText(text) else {
            throw fail(field.path, "expected a decimal string with at most 4 fractional digits, like \"\(example)\"; "
                       + "got \(describe(field.value))")
        }
        guard let value = Decimal4.parse(text.utf8, max: max) else {
            throw fail(field.path, "expected at most \(Decimal4.format(max, minFraction: 0)); got \(describe(field.value))")
        }
        return value
    }

    /// The grammar `Decimal4.parse` accepts, so that a `nil` from it on such text means "too large".
    private static func isDecimalText(_ text: String) -> Bool {
        var digits = 0
        var fractionDigits = 0
        var seenDot = false
        for b in text.utf8 {
            if b == UInt8(ascii: ".") {
                guard !seenDot else { return false }
                seenDot = true
            } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                digits += 1
                if seenDot { fractionDigits += 1 }
            } else {
                return false
            }
        }
        return digits > 0 && fractionDigits <= 4 && !(seenDot && fractionDigits == 0)
    }

    private func date(_ field: Field) throws(ConfigError) -> CivilDate {
        guard case .string(let text) = field.value, let date = CivilDate(iso: text) else {
            throw fail(field.path, "expected a date \"YYYY-MM-DD\" (a real day, years 1970 to 9999), like \"2026-12-01\"; "
                       + "got \(describe(field.value))")
        }
        return date
    }

    private func bool(_ field: Field) throws(ConfigError) -> Bool {
        guard case .bool(let b) = field.value else {
            throw fail(field.path, "expected true or false; got \(describe(field.value))")
        }
        return b
    }

    /// `+08:00`, `-05:30`: the offset from UTC in seconds, exactly `[+-]HH:MM` (a sign always, so
    /// that `08:00` is not taken for a time of day), within the offsets in civil use.
    private func timeZone(_ field: Field) throws(ConfigError) -> Int32 {
        let range = ConfigLoader.timeZoneOffsetSecondsMin...ConfigLoader.timeZoneOffsetSecondsMax
        func offset() -> Int32? {
            guard case .string(let text) = field.value else { return nil }
            let b = Array(text.utf8)
            guard b.count == 6, b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-"), b[3] == UInt8(ascii: ":"),
                  let hours = ConfigReader.twoDigits(b, 1),
                  let minutes = ConfigReader.twoDigits(b, 4), minutes <= 59 else { return nil }
            let seconds = (hours * 60 + minutes) * 60
            let signed = b[0] == UInt8(ascii: "-") ? -seconds : seconds
            return range.contains(signed) ? signed : nil
        }
        guard let seconds = offset() else {
            throw fail(field.path, "expected a UTC offset \"+HH:MM\" or \"-HH:MM\" from "
                       + "\"\(ConfigLoader.timeZoneText(range.lowerBound))\" to \"\(ConfigLoader.timeZoneText(range.upperBound))\", "
                       + "like \"+08:00\"; got \(describe(field.value))")
        }
        return seconds
    }

    /// `09:15` or `09:15:30`: seconds after local midnight, two digits each, `00:00` to `23:59:59`.
    private func timeOfDay(_ field: Field) throws(ConfigError) -> Int32 {
        func seconds() -> Int32? {
            guard case .string(let text) = field.value else { return nil }
            let b = Array(text.utf8)
            guard b.count == 5 || b.count == 8, b[2] == UInt8(ascii: ":"),
                  let hours = ConfigReader.twoDigits(b, 0), hours <= 23,
                  let minutes = ConfigReader.twoDigits(b, 3), minutes <= 59 else { return nil }
            var second: Int32 = 0
            if b.count == 8 {
                guard b[5] == UInt8(ascii: ":"), let s = ConfigReader.twoDigits(b, 6), s <= 59 else { return nil }
                second = s
            }
            return (hours * 60 + minutes) * 60 + second
        }
        guard let value = seconds() else {
            throw fail(field.path, "expected a time of day \"HH:MM\" or \"HH:MM:SS\" from \"00:00\" to \"23:59:59\", "
                       + "like \"09:15\"; got \(describe(field.value))")
        }
        return value
    }

    /// The two ASCII digits at `bytes[at]` and `bytes[at + 1]` as a number, or nil.
    private static func twoDigits(_ bytes: [UInt8], _ at: Int) -> Int32? {
        guard at + 1 < bytes.count else { return nil }
        let zero = UInt8(ascii: "0")
        let high = bytes[at] &- zero
        let low = bytes[at + 1] &- zero
        guard high <= 9, low <= 9 else { return nil }
        return Int32(high) * 10 + Int32(low)
    }

    private func mode(_ field: Field) throws(ConfigError) -> InstrumentMode {
        switch field.value {
        case .string("CONTINUOUS"): return .continuous
        case .string("NEGOTIATED"): return .negotiated
        default: throw fail(field.path, "expected \"CONTINUOUS\" or \"NEGOTIATED\"; got \(describe(field.value))")
        }
    }

    private func phase(_ field: Field) throws(ConfigError) -> TradingPhase {
        switch field.value {
        case .string("AUCTION"): return .auction
        case .string("OPEN"): return .open
        case .string("CLOSED"): return .closed
        default: throw fail(field.path, "expected \"AUCTION\", \"OPEN\" or \"CLOSED\"; got \(describe(field.value))")
        }
    }

    /// 1 to `lengthMax` characters of `[A-Za-z0-9_.-]` (the protocol's identifier bytes).
    private func identifier(_ field: Field, noun: String, lengthMax: Int) throws(ConfigError) -> String {
        guard case .string(let text) = field.value, ConfigReader.isIdentifier(text, lengthMax: lengthMax) else {
            throw fail(field.path, "expected \(noun) of 1 to \(lengthMax) characters from A-Z a-z 0-9 _ . -; "
                       + "got \(describe(field.value))")
        }
        return text
    }

    static func isIdentifier(_ text: String, lengthMax: Int) -> Bool {
        (1...lengthMax).contains(text.utf8.count) && text.utf8.allSatisfy(ClientOrderID.isValidByte)
    }

    /// A display name: 1 to `nameBytesMax` UTF-8 bytes, no control characters (it is printed).
    private func name(_ field: Field) throws(ConfigError) -> String {
        guard case .string(let text) = field.value, (1...ConfigLoader.nameBytesMax).contains(text.utf8.count),
              !text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw fail(field.path, "expected a name of 1 to \(ConfigLoader.nameBytesMax) bytes without control characters; "
                       + "got \(describe(field.value))")
        }
        return text
    }

    /// A LOGIN secret: 1 to `tokenBytesMax` printable ASCII characters, no space or `=` (the
    /// protocol's value bytes, so that a broker can type it).
    private func token(_ field: Field) throws(ConfigError) -> String {
        guard case .string(let text) = field.value, (1...ConfigLoader.tokenBytesMax).contains(text.utf8.count),
              text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "=") }) else {
            throw fail(field.path, "expected a token of 1 to \(ConfigLoader.tokenBytesMax) printable ASCII characters "
                       + "without spaces or '='; got \(describe(field.value))")
        }
        return text
    }

    /// A value for a message: `number 0.01`, `string "abc"`, `true`, `null`, `an object`.
    private func describe(_ value: JSONValue) -> String {
        let shownMax = 40
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let text):
            return text.count > shownMax ? "number \(text.prefix(shownMax))..." : "number \(text)"
        case .string(let text):
            return text.count > shownMax ? "string \(JSONParser.quote(String(text.prefix(shownMax))))..."
                                         : "string \(JSONParser.quote(text))"
        case .array(let elements): return elements.isEmpty ? "an empty array" : "an array"
        case .object: return "an object"
        }
    }

    /// `path.key`, or `path["key"]` when the key is not a plain identifier (so that a path is
    /// never ambiguous, even for a symbol with a dot in it).
    static func child(_ path: String, _ key: String) -> String {
        func isLetter(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 }
        let utf8 = key.utf8
        let plain = utf8.first.map(isLetter) == true && utf8.allSatisfy { isLetter($0) || ($0 >= 48 && $0 <= 57) }
        return plain ? "\(path).\(key)" : "\(path)[\(JSONParser.quote(key))]"
    }
}
