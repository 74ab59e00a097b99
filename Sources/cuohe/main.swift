#if canImport(Glibc)
import Glibc
#endif
import CuoheCore
import CuoheProtocol
import CuoheRuntime

/// `cuohe`: the operator's command.
let usage = """
    usage: cuohe replay [--config FILE] [--export DIR] [FILE]
             Re-run lines `[@<ns>] <broker> <protocol line>` from FILE (or standard input) through
             the matching engine and print every outbound message as `<broker> <line>`; market
             data on lines starting with `*`. Without --config, the built-in demo market.
             --export DIR writes trades.csv, register.csv and accounts.csv there at the end.
           cuohe demo
             Print the built-in demo market (instruments, brokers and tokens, accounts).
           cuohe help

    """

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
    var args = arguments
    while let arg = args.popFirst() {
        switch arg {
        case "--config":
            guard let value = args.popFirst() else { fail("--config needs a FILE", code: ExitCode.usage) }
            configPath = value
        case "--export":
            guard let value = args.popFirst() else { fail("--export needs a DIR", code: ExitCode.usage) }
            exportPath = value
        case "-h", "--help":
            print(usage, terminator: "")
            exit(0)
        default:
            if arg.hasPrefix("-") && arg != "-" { fail("unknown option \(arg)\n\(usage)", code: ExitCode.usage) }
            guard inputPath == nil else { fail("more than one input FILE given", code: ExitCode.usage) }
            inputPath = arg
        }
    }
    let config = loadConfig(configPath)
    var fd: Int32 = 0
    if let inputPath, inputPath != "-" {
        fd = open(inputPath, O_RDONLY)
        if fd < 0 { fail("\(inputPath): cannot open: \(String(cString: strerror(errno)))", code: ExitCode.failure) }
    }
    var engine = Replay(config: config, recordsTrades: exportPath != nil)
    var reader = LineReader(fd: fd, lineBytesMax: Replay.inputLineBytesMax)
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

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "replay":
    replay(arguments.dropFirst())
case "demo":
    print(DemoMarket.summary)
case "help", "-h", "--help":
    print(usage, terminator: "")
case nil:
    print(usage, terminator: "")
    exit(ExitCode.usage)
case let other?:
    fail("unknown command \(other)\n\(usage)", code: ExitCode.usage)
}
