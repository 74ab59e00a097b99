import Foundation

/// The market `--spawn` generates for a run: a broker and an account per session, each with
/// cash and shares enough for the whole run in every instrument, throttles off (the engine's
/// highest rate), and an operator for `STATS`.
enum BenchMarket {
    static func symbol(_ i: Int) -> String { "BX\(String(format: "%04d", i))" }

    static func json(sessions: Int, instruments: Int) -> String {
        let syms = (0..<instruments).map { symbol($0) }
        let instrumentList = syms.map {
            "{ \"symbol\": \"\($0)\", \"name\": \"Bench \($0)\", \"tick\": \"0.01\", \"lot\": 100, \"referencePrice\": \"10.00\", \"bandPercent\": 10, \"holderCap\": 200 }"
        }
        var brokers = (0..<sessions).map { "{ \"id\": \"K\($0)\", \"token\": \"t\($0)\", \"maxMessagesPerSecond\": 10000000 }" }
        brokers.append("{ \"id\": \"OPS\", \"token\": \"opsecret\", \"operator\": true }")
        let holdings = syms.map { "\"\($0)\": 100000000" }.joined(separator: ", ")
        let accounts = (0..<sessions).map {
            "{ \"id\": \"C\($0)\", \"broker\": \"K\($0)\", \"qualifiedUntil\": \"2099-12-31\", \"cash\": \"10000000000.00\", \"holdings\": { \(holdings) } }"
        }
        return """
        { "tradingDate": "\(today())",
          "instruments": [\n    \(instrumentList.joined(separator: ",\n    "))\n  ],
          "brokers": [\n    \(brokers.joined(separator: ",\n    "))\n  ],
          "accounts": [\n    \(accounts.joined(separator: ",\n    "))\n  ] }

        """
    }

    /// Today's date (UTC), so the engine's wall-clock stamps fall in its trading day.
    static func today() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date())
    }
}

/// `cuohe serve` started for the run on a free port, with a temporary data directory; stopped
/// (SIGTERM) and removed at the end.
final class SpawnedEngine {
    let process = Process()
    let directory: String
    let port: UInt16

    init(sessions: Int, instruments: Int, durability: String) throws {
        directory = NSTemporaryDirectory() + "cuohe-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try BenchMarket.json(sessions: sessions, instruments: instruments)
            .write(toFile: directory + "/market.json", atomically: true, encoding: .utf8)
        process.executableURL = try SpawnedEngine.engineBinary()
        process.arguments = ["serve", "--config", directory + "/market.json", "--data", directory + "/data",
                             "--listen", "127.0.0.1:0", "--durability", durability]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var banner = ""
        while !(banner.contains("Listening on 127.0.0.1:") && banner.hasSuffix("\n")) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { throw BenchError("cuohe serve did not start (is the cuohe binary built beside cuohe-bench?)") }
            banner += String(decoding: d, as: UTF8.self)
        }
        port = UInt16(banner.components(separatedBy: "Listening on 127.0.0.1:")[1].prefix { $0.isNumber })!
    }

    /// The `cuohe` binary beside this one. `swift run cuohe-bench` builds only this tool, so a
    /// missing engine is built first, in the same configuration, from the package this binary
    /// was built in.
    static func engineBinary() throws -> URL {
        let here = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let engine = here.appendingPathComponent("cuohe")
        if FileManager.default.isExecutableFile(atPath: engine.path) { return engine }
        var root = here
        while root.path != "/" && !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
            root = root.deletingLastPathComponent()
        }
        let configuration = here.path.contains("/release") ? "release" : "debug"
        FileHandle.standardError.write(Data("cuohe-bench: building cuohe (\(configuration)) first\n".utf8))
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        build.arguments = ["swift", "build", "-c", configuration, "--product", "cuohe"]
        build.currentDirectoryURL = root
        try build.run()
        build.waitUntilExit()
        guard build.terminationStatus == 0, FileManager.default.isExecutableFile(atPath: engine.path) else {
            throw BenchError("no cuohe binary beside cuohe-bench, and `swift build --product cuohe` in \(root.path) failed")
        }
        return engine
    }

    /// CPU seconds the engine has used so far (user + system, from /proc).
    var cpuSeconds: Double { CPUTime.of(pid: process.processIdentifier) }

    func stop() {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// CPU time, so a run can say where the two cores went: the client's and the engine's.
enum CPUTime {
    /// This process (every thread), user + system seconds.
    static var own: Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    /// Another process, from `/proc/<pid>/stat` (fields 14 and 15, in clock ticks).
    static func of(pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
