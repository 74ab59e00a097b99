#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CuoheCore
import CuoheProtocol
import CuoheRuntime
import CuoheGateway

/// `cuohe`: the operator's command.
let usage = """
    usage: cuohe serve [--config FILE] [--data DIR] [--listen HOST:PORT] [--metrics HOST:PORT]
                       [--durability sync|none] [--snapshot-every N] [--no-prefault]
                       [--max-connections N] [--max-pending-logins N] [--session-output-bytes N]
                       [--history-messages N] [--login-timeout SECONDS]
             The exchange: brokers connect over TCP with the line protocol (default 127.0.0.1:7700).
             Without --config, the built-in demo market; without --data, ./cuohe-data (created, or
             recovered if it exists). --metrics serves GET /metrics (Prometheus text format).
             Bounds (defaults in docs/GATEWAY.md): open connections (4096), connections not yet
             logged in (1024), a session's unsent output before BYE reason=SLOW_CONSUMER
             (4194304 bytes), order messages kept in memory per broker for resume (1048576;
             older ones are told again from the journal; 1 GiB of them in all), time to log
             in (10 s).
             SIGTERM or SIGINT: stop accepting, answer what is in flight, snapshot, BYE
             reason=SHUTDOWN to every session, exit 0.
           cuohe replay [--config FILE] [--export DIR] [--data DIR [--durability sync|none] [--snapshot-every N]
                        [--segment-bytes N] [--no-prefault]] [FILE]
             Re-run lines `[@<ns>] <broker> <protocol line>` from FILE (or standard input) through
             the matching engine and print every outbound message as `<broker> <line>`; market
             data on lines starting with `*`. Without --config, the built-in demo market.
             --export DIR writes trades.csv, register.csv, accounts.csv and instruments.csv
             there at the end.
             --data DIR journals every command there and prints each output line only once its
             command is durable; started on an existing DIR it first recovers (newest valid
             snapshot, then the journal after it), then continues. A snapshot is written every N
             commands (default 1000000) and at the end; a journal segment file is closed and the
             next begun once it passes N bytes (--segment-bytes, default 67108864, at least 4096).
             Every ROLL writes the day's trades.csv, register.csv, accounts.csv and
             instruments.csv into DIR/eod/<date>/. SIGTERM or SIGINT stops it cleanly (input ends at a line boundary,
             the last snapshot is written, exit 0). The engine's storage is touched at start
             (steady latency later); --no-prefault skips that for a quick start.
           cuohe journal verify DIR
             Check the journal's checksums and sequence, replay it, check every snapshot and every
             end-of-day file against it, print the state hash.
           cuohe journal rebuild-eod DIR
             Rewrite every end-of-day file under DIR/eod from the journal (DIR must not be in use).
           cuohe journal dump DIR
             Print the journal's records as `seq=N ts=T <broker> <protocol line>`.
           cuohe demo
             Print the built-in demo market (instruments, brokers and tokens, accounts).
           cuohe help

    """

/// Writes `text` to standard output at once; a failed write (a full disk, a closed pipe) ends the
/// command with exit 1, so no command ever reports success with its output lost.
func say(_ text: String, terminator: String = "\n") {
    let bytes = Array((text + terminator).utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, bytes.count - offset) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { fail("writing output: \(String(cString: strerror(n < 0 ? errno : EIO)))", code: ExitCode.failure) }
        offset += n
    }
}

func fail(_ message: String, code: Int32) -> Never {
    var text = Array(("cuohe: " + message + "\n").utf8)
    _ = text.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    exit(code)
}

/// Exit codes: 0 success, 1 a runtime failure (unreadable input, output error), 2 a usage error,
/// 3 a configuration error.
enum ExitCode {
    static let failure: Int32 = 1
    static let usage: Int32 = 2
    static let config: Int32 = 3
}

func loadConfig(_ path: String?) -> MarketConfig {
    guard let path else { return DemoMarket.config }
    do {
        return try ConfigLoader.load(path: path)
    } catch {
        fail("\(error)", code: ExitCode.config)
    }
}

