#if canImport(Glibc)
import Glibc
#endif
import BenchSupport
import CuoheCore
import CuoheProtocol
import CuoheRuntime

// cuohe-text-bench: the text edge, in memory (no sockets, no files, no threads).
// Build and run in release mode:
//   swift run -c release cuohe-text-bench [--lines N] [--runs R]
// Per run: N broker lines (`<broker> <protocol line>`, generated before timing) parsed into
// commands; the matcher's events for those commands formatted as protocol lines; and the whole
// of `cuohe replay` in memory, line in, lines out (`Replay.feed`). Medians of the runs; the last
// line is machine-readable. Double only turns nanoseconds into rates.

let brokerCount = 10
let accountCount = 200
let symbol = "ZJ000001"
let mid: Int64 = 1_000_000  // 100.00 CNY

func market() -> MarketConfig {
    var brokers = (0..<brokerCount).map { BrokerConfig(id: "B\($0)", token: "t\($0)") }
    brokers.append(BrokerConfig(id: "OP", token: "op", isOperator: true))
    // Qualified, rich and holding plenty, so no line of the run is refused by a market rule.
    let accounts = (0..<accountCount).map {
        AccountConfig(id: "A\($0)", broker: "B\($0 % brokerCount)", qualifiedUntil: CivilDate(iso: "2027-12-31")!,
                      cash: 10_000_000_000 * Fixed.scale, holdings: [Holding(symbol: symbol, shares: 1_000_000_000)])
    }
    let instrument = InstrumentConfig(symbol: symbol, name: "Bench", tick: 100, lot: 100, referencePrice: mid,
                                      bandPercent: 10)
    return MarketConfig(tradingDate: CivilDate(iso: "2026-12-01")!, fees: Fees(feeBps: 3, stampDutyBps: 10),
                        instruments: [instrument], brokers: brokers, accounts: accounts)
}

/// The standard mix as brokers type it: 60% limit NEW (nine in ten resting within 2% of the
/// middle, one in ten crossing it), 25% CANCEL, 10% REPLACE (a new quantity), 5% STATUS of one
/// of the broker's own earlier cids. Each line is `<broker> <protocol line>`, as `cuohe replay` reads it.
func lines(_ count: Int, seed: UInt64) -> [[UInt8]] {
    var rng = SplitMix64(state: seed)
    var issued = [[Int]](repeating: [], count: brokerCount)
    var out: [[UInt8]] = []
    out.reserveCapacity(count)
    for n in 0..<count {
        let account = rng.below(accountCount)
        let broker = account % brokerCount
        let roll = rng.below(100)
        let mine = issued[broker]
        var line: String
        if roll < 60 || mine.isEmpty {
            // Nine in ten rest (buys below the middle, sells above); one in ten crosses it.
            let buy = rng.below(2) == 0
            let away = rng.below(10) == 0 ? -Int64(rng.below(50)) : 1 + Int64(rng.below(200))
            let px = mid + (buy ? -away : away) * 100
            let side = buy ? "BUY" : "SELL"
            line = "B\(broker) NEW cid=c\(n) acct=A\(account) sym=\(symbol) side=\(side) qty=\((1 + rng.below(10)) * 100)"
                + " px=\(Decimal4.format(px))"
            issued[broker].append(n)
        } else {
            // The broker's cids not yet canceled or replaced (some have filled meanwhile).
            let k = rng.below(mine.count)
            let cid = mine[k]
            switch roll {
            case 60..<85:
                line = "B\(broker) CANCEL cid=c\(cid)"
                issued[broker].swapAt(k, mine.count - 1)
                issued[broker].removeLast()
            case 85..<95:
                line = "B\(broker) REPLACE cid=c\(cid) newcid=c\(n) qty=\((1 + rng.below(10)) * 100)"
                issued[broker][k] = n
            default: line = "B\(broker) STATUS cid=c\(cid)"
            }
        }
        out.append(Array(line.utf8))
    }
    return out
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func fail(_ message: String) -> Never {
    print("CHECK FAILED: \(message)")
    exit(1)
}

/// Parses every line's protocol part (after `<broker> `) as the gateway does; returns the
/// commands. Not inlined, so callgrind can count it alone.
@inline(never)
func parseAll(_ lines: [[UInt8]], _ parser: LineParser, _ brokers: [Int32], _ offsets: [Int]) -> [Command] {
    var commands: [Command] = []
    commands.reserveCapacity(lines.count)
    for i in 0..<lines.count {
        if case .command(let c) = parser.parse(lines[i][offsets[i]...], broker: brokers[i]) { commands.append(c) }
    }
    return commands
}

/// Formats every event as replay prints it, into a buffer emptied every 64 events (as the
/// pipeline hands batches to the writer); returns the bytes written.
@inline(never)
func formatAll(_ events: [Event], _ text: ReplayText) -> Int {
    var out: [UInt8] = []
    out.reserveCapacity(64 * 256)
    var bytes = 0
    for (i, e) in events.enumerated() {
        text.append(e, to: &out)
        if i & 63 == 63 {
            bytes += out.count
            out.removeAll(keepingCapacity: true)
        }
    }
    return bytes + out.count
}

/// `cuohe replay` in memory: every line through `Replay.feed`, output emptied every 64 lines.
@inline(never)
func replayAll(_ lines: [[UInt8]], _ replay: inout Replay) -> Int {
    var out: [UInt8] = []
    out.reserveCapacity(64 * 1024)
    var bytes = 0
    for i in 0..<lines.count {
        replay.feed(lines[i][...], into: &out)
        if i & 63 == 63 {
            bytes += out.count
            out.removeAll(keepingCapacity: true)
        }
    }
    return bytes + out.count
}

func limits(_ lines: Int) -> EngineLimits {
    var l = EngineLimits(ordersLiveMax: lines + 16, cidsPerDayMax: lines + 16)
    l.prefaultsMemory = true
    return l
}

/// The market as configuration JSON and the lines as a replay file, for timing `cuohe replay`
/// itself on them (`--write DIR`).
func write(_ lines: [[UInt8]], to dir: String) {
    var json = "{ \"tradingDate\": \"2026-12-01\", \"fees\": { \"feeBps\": 3, \"stampDutyBps\": 10 },\n"
    json += "  \"instruments\": [ { \"symbol\": \"\(symbol)\", \"name\": \"Bench\", \"tick\": \"0.01\", \"lot\": 100, "
        + "\"referencePrice\": \"100.00\", \"bandPercent\": 10 } ],\n  \"brokers\": [\n"
    json += (0..<brokerCount).map { "    { \"id\": \"B\($0)\", \"token\": \"t\($0)\" }," }.joined(separator: "\n")
    json += "\n    { \"id\": \"OP\", \"token\": \"op\", \"operator\": true } ],\n  \"accounts\": [\n"
    json += (0..<accountCount).map {
        "    { \"id\": \"A\($0)\", \"broker\": \"B\($0 % brokerCount)\", \"qualifiedUntil\": \"2027-12-31\", "
            + "\"cash\": \"10000000000.00\", \"holdings\": { \"\(symbol)\": 1000000000 } }"
    }.joined(separator: ",\n")
    json += " ]\n}\n"
    var text: [UInt8] = []
    for line in lines { text += line + [UInt8(ascii: "\n")] }
    for (name, bytes) in [("market.json", Array(json.utf8)), ("lines.txt", text)] {
        guard let f = fopen(dir + "/" + name, "w"), fwrite(bytes, 1, bytes.count, f) == bytes.count, fclose(f) == 0 else {
            fail("cannot write \(dir)/\(name)")
        }
    }
    print("wrote \(dir)/market.json and \(dir)/lines.txt (\(lines.count) lines)")
}

var lineCount = 1_000_000
var runs = 5
var writeDir: String? = nil
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--lines": lineCount = Int(args.popFirst() ?? "") ?? lineCount
    case "--runs": runs = Int(args.popFirst() ?? "") ?? runs
    case "--write": writeDir = args.popFirst()
    default:
        print("usage: cuohe-text-bench [--lines N] [--runs R] [--write DIR]")
        exit(2)
    }
}

