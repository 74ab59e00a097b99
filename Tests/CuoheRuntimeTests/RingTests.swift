import XCTest
import Foundation
@testable import CuoheRuntime

final class RingTests: XCTestCase {
    func testCapacityIsAPowerOfTwoAndAFullRingRefuses() {
        let ring = Ring<UInt64>(minimumCapacity: 5)
        XCTAssertEqual(ring.capacity, 8)
        for i in 0..<8 { XCTAssertTrue(ring.offer(UInt64(i))) }
        XCTAssertFalse(ring.offer(99), "a full ring refuses; nothing is overwritten")
        XCTAssertEqual(ring.count, 8)
        var out = [UInt64](repeating: 0, count: 3)
        XCTAssertEqual(out.withUnsafeMutableBufferPointer { ring.poll(into: $0) }, 3)
        XCTAssertEqual(out, [0, 1, 2])
        let batch: [UInt64] = [8, 9, 10, 11, 12]
        XCTAssertEqual(batch.withUnsafeBufferPointer { ring.offer($0) }, 3, "a batch publishes what fits")
        var rest = [UInt64](repeating: 0, count: 16)
        XCTAssertEqual(rest.withUnsafeMutableBufferPointer { ring.poll(into: $0) }, 8)
        XCTAssertEqual(Array(rest[0..<8]), [3, 4, 5, 6, 7, 8, 9, 10])
        XCTAssertEqual(rest.withUnsafeMutableBufferPointer { ring.poll(into: $0) }, 0)
    }

    /// Two threads hammer a small ring (wrapping it tens of thousands of times): every message
    /// arrives exactly once and in order.
    func stress(_ wait: WaitStrategy, messages: Int, capacity: Int, file: StaticString = #filePath, line: UInt = #line) {
        let ring = Ring<UInt64>(minimumCapacity: capacity, wait: wait)
        let done = DispatchSemaphore(value: 0)
        let producer = Thread {
            var rng: UInt64 = 12345
            var next: UInt64 = 0
            var batch = [UInt64](repeating: 0, count: 97)
            while next < UInt64(messages) {
                rng = rng &* 6_364_136_223_846_793_005 &+ 1
                let n = min(Int(rng >> 58) + 1, messages - Int(next))  // 1...64
                for i in 0..<n { batch[i] = next + UInt64(i) }
                batch.withUnsafeBufferPointer { ring.publish(UnsafeBufferPointer(rebasing: $0[0..<n])) }
                next += UInt64(n)
            }
            done.signal()
        }
        producer.start()
        var expected: UInt64 = 0
        var out = [UInt64](repeating: 0, count: 50)
        var errors = 0
        while expected < UInt64(messages) {
            let n = out.withUnsafeMutableBufferPointer { ring.take(into: $0) }
            for i in 0..<n {
                if out[i] != expected { errors += 1 }
                expected = out[i] + 1
            }
        }
        done.wait()
        XCTAssertEqual(errors, 0, "messages out of order or lost", file: file, line: line)
        XCTAssertEqual(expected, UInt64(messages), file: file, line: line)
        XCTAssertEqual(ring.count, 0, file: file, line: line)
    }

    func testStressSpinThenYield() { stress(.standard, messages: 2_000_000, capacity: 64) }
    func testStressBusySpin() { stress(.busySpin, messages: 1_000_000, capacity: 1024) }
    func testStressBlocking() { stress(.blocking, messages: 300_000, capacity: 16) }
}
