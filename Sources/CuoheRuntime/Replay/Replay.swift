import CuoheCore
import CuoheProtocol

/// Re-runs a day: lines `[@<nanoseconds> ]<broker> <protocol line>` go through the same parser and
/// matcher a live broker's lines would, in order, as if every broker were logged in; every
/// outbound message comes back as `<broker> <protocol line>`, market data as `* <line>`.
///
/// The sequencing clock starts at the trading date's midnight UTC and advances 1 ns per command (edge answers do not move it); an
/// `@` prefix sets it. A `ROLL` moves it to the new date's midnight if it is behind. The same input
/// always gives byte-identical output.
public struct Replay: ~Copyable {
    /// The longest input line (stamp, broker and protocol line) replay reads; a longer one is
    /// answered `LINE_TOO_LONG` whatever it holds, and the rest of it is dropped unread. Four
    /// times the protocol's own bound leaves room for a stamp and a broker before it.
    public static let inputLineBytesMax = 4096

    public var directory: Directory { edge.directory }
    public let edge: ReplayEdge
    public private(set) var sequencing: SequencingClock
    let text: ReplayText
    public private(set) var matcher: Matcher
    var events = EventBuffer()
    /// The storage `feed` answers in, kept for the next line.
    var sequencedScratch: [Command] = []
    /// The timestamp of the last command.
    public var clock: Int64 { sequencing.now }
    /// Every trade replayed, with its trading date, for `trades.csv` (kept only when asked for:
    /// a long replay would otherwise hold every trade in memory for nothing).
    public private(set) var trades: [TradeRecord] = []
    public let recordsTrades: Bool

    /// Continues from a restored matcher (a snapshot) and the clock it was taken at.
    public init(config: MarketConfig, matcher: consuming Matcher, clock: Int64, recordsTrades: Bool = true) {
        self.recordsTrades = recordsTrades
        let directory = Directory(config: config)
        text = ReplayText(directory: directory)
        edge = ReplayEdge(directory: directory)
        sequencing = SequencingClock(tradingDate: matcher.tradingDate, brokerIsOperator: directory.brokerIsOperator,
                                     schedule: TradingSchedule(config: config), now: clock)
        self.matcher = matcher
    }

    public init(config: MarketConfig, limits: EngineLimits = EngineLimits(), recordsTrades: Bool = true) {
        self.recordsTrades = recordsTrades
        let directory = Directory(config: config)
        text = ReplayText(directory: directory)
        edge = ReplayEdge(directory: directory)
        sequencing = SequencingClock(tradingDate: config.tradingDate, brokerIsOperator: directory.brokerIsOperator,
                                     schedule: TradingSchedule(config: config))
        matcher = Matcher(config: config, limits: limits)
    }

    /// Processes one input line (without `\n`), appending output lines (each ending in `\n`).
    /// Returns the commands sequenced (for the journal): the schedule's `PHASE`s whose time the
    /// line's stamp reached, then the line's own command if it reached the matcher.
    @discardableResult
    public mutating func feed(_ line: ArraySlice<UInt8>, into out: inout [UInt8]) -> [Command] {
        let inbound = edge.read(line)
        // Reused from line to line: a caller that lets go of the answer leaves it unique, so
        // no line allocates it again.
        var sequenced = sequencedScratch
        sequencedScratch = []
        sequenced.removeAll(keepingCapacity: true)
        defer { sequencedScratch = sequenced }
        if case .command(var command, let requested) = inbound, let ts = sequencing.stamp(requested: requested) {
            // As the pipeline's sequencer does: the schedule's entries due by the command's stamp
            // first, then the command with that same stamp (and, after a ROLL, the new day's
            // entries already due).
            carryOutSchedule(through: ts, into: &out, &sequenced)
            command.ts = ts
            sequencing.observe(command)
            apply(command, into: &out)
            sequenced.append(command)
            if command.kind == .roll { carryOutSchedule(through: sequencing.now, into: &out, &sequenced) }
            return sequenced
        }
        switch sequencing.sequence(inbound) {
        case .nothing:
            break
        case .answer(let answer):
            let next = answer.broker >= 0 ? matcher.lastSeq(broker: answer.broker) + 1 : 1
            text.append(answer, nextSeq: { _ in next }, to: &out)
        case .command(let command):
            apply(command, into: &out)
            sequenced.append(command)
        }
        return sequenced
    }

