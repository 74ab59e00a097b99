#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CuoheCore
import CuoheProtocol
import CuoheRuntime

/// `cuohe`: the operator's command.
let usage = """
    usage: cuohe replay [--config FILE] [--export DIR] [--data DIR [--durability sync|none] [--snapshot-every N]
                        [--segment-bytes N] [--no-prefault]] [FILE]
             Re-run lines `[@<ns>] <broker> <protocol line>` from FILE (or standard input) through
             the matching engine and print every outbound message as `<broker> <line>`; market
             data on lines starting with `*`. Without --config, the built-in demo market.
             --export DIR writes trades.csv, register.csv and accounts.csv there at the end.
             --data DIR journals every command there and prints each output line only once its
             command is durable; started on an existing DIR it first recovers (newest valid
             snapshot, then the journal after it), then continues. A snapshot is written every N
             commands (default 1000000) and at the end; a journal segment file is closed and the
             next begun once it passes N bytes (--segment-bytes, default 67108864, at least 4096).
             Every ROLL writes the day's trades.csv, register.csv and accounts.csv into
             DIR/eod/<date>/. SIGTERM or SIGINT stops it cleanly (input ends at a line boundary,
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

func replay(_ arguments: ArraySlice<String>) -> Never {
    var configPath: String? = nil
    var inputPath: String? = nil
    var exportPath: String? = nil
    var dataPath: String? = nil
    var durability = Durability.sync
    var snapshotEvery = 1_000_000
    var segmentBytes = Journal.segmentBytesDefault
    var prefault = true
    // Options that only mean something with a data directory, as given (refused without one).
    var dataOnly: [String] = []
    var args = arguments
    while let arg = args.popFirst() {
        switch arg {
        case "--config":
            guard let value = args.popFirst() else { fail("--config needs a FILE", code: ExitCode.usage) }
            configPath = value
        case "--data":
            guard let value = args.popFirst() else { fail("--data needs a DIR", code: ExitCode.usage) }
            dataPath = value
        case "--no-prefault":
            dataOnly.append(arg)
            prefault = false
        case "--snapshot-every":
            dataOnly.append(arg)
            guard let value = args.popFirst(), let n = Int(value), n > 0 else {
                fail("--snapshot-every takes a positive number of commands", code: ExitCode.usage)
            }
            snapshotEvery = n
        case "--segment-bytes":
            dataOnly.append(arg)
            guard let value = args.popFirst(), let n = Int(value), n >= 4096, n <= Journal.segmentBytesLimit else {
                fail("--segment-bytes takes a number of bytes from 4096 to 4294967296", code: ExitCode.usage)
            }
            segmentBytes = n
        case "--durability":
            dataOnly.append(arg)
            guard let value = args.popFirst(), let d = Durability(rawValue: value) else {
                fail("--durability takes sync or none", code: ExitCode.usage)
            }
            durability = d
        case "--export":
            guard let value = args.popFirst() else { fail("--export needs a DIR", code: ExitCode.usage) }
            exportPath = value
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
    if let dataPath { durableReplay(data: dataPath, configPath: configPath, exportPath: exportPath,
                                    inputPath: inputPath, durability: durability, snapshotEvery: snapshotEvery,
                                    segmentBytes: segmentBytes, prefault: prefault) }
    let config = loadConfig(configPath)
    var fd: Int32 = 0
    if let inputPath, inputPath != "-" {
        fd = open(inputPath, O_RDONLY)
        if fd < 0 { fail("\(inputPath): cannot open: \(String(cString: strerror(errno)))", code: ExitCode.failure) }
    }
    var engine = Replay(config: config, recordsTrades: exportPath != nil)
    StopSignal.install()
    var reader = LineReader(fd: fd, lineBytesMax: Replay.inputLineBytesMax, stopRequested: StopSignal.requested)
    var writer = OutputWriter(fd: 1)
    while let line = reader.next() {
        engine.feed(line[...], into: &writer.buffer)
        writer.flushIfFull()
    }
    writer.flush()
    if reader.readError != 0 {
        fail("reading input: \(String(cString: strerror(reader.readError)))", code: ExitCode.failure)
    }
    if writer.writeError != 0 {
        fail("writing output: \(String(cString: strerror(writer.writeError)))", code: ExitCode.failure)
    }
    if let exportPath, let problem = engine.export(to: exportPath) {
        fail(problem, code: ExitCode.failure)
    }
    exit(0)
}

func readWholeFile(_ path: String) -> [UInt8] {
    do {
        return try Journal.readFile(path, bytesMax: JSONParser.inputBytesMax)
    } catch {
        fail("\(error)", code: ExitCode.config)
    }
}

func openInput(_ inputPath: String?) -> Int32 {
    guard let inputPath, inputPath != "-" else { return 0 }
    let fd = open(inputPath, O_RDONLY)
    if fd < 0 { fail("\(inputPath): cannot open: \(String(cString: strerror(errno)))", code: ExitCode.failure) }
    return fd
}

func logLine(_ message: String) {
    let text = Array(("cuohe: " + message + "\n").utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}


/// Replay through the journal: recover what DIR holds, then run the input in group-committed
/// batches, releasing each batch's output lines only after its commands are durable.
func durableReplay(data: String, configPath: String?, exportPath: String?, inputPath: String?,
                   durability: Durability, snapshotEvery: Int, segmentBytes: Int, prefault: Bool) -> Never {
    var limits = EngineLimits()
    // Page faults at start rather than mid-session: the durable-ack tail depends on it.
    limits.prefaultsMemory = prefault
    let configText = configPath.map { readWholeFile($0) }
    let market: DataDirectory.Market
    let journal: Journal
    let recovered: [Command]
    let snapshots: [UInt64]
    do throws(JournalError) {
        if mkdir(data, 0o755) != 0 && errno != EEXIST {
            fail("\(data): cannot create: \(String(cString: strerror(errno)))", code: ExitCode.failure)
        }
        _ = try DataDirectory.lock(data)  // held until the process ends
        market = try DataDirectory.open(data, configText: configText, configName: configPath, log: logLine)
        DataDirectory.removeStaleTemporaries(data, log: logLine)
        // Damaged snapshots are set aside before the journal is opened: only one that checks out
        // may say records are missing.
        snapshots = DataDirectory.setAsideDamagedSnapshots(data, configDigest: market.digest, log: logLine)
        (journal, recovered) = try Journal.open(directory: DataDirectory.journalPath(data), segmentBytesMax: segmentBytes,
                                                durability: durability, requiredRecords: snapshots.first ?? 0,
                                                configDigest: market.digest, log: logLine)
    } catch {
        fail("\(error)", code: error.isConfiguration ? ExitCode.config : ExitCode.failure)
    }
    let config = market.config
    // Recovery: the newest snapshot that loads, then the journal after it. With --export the whole
    // journal is replayed instead, so trades.csv holds every trade, not only those since a snapshot.
    // A snapshot is usable if it loads and the day's trade log holds the trades it counts on (the
    // log is derived data: if it does not, an older snapshot or the whole journal rebuilds it).
    let directory = Directory(config: config)
    var engine: Replay? = nil
    var first = 0
    var stage: SettlementStage? = nil
    for seq in snapshots where exportPath == nil && stage == nil {
        switch SnapshotFile.load(data: data, seq: seq, config: config, configDigest: market.digest, limits: limits) {
        case .success(let loaded):
            do {
                stage = try SettlementStage(books: Settlement(config: config, limits: limits,
                                                              restoringFrom: loaded.matcher.ledger,
                                                              date: loaded.matcher.tradingDate),
                                            data: data, directory: directory, dayFirstTid: loaded.dayFirstTid,
                                            nextTid: loaded.matcher.nextTid, report: { logLine($0) })
                engine = Replay(config: config, matcher: loaded.matcher, clock: loaded.clock, recordsTrades: false)
                first = Int(seq)
            } catch {
                logLine("\(error); the trade log is rebuilt from the journal: trying an older snapshot")
            }
        case .failure(let error):
            // Derived data, set aside (not deleted) so it is neither tried nor checked again.
            DataDirectory.setAside(SnapshotFile.path(data, seq), because: "\(error)", log: logLine)
            logLine("trying an older snapshot")
        }
    }
    if stage == nil && exportPath == nil && !snapshots.isEmpty { logLine("no usable snapshot: replaying the whole journal") }
    do {
        if stage == nil {
            engine = Replay(config: config, limits: limits, recordsTrades: exportPath != nil)
            stage = try SettlementStage(books: Settlement(config: config, limits: limits), data: data, directory: directory,
                                        dayFirstTid: 1, nextTid: 1, report: { logLine($0) })
        }
    } catch {
        fail("\(error)", code: ExitCode.failure)
    }
    var settlement = stage.take()!
    var replay = engine.take()!
    do {
        for command in recovered[first...] { try replay.recover(command, settling: &settlement) }
    } catch {
        fail("\(error)", code: ExitCode.failure)
    }
    if !recovered.isEmpty {
        logLine("recovered \(recovered.count) commands from \(data)"
                + (first > 0 ? " (snapshot at \(first), then \(recovered.count - first) from the journal)" : ""))
    }
    StopSignal.install()
    var reader = LineReader(fd: openInput(inputPath), lineBytesMax: Replay.inputLineBytesMax,
                            stopRequested: StopSignal.requested)
    let recoveredTrades = replay.trades
    let outcome = DurablePipeline.run(matcher: replay.matcher, settlement: settlement, edge: replay.edge, journal: journal,
                                      snapshotSeq: UInt64(first), snapshotEvery: snapshotEvery, reader: &reader,
                                      outputFD: 1, recordsTrades: exportPath != nil,
                                      fail: { fail($0, code: ExitCode.failure) })
    if outcome.settlement.breaks > 0 {
        fail("\(outcome.settlement.breaks) reconciliation break(s) between the books of record and the matcher",
             code: ExitCode.failure)
    }
    if let exportPath {
        // The ledger is a view into the matcher's storage: keep the matcher alive while it is read.
        let matcher = outcome.matcher
        let problem = withExtendedLifetime(matcher) {
            EndOfDay.write(to: exportPath, trades: recoveredTrades + outcome.trades, ledger: matcher.ledger,
                           directory: directory)
        }
        if let problem { fail(problem, code: ExitCode.failure) }
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
    let market: DataDirectory.Market
    let contents: Journal.Contents
    do throws(JournalError) {
        // Checking or rewriting a directory a running engine is changing would report damage
        // that is not there (a snapshot pruned mid-read) or race its writes: refused. A dump
        // only reads whole records, so it may look at a live journal.
        if verb != "dump" { _ = try DataDirectory.lock(dir, purpose: verb == "verify" ? "verify it" : "rebuild it") }
        market = try DataDirectory.open(dir, configText: nil, configName: nil, create: false)
        contents = try Journal.read(directory: DataDirectory.journalPath(dir))
        if let stored = contents.configDigest, stored != market.digest {
            throw JournalError(message: "\(DataDirectory.marketPath(dir)): not the market the journal was written for")
        }
    } catch {
        fail("\(error)", code: ExitCode.failure)
    }
    let config = market.config
    if verb == "dump" {
        let directory = Directory(config: config)
        let formatter = CommandFormatter(directory: directory)
        var writer = OutputWriter(fd: 1)
        for (i, c) in contents.commands.enumerated() {
            let broker = c.broker >= 0 && Int(c.broker) < directory.brokers.count ? directory.brokers[Int(c.broker)] : "?"
            writer.buffer.append(contentsOf: "seq=\(i + 1) ts=\(c.ts) \(broker) \(formatter.line(c))\n".utf8)
            writer.flushIfFull()
        }
        writer.flush()
        if writer.writeError != 0 {
            fail("writing output: \(String(cString: strerror(writer.writeError)))", code: ExitCode.failure)
        }
        exit(0)
    }
    // Snapshots that do not check out are listed (the next start sets them aside); one that does
    // and lies beyond the journal means journal records were lost.
    var damagedSnapshots: [String] = []
    let goodSnapshots = SnapshotFile.list(dir).filter { seq in
        switch SnapshotFile.read(data: dir, seq: seq) {
        case .success(let (header, _)) where header.configDigest == market.digest: return true
        case .success: damagedSnapshots.append("\(SnapshotFile.path(dir, seq)): taken on another market")
        case .failure(let error): damagedSnapshots.append(error.message)
        }
        return false
    }
    if let newest = goodSnapshots.first, newest > UInt64(contents.commands.count) {
        fail("\(dir): snapshot \(newest) is ahead of the journal (\(contents.commands.count) records): journal records are "
             + "missing", code: ExitCode.failure)
    }
    var engine = Replay(config: config, recordsTrades: false)
    // The end-of-day files are rebuilt from the journal in a scratch directory and compared.
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cuohe-verify-\(getpid())").path
    func failVerify(_ message: String) -> Never {
        try? FileManager.default.removeItem(atPath: scratch)
        fail(message, code: ExitCode.failure)
    }
    var stage: SettlementStage
    do {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        stage = try SettlementStage(books: Settlement(config: config, limits: EngineLimits()), data: scratch,
                                    directory: Directory(config: config), dayFirstTid: 1, nextTid: 1, report: { _ in })
    } catch {
        failVerify("\(scratch): \(error)")
    }
    // Every snapshot must hold exactly the state the journal gives at its record.
    let snapshots = Set(goodSnapshots)
    var snapshotsChecked = 0
    var newestSnapshotDate: CivilDate? = nil
    for (i, command) in contents.commands.enumerated() {
        do {
            try engine.recover(command, settling: &stage)
        } catch {
            failVerify("\(scratch): \(error)")
        }
        let seq = UInt64(i + 1)
        guard snapshots.contains(seq) else { continue }
        switch SnapshotFile.load(data: dir, seq: seq, config: config, configDigest: market.digest, limits: EngineLimits()) {
        case .success(let loaded):
            if loaded.matcher.stateDigest() != engine.matcher.stateDigest() {
                failVerify("\(SnapshotFile.directory(dir)): snapshot \(seq) differs from the journal's state at that record")
            }
            snapshotsChecked += 1
            newestSnapshotDate = loaded.matcher.tradingDate
        case .failure(let error):
            failVerify("\(error)")
        }
    }
    if let problem = engine.matcher.verify() { failVerify("state after replay is inconsistent: \(problem)") }
    do {
        try stage.sync()
    } catch {
        failVerify("\(scratch): \(error)")
    }
    if stage.breaks > 0 { failVerify("the books of record and the matcher's ledger differ at \(stage.breaks) close(s)") }
    if verb == "rebuild-eod" {
        do {
            let days = try EndOfDay.install(rebuilt: scratch, into: dir)
            try? FileManager.default.removeItem(atPath: scratch)
            say("end-of-day files rebuilt from the journal: \(days) day(s) in \(dir)/eod")
            exit(0)
        } catch {
            failVerify("\(error)")
        }
    }
    let eod = EndOfDay.compare(data: dir, rebuilt: scratch, replayedFrom: newestSnapshotDate)
    try? FileManager.default.removeItem(atPath: scratch)
    for missing in eod.pending { say("not yet written: \(dir)/\(missing) (the next start writes it)") }
    let setAside = ((try? FileManager.default.contentsOfDirectory(atPath: SnapshotFile.directory(dir))) ?? [])
        .filter { $0.hasSuffix(".damaged") }.sorted()
    for name in setAside { say("damaged snapshot set aside: \(SnapshotFile.directory(dir))/\(name)") }
    for path in DataDirectory.staleTemporaries(dir) {
        say("left half-written by an earlier run: \(path) (the next start removes it)")
    }
    for problem in damagedSnapshots { say("damaged snapshot: \(problem) (the next start sets it aside)") }
    if let problem = eod.problem {
        fail("\(dir)/\(problem); `cuohe journal rebuild-eod \(dir)` rewrites the end-of-day files from the journal",
             code: ExitCode.failure)
    }
    if let torn = contents.tornTail {
        say("torn last record: \(torn.file) offset \(torn.offset) (\(torn.bytes) bytes); the next start truncates it")
    }
    if !damagedSnapshots.isEmpty {
        fail("\(dir): \(damagedSnapshots.count) damaged snapshot(s); the journal checks out", code: ExitCode.failure)
    }
    let hash = String(engine.matcher.stateDigest(), radix: 16)
    say("journal ok: segments=\(contents.segments.count) records=\(contents.commands.count) "
          + "last_seq=\(contents.commands.count) snapshots=\(snapshotsChecked) state=\(hash) eod_days=\(eod.daysMatched)")
    exit(0)
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
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
