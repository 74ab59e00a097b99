import XCTest
import Foundation
import BenchSupport
#if canImport(Glibc)
import Glibc
#endif

/// `cuohe serve` as an operator starts it: the real binary, on 127.0.0.1 with a port the OS
/// picks, a fresh or given data directory; its banner's "Listening on" line gives the port.
final class ServerProcess {
    let process = Process()
    let data: String
    private(set) var port: UInt16 = 0
    private(set) var metricsPort: UInt16? = nil
    private let output = Output()

    final class Output: @unchecked Sendable {
        let lock = NSLock()
        var stdout = ""
        var stderr = ""
        func add(_ s: String, err: Bool) { lock.lock(); if err { stderr += s } else { stdout += s }; lock.unlock() }
        var both: (String, String) { lock.lock(); defer { lock.unlock() }; return (stdout, stderr) }
    }

    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("cuohe")
    }

    static func temporaryDirectory(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "cuohe-gw-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.removeItem(atPath: dir)
        return dir
    }

    init(data: String, config: String? = nil, metrics: Bool = false, extra: [String] = [],
         file: StaticString = #filePath, line: UInt = #line) throws {
        self.data = data
        process.executableURL = ServerProcess.binary
        var args = ["serve", "--data", data, "--listen", "127.0.0.1:0", "--no-prefault"]
        if let config { args += ["--config", config] }
        if metrics { args += ["--metrics", "127.0.0.1:0"] }
        process.arguments = args + extra
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let output = self.output
        out.fileHandleForReading.readabilityHandler = { h in output.add(String(decoding: h.availableData, as: UTF8.self), err: false) }
        err.fileHandleForReading.readabilityHandler = { h in output.add(String(decoding: h.availableData, as: UTF8.self), err: true) }
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let (stdout, _) = output.both
            if let range = stdout.range(of: "Listening on 127.0.0.1:") {
                let digits = stdout[range.upperBound...].prefix { $0.isNumber }
                port = UInt16(digits)!
                if metrics, let m = stdout.range(of: "metrics on http://127.0.0.1:") {
                    metricsPort = UInt16(stdout[m.upperBound...].prefix { $0.isNumber })
                }
                return
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        let (stdout, stderr) = output.both
        XCTFail("cuohe serve did not start:\n\(stdout)\n\(stderr)", file: file, line: line)
        throw CocoaError(.fileNoSuchFile)
    }

    var stdout: String { output.both.0 }
    var stderr: String { output.both.1 }

    /// SIGTERM, then the exit status.
    @discardableResult
    func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL: no chance to sync, snapshot or say goodbye.
    func killHard() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
}

/// A broker's TCP client: blocking socket, lines in and out.
final class Client {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var closedByPeer = false

    init(port: UInt16, receiveBuffer: Int32? = nil) {
        fd = connectLoopback(port: port, receiveBuffer: receiveBuffer)
        precondition(fd >= 0, "connect: \(String(cString: strerror(errno)))")
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// Sends all of `bytes`; false if the connection is gone.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// Reads whatever is waiting now without blocking; the bytes read (0 if none), or -1 once the
    /// peer has closed.
    func drain() -> Int {
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, Int32(MSG_DONTWAIT)) }
            if n == 0 { closedByPeer = true; return -1 }
            if n < 0 { return total }
            total += n
        }
    }

    /// The next line (without `\n`), or nil after `timeout` seconds or at end of stream.
    func line(timeout: Double = 5) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                let text = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeFirst(nl + 1)
                return text
            }
            if closedByPeer { return nil }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, Int32(max(1, left * 1000))) <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
            if n <= 0 { closedByPeer = true } else { buffer.append(contentsOf: chunk[..<n]) }
        }
    }

    /// Bytes received after the last `\n` (a body that does not end a line).
    var remainder: String { String(decoding: buffer, as: UTF8.self) }

    /// Lines until one satisfies `done` (included), or the timeout.
    func lines(timeout: Double = 10, until done: (String) -> Bool) -> [String] {
        var out: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        while let l = line(timeout: max(0.01, deadline.timeIntervalSinceNow)) {
            out.append(l)
            if done(l) { break }
        }
        return out
    }

    /// The next line that is not a heartbeat, checked to start with `prefix`. The demo market's
    /// schedule (`OK verb=PHASE` to operators, issued when the server starts on a later date than
    /// the demo's) is skipped too, unless asked for.
    @discardableResult
    func expect(_ prefix: String, timeout: Double = 5, file: StaticString = #filePath, line: UInt = #line) -> String {
        while let l = self.line(timeout: timeout) {
            if l == "HEARTBEAT" { continue }
            if l.hasPrefix("OK verb=PHASE sym=ZJ200077") && !prefix.hasPrefix("OK verb=PHASE") { continue }
            XCTAssertTrue(l.hasPrefix(prefix), "expected \(prefix)…, got \(l)", file: file, line: line)
            return l
        }
        XCTFail("expected \(prefix)…, got nothing", file: file, line: line)
        return ""
    }

    /// True once the server has closed the connection (within `timeout`), all lines read.
    func waitClosed(timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !closedByPeer && Date() < deadline { _ = line(timeout: 0.1) }
        return closedByPeer
    }

    /// Logs in and checks `LOGGEDIN`; returns its `next`.
    @discardableResult
    func login(_ broker: String, _ token: String, resume: Int64? = nil, hb: Int? = nil,
               file: StaticString = #filePath, line: UInt = #line) -> Int64 {
        send("LOGIN broker=\(broker) token=\(token)" + (resume.map { " resume=\($0)" } ?? "") + (hb.map { " hb=\($0)" } ?? "") + "\n")
        let l = expect("LOGGEDIN broker=\(broker) next=", file: file, line: line)
        return Int64(l.split(separator: "=").last ?? "") ?? -1
    }
}

/// A field's value in a protocol line (`key=value`).
func field(_ line: String, _ key: String) -> String? {
    for part in line.split(separator: " ") where part.hasPrefix(key + "=") { return String(part.dropFirst(key.count + 1)) }
    return nil
}
