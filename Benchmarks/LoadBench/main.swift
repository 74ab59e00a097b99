#if canImport(Glibc)
import Glibc
#endif
import Foundation
import BenchSupport

// `cuohe-bench`: the load tester's tool. It drives `cuohe serve` over the line protocol (or the
// pipeline in-process), open loop on a fixed timetable (latency from each order's scheduled
// time: coordinated omission corrected) or closed loop (`--max`), and reports throughput and
// latency percentiles, with honesty checks at the end.

let usage = """
    usage: cuohe-bench [--spawn [--durability sync|none] | --port P] [--sessions N] [--rate R | --max [--window W]]
                       [--duration S] [--warmup S] [--mix NEW,MARKETABLE,CANCEL,REPLACE] [--instruments N] [--seed N]
                       [--ramp [--step-seconds S] [--slo-p99-us U]] [--json FILE] [--hgrm FILE] [--svg FILE] [--label TEXT]
           cuohe-bench --in-process [--sessions N] [--duration S] [--durability sync|none] [--json FILE]
           cuohe-bench plot A.json B.json … --svg FILE
           cuohe-bench market [--sessions N] [--instruments N]   (the market --spawn generates; start
                                                                  cuohe serve with it to use --port)
    Defaults: --spawn off (port 7700), 4 sessions, 20000 orders/s, 10 s after 2 s of warm-up, mix 60,20,15,5,
    4 instruments, seed 1, durability sync, window 256 per session, ramp steps of 3 s (+25%), p99 bound 1000 µs.

    """

struct Options {
    var spawn = false, port: UInt16 = 7700, sessions = 4, rate = 20_000.0, closedLoop = false, window = 256
    var duration = 10.0, warmup = 2.0, mix = Mix(), instruments = 4, seed: UInt64 = 1, durability = "sync"
    var ramp = false, stepSeconds = 3.0, sloP99Micros = 1_000.0
    var json: String?, hgrm: String?, svg: String?, label: String?, inProcess = false

    init(_ arguments: ArraySlice<String>) {
        var args = arguments
        func value(_ name: String) -> String {
            guard let v = args.popFirst() else { fail("\(name) needs a value\n\(usage)") }
            return v
        }
        func number(_ name: String) -> Double {
            guard let v = Double(value(name)), v > 0 else { fail("\(name) takes a positive number") }
            return v
        }
        while let a = args.popFirst() {
            switch a {
            case "--spawn": spawn = true
            case "--port": port = UInt16(number(a))
            case "--sessions": sessions = Int(number(a))
            case "--rate": rate = number(a)
            case "--max": closedLoop = true
            case "--window": window = Int(number(a))
            case "--duration": duration = number(a)
            case "--warmup": warmup = Double(value(a)) ?? 2
            case "--instruments": instruments = Int(number(a))
            case "--seed": seed = UInt64(number(a))
            case "--durability": durability = value(a)
            case "--ramp": ramp = true
            case "--step-seconds": stepSeconds = number(a)
            case "--slo-p99-us": sloP99Micros = number(a)
            case "--json": json = value(a)
            case "--hgrm": hgrm = value(a)
            case "--svg": svg = value(a)
            case "--label": label = value(a)
            case "--in-process": inProcess = true
            case "--mix":
                let parts = value(a).split(separator: ",").compactMap { Int($0) }
                guard parts.count == 4, parts.allSatisfy({ $0 >= 0 }), parts[0] + parts[1] > 0, parts.reduce(0, +) == 100 else {
                    fail("--mix takes four shares of 100: NEW,MARKETABLE,CANCEL,REPLACE (e.g. 60,20,15,5)")
                }
                mix = Mix(new: parts[0], marketable: parts[1], cancel: parts[2], replace: parts[3])
            case "-h", "--help":
                print(usage, terminator: "")
                exit(0)
            default: fail("unknown option \(a)\n\(usage)")
            }
        }
        guard ["sync", "none"].contains(durability) else { fail("--durability takes sync or none") }
        guard sessions <= 190 else { fail("--sessions takes at most 190 (the generated market's holder cap)") }
    }

    var description: String {
        let load = closedLoop ? "--max window \(window)/session" : ramp ? "--ramp from \(Int(rate))/s" : "\(Int(rate)) orders/s open loop"
        return "\(load), \(sessions) sessions, \(spawn ? "durability \(durability)" : "port \(port)"), \(Int(duration)) s + \(Int(warmup)) s warm-up, mix \(mix.new)/\(mix.marketable)/\(mix.cancel)/\(mix.replace)"
    }

    var parameters: [String: String] {
        ["sessions": "\(sessions)", "rate": "\(Int(rate))", "mode": closedLoop ? "max" : ramp ? "ramp" : "open-loop",
         "window": "\(window)", "duration": "\(duration)", "warmup": "\(warmup)", "durability": spawn ? durability : "external",
         "mix": "\(mix.new),\(mix.marketable),\(mix.cancel),\(mix.replace)", "instruments": "\(instruments)", "seed": "\(seed)",
         "transport": inProcess ? "in-process" : "tcp"]
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("cuohe-bench: " + message + "\n").utf8))
    exit(2)
}

signal(SIGPIPE, SIG_IGN)
let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "plot": Plot.run(arguments.dropFirst())
case "market":
    let o = Options(arguments.dropFirst())
    print(BenchMarket.json(sessions: o.sessions, instruments: o.instruments), terminator: "")
default:
    let o = Options(arguments)
    let result = o.inProcess ? InProcess.run(o) : LoadRun.run(o)
    print(Report.summary(result))
    do {
        if let path = o.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: path))
        }
        if let path = o.svg { try Report.svg([result], title: "cuohe-bench: \(o.description)").write(toFile: path, atomically: true, encoding: .utf8) }
    } catch {
        fail("writing results: \(error)")
    }
    exit(result.violations.isEmpty ? 0 : 1)
}