/// `cuohe replay`'s options, as given.
struct ReplayOptions {
    var configPath: String?
    var inputPath: String?
    var exportPath: String?
    var dataPath: String?
    var durability = Durability.sync
    var snapshotEvery = 1_000_000
    var segmentBytes = Journal.segmentBytesDefault
    var prefault = true
    /// Options that only mean something with a data directory, as given (refused without one).
    var dataOnly: [String] = []

    /// Parses the arguments; a usage error ends the command (exit 2).
    init(_ arguments: ArraySlice<String>) {
        var args = arguments
        func value(_ what: String) -> String {
            guard let v = args.popFirst() else { fail(what, code: ExitCode.usage) }
            return v
        }
        while let arg = args.popFirst() {
            switch arg {
            case "--config": configPath = value("--config needs a FILE")
            case "--data": dataPath = value("--data needs a DIR")
            case "--export": exportPath = value("--export needs a DIR")
            case "--no-prefault":
                dataOnly.append(arg)
                prefault = false
            case "--snapshot-every":
                dataOnly.append(arg)
                guard let n = Int(value("--snapshot-every takes a positive number of commands")), n > 0 else {
                    fail("--snapshot-every takes a positive number of commands", code: ExitCode.usage)
                }
                snapshotEvery = n
            case "--segment-bytes":
                dataOnly.append(arg)
                guard let n = Int(value("--segment-bytes takes a number of bytes from 4096 to 4294967296")), n >= 4096, n <= Journal.segmentBytesLimit else {
                    fail("--segment-bytes takes a number of bytes from 4096 to 4294967296", code: ExitCode.usage)
                }
                segmentBytes = n
            case "--durability":
                dataOnly.append(arg)
                guard let d = Durability(rawValue: value("--durability takes sync or none")) else {
                    fail("--durability takes sync or none", code: ExitCode.usage)
                }
                durability = d
            case "-h", "--help":
                say(usage, terminator: "")
                exit(0)
            default:
                if arg.hasPrefix("-") && arg != "-" { fail("unknown option \(arg)\n\(usage)", code: ExitCode.usage) }
                guard inputPath == nil else { fail("more than one input FILE given", code: ExitCode.usage) }
                inputPath = arg
            }
        }
        if dataPath == nil, let option = dataOnly.first {
            fail("\(option) only means something with --data DIR\n\(usage)", code: ExitCode.usage)
        }
    }
}

func replay(_ arguments: ArraySlice<String>) -> Never {
    let o = ReplayOptions(arguments)
    if let dataPath = o.dataPath {
        var limits = EngineLimits()
        // Page faults at start rather than mid-session: the durable-ack tail depends on it.
        limits.prefaultsMemory = o.prefault
        durableReplay(data: dataPath, configPath: o.configPath, exportPath: o.exportPath, inputPath: o.inputPath,
                      options: RecoveryOptions(limits: limits, durability: o.durability, segmentBytes: o.segmentBytes,
                                               wholeJournal: o.exportPath != nil),
                      snapshotEvery: o.snapshotEvery)
    }
    let config = loadConfig(o.configPath)
    let input = openInput(o.inputPath)
    var engine = Replay(config: config, recordsTrades: o.exportPath != nil)
    StopSignal.install()
    var reader = LineReader(input: input, lineBytesMax: Replay.inputLineBytesMax, stopRequested: StopSignal.requested)
    var writer = OutputWriter(output: standardOutput())
    while let line = reader.next() {
        engine.feed(line[...], into: &writer.buffer)
        writer.flushIfFull()
    }
    writer.flush()
    if let error = reader.readError { fail("reading input: \(error.reason)", code: ExitCode.failure) }
    if let error = writer.writeError { fail("writing output: \(error.reason)", code: ExitCode.failure) }
    if let exportPath = o.exportPath {
        do {
            try engine.export(to: exportPath)
        } catch {
            fail("\(error)", code: ExitCode.failure)
        }
    }
    exit(0)
}