let config = market()
let directory = Directory(config: config)
let parser = LineParser(directory: directory)
let text = ReplayText(directory: directory)
let input = lines(lineCount, seed: 0x7E47)
let offsets = input.map { line in (line.firstIndex(of: UInt8(ascii: " ")) ?? 0) + 1 }
let brokers = input.map { line in directory.broker(line.prefix { $0 != UInt8(ascii: " ") }) ?? -1 }
let inputBytes = input.reduce(0) { $0 + $1.count + 1 }
if let writeDir {
    write(input, to: writeDir)
    exit(0)
}

// The events the commands make, once, for the formatting runs.
let commands = parseAll(input, parser, brokers, offsets)
if commands.count != lineCount { fail("\(lineCount - commands.count) lines did not parse to commands") }
var events: [Event] = []
do {
    var m = Matcher(config: config, limits: limits(lineCount))
    var buffer = EventBuffer()
    for (i, c) in commands.enumerated() {
        var stamped = c
        stamped.ts = 1_796_054_400_000_000_000 + Int64(i)
        buffer.removeAll()
        m.process(stamped, into: &buffer)
        events += buffer.array
    }
    if let problem = m.verify() { fail(problem) }
}
let rejects = events.filter { $0.kind == .reject }.count
// Cancels and replaces of orders that filled meanwhile are refused (ORDER_DONE), as in a real day.
if rejects * 4 > lineCount { fail("\(rejects) rejects: the mix should be mostly accepted") }

var parseNs: [Double] = [], formatNs: [Double] = [], replayRate: [Double] = []
var outputBytes = 0
for _ in 0..<runs {
    var t = nowNanos()
    let parsed = parseAll(input, parser, brokers, offsets)
    parseNs.append(Double(nowNanos() - t) / Double(lineCount))
    if parsed.count != lineCount { fail("parse") }
    t = nowNanos()
    outputBytes = formatAll(events, text)
    formatNs.append(Double(nowNanos() - t) / Double(events.count))
    var replay = Replay(config: config, limits: limits(lineCount), recordsTrades: false)
    t = nowNanos()
    let written = replayAll(input, &replay)
    replayRate.append(Double(lineCount) / (Double(nowNanos() - t) / 1e9))
    if written != outputBytes { fail("replay wrote \(written) bytes, formatting the events \(outputBytes)") }
    if replay.matcher.stateDigest() == 0 { fail("digest") }
}
let eventsPerLine = Double(events.count) / Double(lineCount)
print("text edge, \(lineCount) lines (\(inputBytes) bytes in, \(outputBytes) bytes out), \(events.count) events "
      + "(\(String(format: "%.2f", eventsPerLine)) a line), medians of \(runs) runs:")
print("  parse                \(String(format: "%7.1f", median(parseNs))) ns a line")
print("  format               \(String(format: "%7.1f", median(formatNs))) ns an event, "
      + "\(String(format: "%.1f", median(formatNs) * eventsPerLine)) a line")
print("  replay in memory     \(String(format: "%7.0f", median(replayRate) / 1000)) k lines/s")
print("text lines=\(lineCount) events_per_line=\(String(format: "%.2f", eventsPerLine)) "
      + "parse_ns=\(String(format: "%.1f", median(parseNs))) format_ns_per_event=\(String(format: "%.1f", median(formatNs))) "
      + "replay_lines_per_sec=\(Int(median(replayRate)))")
