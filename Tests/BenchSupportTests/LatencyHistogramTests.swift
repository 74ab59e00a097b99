import XCTest
@testable import BenchSupport

final class LatencyHistogramTests: XCTestCase {
    /// Against the exact percentiles of the same values (sorted), across 1 µs to 60 s.
    func testEveryPercentileIsWithinOnePercentOfTheExactValue() {
        var r = SplitMix64(state: 11)
        var h = LatencyHistogram()
        var values: [Int64] = []
        for _ in 0..<200_000 {
            // Log-uniform over 1 µs … 60 s.
            let e = Double(r.below(1_000_000)) / 1_000_000 * log(60_000.0 * 1_000_000 / 1_000)
            let v = Int64(1_000 * exp(e))
            values.append(v)
            h.record(v)
        }
        values.sort()
        for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0] {
            let exact = values[min(values.count - 1, max(0, Int((Double(values.count) * q).rounded(.up)) - 1))]
            let got = h.value(at: q)
            XCTAssertLessThanOrEqual(abs(Double(got - exact)) / Double(exact), 0.01, "q=\(q): \(got) vs \(exact)")
        }
        XCTAssertEqual(h.totalCount, 200_000)
    }

    func testEveryValueMapsIntoACounterThatHoldsIt() {
        var r = SplitMix64(state: 3)
        for _ in 0..<100_000 {
            let v = Int64(r.below(Int(LatencyHistogram.highestTrackable)))
            let range = LatencyHistogram.range(LatencyHistogram.index(v))
            XCTAssertTrue(v >= range.low && v < range.low + range.width)
            XCTAssertLessThanOrEqual(Double(range.width - 1) / Double(max(1, v)), 1.0 / 128 + 1e-12)
        }
        XCTAssertLessThan(LatencyHistogram.index(LatencyHistogram.highestTrackable), LatencyHistogram().counts.count)
    }

    func testMergingEqualsRecordingEverythingInOne() {
        var a = LatencyHistogram(), b = LatencyHistogram(), all = LatencyHistogram()
        var r = SplitMix64(state: 5)
        for k in 0..<50_000 {
            let v = Int64(r.below(50_000_000))
            if k % 3 == 0 { a.record(v) } else { b.record(v) }
            all.record(v)
        }
        a.merge(b)
        XCTAssertEqual(a.counts, all.counts)
        XCTAssertEqual(a.totalCount, all.totalCount)
        XCTAssertEqual(a.maxValue, all.maxValue)
        XCTAssertEqual(a.value(at: 0.99), all.value(at: 0.99))
    }

    func testValuesPastTheRangeAreClampedAndCounted() {
        var h = LatencyHistogram()
        h.record(100)
        h.record(120_000_000_000)
        XCTAssertEqual(h.clamped, 1)
        XCTAssertEqual(h.totalCount, 2)
        XCTAssertGreaterThanOrEqual(h.value(at: 1), LatencyHistogram.highestTrackable)
    }

    /// The `.hgrm` text as HdrHistogram prints it: header, rows of four columns with rising
    /// percentiles ending at 1.0, and the three footer lines.
    func testThePercentileDistributionReadsLikeHdrHistograms() {
        var h = LatencyHistogram()
        for v in 1...10_000 { h.record(Int64(v) * 1_000) }
        let text = h.percentileDistribution()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertTrue(lines[0].contains("Value") && lines[0].contains("Percentile") && lines[0].contains("TotalCount")
                      && lines[0].contains("1/(1-Percentile)"))
        let rows = lines.filter { !$0.isEmpty && !$0.hasPrefix("#") }.dropFirst()
        var last = -1.0
        for row in rows {
            let cols = row.split(separator: " ")
            XCTAssertTrue(cols.count == 4 || (cols.count == 3 && Double(cols[1]) == 1), String(row))
            let q = Double(cols[1])!
            XCTAssertGreaterThanOrEqual(q, last)
            last = q
        }
        XCTAssertEqual(last, 1)
        XCTAssertTrue(text.contains("#[Mean    = "))
        XCTAssertTrue(text.contains("#[Max     = "))
        XCTAssertTrue(text.contains("Total count    =        10000]"))
        XCTAssertTrue(text.contains("#[Buckets = "))
        // The median is 5,000 µs within 1%.
        XCTAssertEqual(Double(h.value(at: 0.5)) / 1_000, 5_000, accuracy: 50)
    }
}