func readWholeFile(_ path: String) -> [UInt8] {
    do {
        return try FileSystem.readFile(path, bytesMax: JSONParser.inputBytesMax)
    } catch {
        fail("\(error)", code: ExitCode.config)
    }
}

/// FILE, or standard input for none or `-`.
func openInput(_ inputPath: String?) -> FileDescriptor {
    guard let inputPath, inputPath != "-" else { return FileDescriptor(borrowing: 0, path: "standard input") }
    do {
        return try FileDescriptor(path: inputPath, flags: O_RDONLY)
    } catch {
        fail("\(error)", code: ExitCode.failure)
    }
}

func standardOutput() -> FileDescriptor { FileDescriptor(borrowing: 1, path: "standard output") }

@Sendable func logLine(_ message: String) {
    let text = Array(("cuohe: " + message + "\n").utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Fails with the exit code a recovery error calls for: 3 for the market's configuration.
func fail(_ error: RecoveryError) -> Never {
    fail("\(error)", code: error.isConfiguration ? ExitCode.config : ExitCode.failure)
}

/// Replay through the journal: recover what DIR holds, then run the input in group-committed
/// batches, releasing each batch's output lines only after its commands are durable.
func durableReplay(data: String, configPath: String?, exportPath: String?, inputPath: String?,
                   options: RecoveryOptions, snapshotEvery: Int) -> Never {
    let configText = configPath.map { readWholeFile($0) }
    let engine: RecoveredEngine
    do {
        engine = try Recovery.open(data: data, configText: configText, configName: configPath, options: options,
                                   log: logLine)
    } catch {
        fail(error)
    }
    let directory = engine.directory
    let recoveredTrades = engine.replayer.trades ?? []
    StopSignal.install()
    var reader = LineReader(input: openInput(inputPath), lineBytesMax: Replay.inputLineBytesMax,
                            stopRequested: StopSignal.requested)
    let outcome = Pipeline.replay(engine: engine, snapshotEvery: snapshotEvery, reader: &reader, outputFD: 1,
                                  recordsTrades: exportPath != nil, log: logLine,
                                  fail: { fail($0, code: ExitCode.failure) })
    if outcome.settlement.breaks > 0 {
        fail("\(outcome.settlement.breaks) reconciliation break(s) between the books of record and the matcher",
             code: ExitCode.failure)
    }
    if let exportPath {
        do {
            try outcome.export(to: exportPath, earlierTrades: recoveredTrades, directory: directory)
        } catch {
            fail("\(error)", code: ExitCode.failure)
        }
    }
    if reader.stopped {
        logLine("stopped by signal \(StopSignal.received.load(ordering: .relaxed)) after journal record "
                + "\(outcome.matcher.counters.commands); every output written, snapshot taken")
    }
    exit(0)
}

func journalCommand(_ arguments: ArraySlice<String>) -> Never {
    guard arguments.count == 2, let verb = arguments.first, let dir = arguments.last,
          ["verify", "dump", "rebuild-eod"].contains(verb) else {
        fail("usage: cuohe journal verify|dump|rebuild-eod DIR", code: ExitCode.usage)
    }
    do {
        switch verb {
        case "dump":
            var writer = OutputWriter(output: standardOutput())
            try Recovery.dump(data: dir) { line in
                writer.buffer.append(contentsOf: line.utf8)
                writer.buffer.append(UInt8(ascii: "\n"))
                writer.flushIfFull()
            }
            writer.flush()
            if let error = writer.writeError { fail("writing output: \(error.reason)", code: ExitCode.failure) }
        case "rebuild-eod":
            let days = try Recovery.rebuildEndOfDay(data: dir)
            say("end-of-day files rebuilt from the journal: \(days) day(s) in \(dir)/eod")
        default:
            let report = try Recovery.verify(data: dir)
            for note in report.notes { say(note) }
            if let problem = report.endOfDayProblem { fail(problem, code: ExitCode.failure) }
            if report.damagedSnapshots > 0 {
                fail("\(dir): \(report.damagedSnapshots) damaged snapshot(s); the journal checks out", code: ExitCode.failure)
            }
            say(report.summary)
        }
    } catch {
        fail("\(error)", code: ExitCode.failure)
    }
    exit(0)
}

/// `cuohe serve`'s options; a usage error ends the command (exit 2).
func serveOptions(_ arguments: ArraySlice<String>) -> ServeOptions {
    var o = ServeOptions()
    var args = arguments
    var configPath: String?
    func value(_ what: String) -> String {
        guard let v = args.popFirst() else { fail(what, code: ExitCode.usage) }
        return v
    }
    func count(_ option: String, _ unit: String) -> Int {
        guard let n = Int(value("\(option) takes a positive number of \(unit)")), n > 0, n <= 1 << 40 else {
            fail("\(option) takes a positive number of \(unit)", code: ExitCode.usage)
        }
        return n
    }
    func address(_ option: String) -> SocketAddress {
        guard let a = SocketAddress(value("\(option) needs HOST:PORT")) else {
            fail("\(option) takes an IPv4 HOST:PORT such as 127.0.0.1:7700", code: ExitCode.usage)
        }
        return a
    }
    while let arg = args.popFirst() {
        switch arg {
        case "--config": configPath = value("--config needs a FILE")
        case "--data": o.data = value("--data needs a DIR")
        case "--listen": o.listen = address("--listen")
        case "--metrics": o.metrics = address("--metrics")
        case "--no-prefault": o.limits.prefaultsMemory = false
        case "--snapshot-every": o.snapshotEvery = count(arg, "commands")
        case "--max-connections": o.settings.connectionsMax = count(arg, "connections")
        case "--max-pending-logins": o.settings.pendingLoginsMax = count(arg, "connections")
        case "--session-output-bytes": o.settings.outputBytesMax = count(arg, "bytes")
        case "--history-messages": o.settings.historyMessagesMax = count(arg, "messages per broker")
        case "--login-timeout": o.settings.loginTimeoutNanos = Int64(count(arg, "seconds")) * 1_000_000_000
        case "--durability":
            guard let d = Durability(rawValue: value("--durability takes sync or none")) else {
                fail("--durability takes sync or none", code: ExitCode.usage)
            }
            o.durability = d
        case "-h", "--help":
            say(usage, terminator: "")
            exit(0)
        default:
            fail("unknown option \(arg)\n\(usage)", code: ExitCode.usage)
        }
    }
    if let configPath {
        _ = loadConfig(configPath)  // a bad file is named with its JSON path before anything starts
        o.configText = readWholeFile(configPath)
        o.configName = configPath
    }
    return o
}

func serve(_ arguments: ArraySlice<String>) -> Never {
    var o = serveOptions(arguments)
    // Page faults at start rather than mid-session: the latency tail depends on it.
    o.limits.prefaultsMemory = !arguments.contains("--no-prefault")
    do {
        try Server.run(o, log: logLine, fail: { fail($0, code: ExitCode.failure) }) { config, address, metrics in
            say(DemoMarket.banner(of: config, address: "\(address)", metrics: metrics.map { "\($0)" }))
        }
    } catch {
        fail("\(error)", code: error.isConfiguration ? ExitCode.config : ExitCode.failure)
    }
    exit(0)
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "serve":
    serve(arguments.dropFirst())
case "replay":
    replay(arguments.dropFirst())
case "journal":
    journalCommand(arguments.dropFirst())
case "demo":
    say(DemoMarket.summary)
case "help", "-h", "--help":
    say(usage, terminator: "")
case nil:
    say(usage, terminator: "")
    exit(ExitCode.usage)
case let other?:
    fail("unknown command \(other)\n\(usage)", code: ExitCode.usage)
}
