import Foundation
import BenchSupport

/// One run's figures: what `--json` writes and `plot` reads back.
struct RunResult: Codable {
    var label: String
    var parameters: [String: String]
    var seconds: Double
    var sentPerSecond: Double
    var ackedPerSecond: Double
    var fillsPerSecond: Double
    /// Path → percentile name → microseconds.
    var latencyMicros: [String: [String: Double]]
    /// Path → the percentile curve: [quantile, microseconds].
    var curves: [String: [[Double]]]
    var ramp: [RampStep]?
    var sustainedRate: Double?
    var statsBefore: String?
    var statsAfter: String?
    var violations: [String]
    /// CPU seconds over the measured run: the client's (all its threads) and the engine's.
    var clientCPUSeconds: Double?
    var engineCPUSeconds: Double?
    /// The wall-clock seconds those CPU seconds were spent in (warm-up and ramp steps included).
    var loadSeconds: Double?
}

struct RampStep: Codable {
    var rate: Double
    var p99Micros: Double
    var behind: Bool
    var held: Bool
}

enum Report {
    static let percentiles: [(String, Double)] = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999), ("p99.99", 0.9999), ("max", 1)]

    static func latency(_ h: LatencyHistogram) -> [String: Double] {
        var out: [String: Double] = ["count": Double(h.totalCount), "mean": h.mean / 1_000]
        for (name, q) in percentiles { out[name] = Double(h.value(at: q)) / 1_000 }
        return out
    }

    static func curve(_ h: LatencyHistogram) -> [[Double]] {
        h.percentileTicks().map { [$0.0, Double($0.1) / 1_000] }
    }

    static func micros(_ v: Double) -> String {
        v >= 1_000_000 ? String(format: "%.1f s", v / 1_000_000) : v >= 10_000 ? String(format: "%.1f ms", v / 1_000) : v >= 100 ? String(format: "%.0f µs", v) : String(format: "%.1f µs", v)
    }

    /// The summary a person reads at the end.
    static func summary(_ r: RunResult) -> String {
        var s = "\n\(r.label)\n"
        s += String(format: "  throughput: %.0f sent/s, %.0f acked/s, %.0f fills/s over %.1f s measured\n",
                     r.sentPerSecond, r.ackedPerSecond, r.fillsPerSecond, r.seconds)
        s += "  latency            " + percentiles.map { $0.0.padding(toLength: 10, withPad: " ", startingAt: 0) }.joined() + "count\n"
        for path in r.latencyMicros.keys.sorted() {
            let l = r.latencyMicros[path]!
            s += "  " + path.padding(toLength: 19, withPad: " ", startingAt: 0)
            s += percentiles.map { micros(l[$0.0] ?? 0).padding(toLength: 10, withPad: " ", startingAt: 0) }.joined()
            s += "\(Int(l["count"] ?? 0))\n"
        }
        if let c = r.clientCPUSeconds {
            let wall = r.loadSeconds ?? r.seconds
            s += String(format: "  cpu during the load: client %.1f s, engine %@, of %.1f s (2 cores × %.1f s)\n", c,
                        r.engineCPUSeconds.map { String(format: "%.1f s", $0) } ?? "not measured (not spawned)",
                        2 * wall, wall)
        }
        if let steps = r.ramp {
            for step in steps {
                s += String(format: "  ramp %8.0f/s  p99 %@  %@\n", step.rate, micros(step.p99Micros),
                            step.held ? "held" : step.behind ? "behind schedule" : "p99 past the bound")
            }
            s += String(format: "  sustained: %.0f orders/s within the p99 bound\n", r.sustainedRate ?? 0)
        }
        s += r.violations.isEmpty ? "  honesty checks: all passed\n" : "  honesty checks FAILED:\n" + r.violations.prefix(20).map { "    \($0)\n" }.joined()
        return s
    }

    /// A latency-by-percentile chart: x in "nines" (50%, 90%, 99%, …), log latency axis, a line
    /// per path of every run.
    static func svg(_ runs: [RunResult], title: String) -> String {
        let w = 1000.0, h = 540.0, left = 80.0, right = 290.0, top = 50.0, bottom = 60.0
        var lines: [(String, [[Double]])] = []
        for r in runs { for path in r.curves.keys.sorted() { lines.append(("\(r.label) \(path)", r.curves[path]!)) } }
        let nines = { (q: Double) in log10(1 / max(1e-7, 1 - min(q, 0.999999))) }
        let allY = lines.flatMap { $0.1.map { max($0[1], 1) } }
        let yMin = pow(10, floor(log10(allY.min() ?? 1))), yMax = pow(10, ceil(log10(max(allY.max() ?? 10, yMin * 10))))
        let xMax = max(4.0, ceil(lines.flatMap { $0.1.filter { $0[0] < 1 }.map { nines($0[0]) } }.max() ?? 4))
        func x(_ q: Double) -> Double { left + nines(q) / xMax * (w - left - right) }
        func y(_ v: Double) -> Double { top + (1 - (log10(max(v, yMin)) - log10(yMin)) / (log10(yMax) - log10(yMin))) * (h - top - bottom) }
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(Int(w / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>\n"
        var decade = yMin
        while decade <= yMax * 1.0001 {
            let yy = y(decade)
            s += "<line x1=\"\(left)\" y1=\"\(yy)\" x2=\"\(w - right)\" y2=\"\(yy)\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(yy + 4)\" text-anchor=\"end\">\(micros(decade))</text>\n"
            decade *= 10
        }
        for n in 0...Int(xMax) {
            let q = 1 - pow(10, -Double(n))
            let xx = left + Double(n) / xMax * (w - left - right)
            let label = n == 0 ? "0%" : n == 1 ? "90%" : n == 2 ? "99%" : "99." + String(repeating: "9", count: n - 2) + "%"
            s += "<line x1=\"\(xx)\" y1=\"\(top)\" x2=\"\(xx)\" y2=\"\(h - bottom)\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(xx)\" y=\"\(h - bottom + 18)\" text-anchor=\"middle\">\(label)</text>\n"
            _ = q
        }
        let half = left + log10(2) / xMax * (w - left - right)
        s += "<text x=\"\(half)\" y=\"\(h - bottom + 32)\" text-anchor=\"middle\" fill=\"#888\">50%</text>\n"
        s += "<text x=\"\((left + w - right) / 2)\" y=\"\(h - 12)\" text-anchor=\"middle\">percentile</text>\n"
        s += "<text x=\"18\" y=\"\((top + h - bottom) / 2)\" transform=\"rotate(-90 18 \((top + h - bottom) / 2))\" text-anchor=\"middle\">latency</text>\n"
        for (i, (name, points)) in lines.enumerated() {
            let color = colors[i % colors.count]
            let path = points.filter { $0[0] < 1 }.map { "\(x($0[0])),\(y($0[1]))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            s += "<rect x=\"\(w - right + 12)\" y=\"\(top + Double(i) * 20)\" width=\"14\" height=\"4\" fill=\"\(color)\"/>"
            s += "<text x=\"\(w - right + 32)\" y=\"\(top + Double(i) * 20 + 6)\">\(escape(name))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    static func escape(_ t: String) -> String {
        t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
