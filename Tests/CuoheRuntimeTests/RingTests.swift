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

    /// Reading in place: what `read` shows is the ring's own slots, up to the end of the storage,
    /// held until released (the producer finds no room over them), then free again.
    func testReadingInPlaceHoldsTheSlotsUntilReleased() {
        let ring = Ring<UInt64>(minimumCapacity: 8)
        for i in 0..<6 { XCTAssertTrue(ring.offer(UInt64(i))) }
        let first = ring.read(max: 4)
        XCTAssertEqual(Array(first), [0, 1, 2, 3])
        XCTAssertEqual(ring.count, 6, "read takes nothing until it is released")
        ring.release(4)
        XCTAssertEqual(ring.count, 2)
        for i in 6..<12 { XCTAssertTrue(ring.offer(UInt64(i))) }
        XCTAssertFalse(ring.offer(99), "full: 8 published, none released since")
        // Slots 4…7 lie before the end of the storage, 8…11 after the wrap: two reads.
        let beforeWrap = ring.read(max: 100)
        XCTAssertEqual(Array(beforeWrap), [4, 5, 6, 7])
        ring.release(2)
        XCTAssertTrue(ring.offer(12), "two slots given back")
        XCTAssertTrue(ring.offer(13))
        XCTAssertFalse(ring.offer(99))
        let rest = ring.read(max: 100)
        XCTAssertEqual(Array(rest), [6, 7], "the two not released are read again")
        ring.release(2)
        XCTAssertEqual(Array(ring.read(max: 3)), [8, 9, 10])
        ring.release(3)
        XCTAssertEqual(Array(ring.read(max: 100)), [11, 12, 13])
        ring.release(3)
        XCTAssertEqual(ring.count, 0)
    }

    /// Writing in place: a reservation is the ring's own free slots, up to the end of the storage;
    /// nothing in it is seen until committed, and what is committed arrives in order.
    func testWritingInPlaceIsSeenOnlyOnceCommitted() {
        let ring = Ring<UInt64>(minimumCapacity: 8)
        let first = ring.reserve(max: 5)
        XCTAssertEqual(first.count, 5)
        for i in 0..<5 { first[i] = UInt64(10 + i) }
        XCTAssertEqual(ring.count, 0, "written, not yet committed")
        ring.commit(3)
        XCTAssertEqual(ring.count, 3)
        // The two written past the commit are not published; a new reservation starts there.
        let second = ring.reserve(max: 100)
        XCTAssertEqual(second.count, 5, "slots 3…7, up to the end of the storage")
        second[0] = 13
        ring.commit(1)
        XCTAssertEqual(Array(ring.read(max: 100)), [10, 11, 12, 13])
        ring.release(4)
        let wrapped = ring.reserve(max: 100)
        XCTAssertEqual(wrapped.count, 4, "slots 4…7 before the wrap")
        for i in 0..<4 { wrapped[i] = UInt64(14 + i) }
        ring.commit(4)
        let after = ring.reserve(max: 100)
        XCTAssertEqual(after.count, 4, "slots 0…3 after the wrap, freed by the release")
        for i in 0..<4 { after[i] = UInt64(18 + i) }
        ring.commit(4)
        XCTAssertFalse(ring.offer(99), "full")
        XCTAssertEqual(Array(ring.read(max: 100)), [14, 15, 16, 17])
        ring.release(4)
        XCTAssertEqual(Array(ring.read(max: 100)), [18, 19, 20, 21])
        ring.release(4)
    }

    /// Both sides in place: the producer reserving and committing in pieces, the consumer reading
    /// and releasing; every message once, in order.
    func testStressBothSidesInPlace() {
        let ring = Ring<UInt64>(minimumCapacity: 32, wait: .standard)
        let messages = 1_000_000
        let done = DispatchSemaphore(value: 0)
        let producer = Thread {
            var next: UInt64 = 0
            while next < UInt64(messages) {
                let slots = ring.reserve(max: Int(next % 23) + 1)
                let n = min(slots.count, messages - Int(next))
                for i in 0..<n { slots[i] = next + UInt64(i) }
                ring.commit(n)
                next += UInt64(n)
            }
            done.signal()
        }
        producer.start()
        var expected: UInt64 = 0
        var errors = 0
        while expected < UInt64(messages) {
            let view = ring.read(max: 17)
            for v in view {
                if v != expected { errors += 1 }
                expected = v + 1
            }
            ring.release(view.count)
        }
        done.wait()
        XCTAssertEqual(errors, 0)
        XCTAssertEqual(expected, UInt64(messages))
    }

    /// The stress test of `stress`, the consumer reading in place and releasing in pieces.
    func stressInPlace(_ wait: WaitStrategy, messages: Int, capacity: Int) {
        let ring = Ring<UInt64>(minimumCapacity: capacity, wait: wait)
        let done = DispatchSemaphore(value: 0)
        let producer = Thread {
            var next: UInt64 = 0
            var batch = [UInt64](repeating: 0, count: 64)
            while next < UInt64(messages) {
                let n = min(Int(next % 61) + 1, messages - Int(next))
                for i in 0..<n { batch[i] = next + UInt64(i) }
                batch.withUnsafeBufferPointer { ring.publish(UnsafeBufferPointer(rebasing: $0[0..<n])) }
                next += UInt64(n)
            }
            done.signal()
        }
        producer.start()
        var expected: UInt64 = 0
        var errors = 0
        var round = 0
        while expected < UInt64(messages) {
            round += 1
            let view = ring.read(max: 1 + round % 40)
            // Release all, or keep the last one back for the next read (which must show it again).
            let keep = round % 3 == 0 && view.count > 1 ? 1 : 0
            for i in 0..<(view.count - keep) {
                if view[i] != expected { errors += 1 }
                expected = view[i] + 1
            }
            ring.release(view.count - keep)
        }
        done.wait()
        XCTAssertEqual(errors, 0, "messages out of order or lost")
        XCTAssertEqual(expected, UInt64(messages))
        XCTAssertEqual(ring.count, 0)
    }

    func testStressInPlaceSpinThenYield() { stressInPlace(.standard, messages: 1_000_000, capacity: 64) }
    func testStressInPlaceBlocking() { stressInPlace(.blocking, messages: 300_000, capacity: 16) }

    func testStressSpinThenYield() { stress(.standard, messages: 2_000_000, capacity: 64) }
    func testStressBusySpin() { stress(.busySpin, messages: 1_000_000, capacity: 1024) }
    func testStressBlocking() { stress(.blocking, messages: 300_000, capacity: 16) }
}
