#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import BenchSupport

// `cuohe-gateway-bench`: a small load client for `cuohe serve`. It starts the server (the
// `cuohe` binary beside it, a fresh data directory, the demo market), connects two brokers that
// trade against each other over TCP, and reports sustained messages a second and round-trip
// latency (NEW sent → its ACK read) with `--durability sync` and `none`, side by side.

let usage = "usage: cuohe-gateway-bench [--orders N] [--rate N] [--durability sync|none|both] [--port P]"
var orders = 200_000
var rate = 20_000
var durabilities = ["sync", "none"]
var externalPort: UInt16? = nil
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--orders": orders = Int(args.popFirst() ?? "") ?? orders
    case "--rate": rate = Int(args.popFirst() ?? "") ?? rate
    case "--durability":
        let d = args.popFirst() ?? "both"
        durabilities = d == "both" ? ["sync", "none"] : [d]
    case "--port": externalPort = UInt16(args.popFirst() ?? "")
    default:
        print(usage)
        exit(2)
    }
}
signal(SIGPIPE, SIG_IGN)

/// One broker's connection: a sender and a reader thread over one blocking socket.
final class Broker: @unchecked Sendable {
    let fd: Int32
    let name: String, account: String, buysFirst: Bool
    /// Each phase's cids are its own: a cid is used once per trading day.
    let prefix: String
    /// Send times by order number, and round trips measured by the reader.
    let sentAt: UnsafeMutablePointer<Int64>
    let acked = Atomic<Int>(0)
    var latencies: [Int64] = []
    let count: Int

    init(port: UInt16, name: String, token: String, account: String, buysFirst: Bool, count: Int, prefix: String) {
        self.prefix = prefix
        self.name = name
        self.account = account
        self.buysFirst = buysFirst
        self.count = count
        sentAt = .allocate(capacity: count)
        sentAt.initialize(repeating: 0, count: count)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, 4)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, 16) } }
        precondition(r == 0, "connect: \(String(cString: strerror(errno)))")
        send("LOGIN broker=\(name) token=\(token) hb=60\n")
    }

    deinit {
        close(fd)
        sentAt.deallocate()
    }

    func send(_ text: String) {
        var bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            precondition(n > 0, "send: \(String(cString: strerror(errno)))")
            off += n
        }
    }

    /// The order line for order number `k`: the two brokers alternate sides at one price, so
    /// their orders cross and trade and the book stays shallow.
    func line(_ k: Int) -> String {
        let buy = (k % 2 == 0) == buysFirst
        return "NEW cid=\(prefix)\(k) acct=\(account) sym=ZJ100231 side=\(buy ? "BUY" : "SELL") qty=100 px=12.00\n"
    }

    /// Reads until every order has its ACK or REJ, timing each from its send.
    func read() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var partial: [UInt8] = []
        latencies.reserveCapacity(count)
        while acked.load(ordering: .relaxed) < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { fatalError("\(name): the server closed the connection") }
            let now = nowNanos()
            var start = 0
            for i in 0..<n where buffer[i] == 10 {
                let line = partial.isEmpty ? Array(buffer[start..<i]) : partial + buffer[start..<i]
                partial.removeAll(keepingCapacity: true)
                start = i + 1
                answered(line, now: now)
            }
            partial.append(contentsOf: buffer[start..<n])
        }
    }

    func answered(_ line: [UInt8], now: Int64) {
        // "ACK seq=N cid=oK …" or "REJ seq=N cid=oK …": the order's first answer.
        guard line.count > 4, (line.starts(with: Array("ACK ".utf8)) || line.starts(with: Array("REJ seq".utf8))),
              let c = line.firstRange(of: Array(" cid=\(prefix)".utf8)) else { return }
        var k = 0
        var i = c.upperBound
        while i < line.count, line[i] >= 48, line[i] <= 57 { k = k * 10 + Int(line[i] - 48); i += 1 }
        if k < count && sentAt[k] > 0 {
            latencies.append(now - sentAt[k])
            sentAt[k] = 0  // the first answer only
            acked.add(1, ordering: .relaxed)
        }
    }
}