    mutating func carryOutSchedule(through stamp: Int64, into out: inout [UInt8], _ sequenced: inout [Command]) {
        while let due = sequencing.nextScheduled(through: stamp) {
            apply(due, into: &out)
            sequenced.append(due)
        }
    }

    /// Applies an already-sequenced command with its outputs, as the first run did (for checking a
    /// journal against what was printed).
    public mutating func replay(_ command: Command, into out: inout [UInt8]) {
        sequencing.observe(command)
        apply(command, into: &out)
    }

    mutating func apply(_ command: Command, into out: inout [UInt8]) {
        let date = matcher.tradingDate
        events.removeAll()
        matcher.process(command, into: &events)
        for i in 0..<events.count {
            let e = events[i]
            if e.kind == .trade && recordsTrades { trades.append(TradeRecord(e, date: date)) }
            text.append(e, to: &out)
        }
    }

    /// Writes `trades.csv`, `register.csv`, `accounts.csv` and `instruments.csv` (of the day
    /// open at the end) into `path`.
    public func export(to path: String) throws(IOError) {
        try EndOfDay.write(to: path, trades: trades, ledger: matcher.ledger, prices: DayPrices(openDayOf: matcher),
                           directory: directory)
    }

    /// Replays a whole text (tests and tools), returning the output text.
    public mutating func run(_ text: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: "\n") {
            if i > start || i < bytes.count { feed(bytes[start..<i], into: &out) }
            start = i + 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Replay's output: each event as `<broker> <protocol line>`, market data as `* <line>`, and the
/// edge's own answers as `<who> <line>`. The in-memory replay and the pipeline's text sink both
/// write it, so their output is the same by construction.
public struct ReplayText: Sendable {
    public let directory: Directory
    let formatter: LineFormatter

    /// What each line starts with: its broker's name (packed like a cid), or `*` for market
    /// data (the last).
    let prefixes: [ClientOrderID]

    public init(directory: Directory) {
        self.directory = directory
        formatter = LineFormatter(directory: directory)
        // Every configured broker id packs (the loader allows only cid bytes in ids); `*` is not
        // a cid byte, so it is packed by hand (the writer copies bytes up to the first zero).
        let star = ClientOrderID(w0: UInt64(UInt8(ascii: "*")), w1: 0, w2: 0, w3: 0)
        prefixes = directory.brokers.map { ClientOrderID($0) ?? ClientOrderID(w0: UInt64(UInt8(ascii: "?")), w1: 0, w2: 0, w3: 0) }
            + [star]
    }

    public func append(_ e: Event, to out: inout [UInt8]) {
        if e.kind == .trade || e.kind == .indicative || e.kind == .quote {
            append(e, as: prefixes.count - 1, to: &out)
        } else if e.broker < 0 {
            // The schedule's own PHASE: its answer goes to every operator broker.
            for (b, isOperator) in directory.brokerIsOperator.enumerated() where isOperator {
                append(e, as: b, to: &out)
            }
        } else {
            append(e, as: Int(e.broker), to: &out)
        }
    }

    /// One line: the prefix, the event's protocol line, `\n`.
    func append(_ e: Event, as prefix: Int, to out: inout [UInt8]) {
        formatter.append(e, who: prefixes[prefix], to: &out)
    }

    public func append(_ answer: EdgeAnswer, nextSeq: (Int32) -> Int64, to out: inout [UInt8]) {
        guard let line = answer.line(formatter, nextSeq: nextSeq) else { return }
        out.append(contentsOf: answer.who.utf8)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: line.utf8)
        out.append(UInt8(ascii: "\n"))
    }
}
