/// A high-dynamic-range latency histogram: log-linear buckets over nanoseconds, 256 sub-buckets
/// per power of two, so any recorded value is reported within 1/128 (0.8%) of itself, from 1 ns
/// up to `highestTrackable` (60 s); constant memory (3,840 counters); mergeable. The layout is
/// HdrHistogram's with 3 significant bits of precision more than needed for 1%.
public struct LatencyHistogram: Sendable {
    static let subBucketBits = 8
    static let subBucketCount = 1 << subBucketBits
    static let subBucketHalf = subBucketCount / 2
    public static let highestTrackable: Int64 = 60_000_000_000
    static let bucketCount = 29  // buckets 0…28 reach 2^36 ns (68.7 s) ≥ highestTrackable

    public private(set) var counts: [UInt64]
    public private(set) var totalCount: UInt64 = 0
    public private(set) var maxValue: Int64 = 0
    public private(set) var minValue: Int64 = .max
    /// Values above `highestTrackable`, recorded as it (so they still count in every percentile).
    public private(set) var clamped: UInt64 = 0
    private var sum: Double = 0

    public init() {
        counts = Array(repeating: 0, count: LatencyHistogram.bucketCount * LatencyHistogram.subBucketHalf
                                              + LatencyHistogram.subBucketHalf)
    }

    /// The counter of `value` (≥ 0).
    static func index(_ value: Int64) -> Int {
        let v = UInt64(max(0, value))
        let magnitude = 63 - (v | 1).leadingZeroBitCount  // floor(log2 v)
        let bucket = max(0, magnitude - (subBucketBits - 1))
        let sub = Int(v >> UInt64(bucket))
        return bucket * subBucketHalf + sub
    }

    /// The lowest value counted at `index`, and the width of its counter.
    static func range(_ index: Int) -> (low: Int64, width: Int64) {
        if index < subBucketCount { return (Int64(index), 1) }
        let bucket = (index - subBucketHalf) / subBucketHalf
        let sub = index - bucket * subBucketHalf
        return (Int64(sub) << Int64(bucket), Int64(1) << Int64(bucket))
    }

    /// The highest value that counts as equal to `value` (what percentiles report, as
    /// HdrHistogram does).
    public static func highestEquivalent(_ value: Int64) -> Int64 {
        let r = range(index(value))
        return r.low + r.width - 1
    }

    public mutating func record(_ nanos: Int64, count: UInt64 = 1) {
        var v = max(0, nanos)
        if v > LatencyHistogram.highestTrackable {
            v = LatencyHistogram.highestTrackable
            clamped += count
        }
        counts[LatencyHistogram.index(v)] += count
        totalCount += count
        maxValue = max(maxValue, v)
        minValue = min(minValue, v)
        sum += Double(v) * Double(count)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for i in 0..<counts.count where other.counts[i] > 0 { counts[i] += other.counts[i] }
        totalCount += other.totalCount
        maxValue = max(maxValue, other.maxValue)
        minValue = min(minValue, other.minValue)
        clamped += other.clamped
        sum += other.sum
    }

    public mutating func reset() { self = LatencyHistogram() }

    public var mean: Double { totalCount == 0 ? 0 : sum / Double(totalCount) }

    /// The value at quantile `q` (0...1): the highest equivalent value of the counter where the
    /// count reaches `q` of the total; the max for q = 1; 0 when empty.
    public func value(at q: Double) -> Int64 {
        guard totalCount > 0 else { return 0 }
        if q >= 1 { return LatencyHistogram.highestEquivalent(maxValue) }
        let rank = max(1, UInt64((Double(totalCount) * q).rounded(.up)))
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= rank {
                let r = LatencyHistogram.range(i)
                return min(r.low + r.width - 1, LatencyHistogram.highestEquivalent(maxValue))
            }
        }
        return LatencyHistogram.highestEquivalent(maxValue)
    }

    /// The standard deviation of the recorded values (by counter midpoints).
    public var standardDeviation: Double {
        guard totalCount > 0 else { return 0 }
        let m = mean
        var acc = 0.0
        for (i, c) in counts.enumerated() where c > 0 {
            let r = LatencyHistogram.range(i)
            let d = Double(r.low) + Double(r.width - 1) / 2 - m
            acc += d * d * Double(c)
        }
        return (acc / Double(totalCount)).squareRoot()
    }

    /// The percentile distribution HdrHistogram prints (`.hgrm`), values in `unit` nanoseconds
    /// (1,000: microseconds), `ticksPerHalf` lines per halving of the distance to 100%.
    public func percentileDistribution(unit: Double = 1_000, ticksPerHalf: Int = 5) -> String {
        func f(_ v: Double, _ w: Int, _ d: Int) -> String { pad(fixed(v, d), w) }
        var out = "\(pad("Value", 12)) \(pad("Percentile", 14)) \(pad("TotalCount", 10)) \(pad("1/(1-Percentile)", 14))\n\n"
        for (q, v, n) in percentileTicks(ticksPerHalf: ticksPerHalf) {
            out += "\(f(Double(v) / unit, 12, 3)) \(fixed(q, 12).leftPadded(14)) \(String(n).leftPadded(10))"
            out += q < 1 ? " \(f(1 / (1 - q), 14, 2))\n" : "\n"
        }
        out += "#[Mean    = \(f(mean / unit, 12, 3)), StdDeviation   = \(f(standardDeviation / unit, 12, 3))]\n"
        out += "#[Max     = \(f(Double(LatencyHistogram.highestEquivalent(maxValue)) / unit, 12, 3)), Total count    = \(String(totalCount).leftPadded(12))]\n"
        out += "#[Buckets = \(String(LatencyHistogram.bucketCount).leftPadded(12)), SubBuckets     = \(String(LatencyHistogram.subBucketCount).leftPadded(12))]\n"
        return out
    }

    /// (quantile, value, count at or below it), HdrHistogram's percentile iteration: ticks get
    /// denser toward 100%, ending with the max at 1.0.
    public func percentileTicks(ticksPerHalf: Int = 5) -> [(Double, Int64, UInt64)] {
        guard totalCount > 0 else { return [] }
        var out: [(Double, Int64, UInt64)] = []
        var q = 0.0
        var seen: UInt64 = 0
        var i = 0
        while q < 1 {
            let rank = max(1, UInt64((Double(totalCount) * q).rounded(.up)))
            while i < counts.count && seen + counts[i] < rank { seen += counts[i]; i += 1 }
            let r = LatencyHistogram.range(min(i, counts.count - 1))
            out.append((q, min(r.low + r.width - 1, LatencyHistogram.highestEquivalent(maxValue)), seen + counts[min(i, counts.count - 1)]))
            if seen + counts[min(i, counts.count - 1)] >= totalCount { break }
            // Halve the distance to 100% every `ticksPerHalf` ticks.
            let halvings = (-(log2(1 - q))).rounded(.down)
            let step = 1 / pow(2, halvings + 1) / Double(ticksPerHalf)
            q = min(1, q + step)
        }
        out.append((1, LatencyHistogram.highestEquivalent(maxValue), totalCount))
        return out
    }
}

func fixed(_ v: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (abs(v) * scale).rounded()
    let whole = Int64(r / scale)
    let frac = Int64(r - Double(whole) * scale)
    var f = String(frac)
    while f.count < digits { f = "0" + f }
    return (v < 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + f : "")
}

func pad(_ s: String, _ w: Int) -> String { s.leftPadded(w) }

extension String {
    func leftPadded(_ w: Int) -> String { count >= w ? self : String(repeating: " ", count: w - count) + self }
}

#if canImport(Glibc)
import Glibc
#endif