/// Runs one phase against a fresh server on `port`: full speed (at most `window` orders
/// unanswered per broker) for throughput, or paced for latency. Each phase has a server of its
/// own: a new session's `LOGIN` (resume 0) is first told every earlier message, as the protocol
/// says, which would otherwise land in the next phase's figures.
func measure(port: UInt16, label: String, phase: String, orders: Int, rate: Int) {
    do {
        let n = phase == "throughput" ? orders : max(1000, min(orders, rate * 5))
        let brokers = [Broker(port: port, name: "B01", token: "secret1", account: "A1001", buysFirst: true, count: n, prefix: phase == "throughput" ? "t" : "l"),
                       Broker(port: port, name: "B02", token: "secret2", account: "A2001", buysFirst: false, count: n, prefix: phase == "throughput" ? "t" : "l")]
        usleep(100_000)
        let readers = brokers.map { b in Thread { b.read() } }
        let done = DispatchSemaphore(value: 0)
        let started = nowNanos()
        for b in brokers {
            Thread {
                let window = 2_000
                let interval = phase == "latency" ? Int64(1_000_000_000 / max(1, rate / brokers.count)) : 0
                var batch = ""
                for k in 0..<n {
                    if phase == "latency" {
                        // Sleep until the order is due (no spinning: the machine has 2 cores).
                        let wait = started + Int64(k) * interval - nowNanos()
                        if wait > 0 { usleep(UInt32(wait / 1000)) }
                    } else {
                        while k - b.acked.load(ordering: .relaxed) > window { usleep(10) }
                    }
                    b.sentAt[k] = nowNanos()
                    batch += b.line(k)
                    if phase == "latency" || batch.utf8.count > 8_000 || k == n - 1 {
                        b.send(batch)
                        batch = ""
                    }
                }
                done.signal()
            }.start()
        }
        for r in readers { r.start() }
        for _ in brokers { done.wait() }
        while brokers.contains(where: { $0.acked.load(ordering: .relaxed) < n }) { usleep(1_000) }
        let elapsed = Double(nowNanos() - started) / 1e9
        if phase == "throughput" {
            let total = Double(2 * n)
            print("\(label): \(Int(total / elapsed)) orders/s over TCP (\(2 * n) NEW lines, each answered; two brokers trading)")
            print("bench gateway durability=\(label) orders_per_sec=\(Int(total / elapsed))")
        } else {
            let all = brokers.flatMap(\.latencies).sorted()
            let us = { (p: Double) in percentile(all, p) / 1000 }
            print("\(label): round trip NEW→ACK at \(rate)/s: p50=\(us(0.5))us p99=\(us(0.99))us p99.9=\(us(0.999))us max=\((all.last ?? 0) / 1000)us (\(all.count) orders)")
            print("bench gateway durability=\(label) rtt_p50_us=\(us(0.5)) rtt_p99_us=\(us(0.99)) rtt_p999_us=\(us(0.999))")
        }
    }
}

if let port = externalPort {
    measure(port: port, label: "external", phase: "throughput", orders: orders, rate: rate)
    exit(0)
}
let cuohe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("cuohe")
for durability in durabilities {
  for phase in ["throughput", "latency"] {
    let data = NSTemporaryDirectory() + "cuohe-gateway-bench-\(getpid())-\(durability)"
    try? FileManager.default.removeItem(atPath: data)
    let server = Process()
    server.executableURL = cuohe
    server.arguments = ["serve", "--data", data, "--listen", "127.0.0.1:0", "--durability", durability]
    let out = Pipe()
    server.standardOutput = out
    server.standardError = FileHandle.nullDevice
    try server.run()
    var banner = ""
    while !banner.contains("Listening on 127.0.0.1:") || !banner.hasSuffix("\n") {
        let d = out.fileHandleForReading.availableData
        if d.isEmpty { fatalError("cuohe serve did not start: \(banner)") }
        banner += String(decoding: d, as: UTF8.self)
    }
    let tail = banner.components(separatedBy: "Listening on 127.0.0.1:")[1]
    let port = UInt16(tail.prefix { $0.isNumber })!
    measure(port: port, label: durability, phase: phase, orders: orders, rate: rate)
    kill(server.processIdentifier, SIGTERM)
    server.waitUntilExit()
    try? FileManager.default.removeItem(atPath: data)
  }
}
