import XCTest
@testable import CuoheCore

/// The word-at-a-time tests against the byte-at-a-time truth: every byte value at every place in
/// the word, among random neighbours, and random words.
final class ByteWordsTests: XCTestCase {
    /// The index of the first byte of `word` for which `test` holds, or 8.
    func firstByte(_ word: UInt64, _ test: (UInt8) -> Bool) -> Int {
        for k in 0..<8 where test(UInt8(truncatingIfNeeded: word >> UInt64(8 * k))) { return k }
        return 8
    }

    func lowest(_ mask: UInt64) -> Int { mask == 0 ? 8 : mask.trailingZeroBitCount >> 3 }

    func words() -> [UInt64] {
        var g = SystemRandomNumberGenerator()
        var out: [UInt64] = []
        for place in 0..<8 {
            for b in 0...255 {
                for _ in 0..<4 {
                    var w = UInt64.random(in: .min ... .max, using: &g)
                    w &= ~(UInt64(0xFF) << UInt64(8 * place))
                    w |= UInt64(b) << UInt64(8 * place)
                    out.append(w)
                }
            }
        }
        for _ in 0..<20_000 { out.append(UInt64.random(in: .min ... .max, using: &g)) }
        // Printable text words, the parser's usual input.
        for _ in 0..<20_000 {
            var w: UInt64 = 0
            for k in 0..<8 { w |= UInt64(UInt8.random(in: 0x20...0x7E, using: &g)) << UInt64(8 * k) }
            out.append(w)
        }
        return out
    }

    func testTheFirstPassingByteIsFoundExactly() {
        for w in words() {
            XCTAssertEqual(lowest(ByteWords.zeros(w)), firstByte(w) { $0 == 0 })
            XCTAssertEqual(lowest(ByteWords.equal(w, 0x20)), firstByte(w) { $0 == 0x20 })
            XCTAssertEqual(lowest(ByteWords.equal(w, 0x3D)), firstByte(w) { $0 == 0x3D })
            XCTAssertEqual(lowest(ByteWords.unprintable(w)), firstByte(w) { $0 < 0x20 || $0 >= 0x7F }, "\(w)")
            let stops = ByteWords.equal(w, 0x20) | ByteWords.equal(w, 0x3D) | ByteWords.unprintable(w)
            XCTAssertEqual(lowest(stops), firstByte(w) { $0 == 0x20 || $0 == 0x3D || $0 < 0x20 || $0 >= 0x7F })
        }
    }

    func testRangesAndCidBytesAreExactInEveryByte() {
        for w in words() {
            let lower = ByteWords.inRange(w, 97, 122)
            let cid = ByteWords.cidBytes(w)
            for k in 0..<8 {
                let b = UInt8(truncatingIfNeeded: w >> UInt64(8 * k))
                let bit = UInt64(0x80) << UInt64(8 * k)
                XCTAssertEqual(lower & bit != 0, b >= 97 && b <= 122)
                XCTAssertEqual(cid & bit != 0, ClientOrderID.isValidByte(b), "byte \(b)")
            }
        }
    }

    func testPackingChecksEveryByteOfEveryLength() {
        var g = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.-".utf8)
        for n in 0...(ClientOrderID.lengthMax + 1) {
            for _ in 0..<200 {
                var bytes = (0..<n).map { _ in alphabet.randomElement(using: &g)! }
                let packed = ClientOrderID(bytes: bytes)
                if n == 0 || n > ClientOrderID.lengthMax {
                    XCTAssertNil(packed)
                    continue
                }
                XCTAssertEqual(packed?.bytes, bytes)
                // One bad byte anywhere is refused.
                let at = Int.random(in: 0..<n, using: &g)
                bytes[at] = [0, 0x20, 0x2F, 0x3A, 0x40, 0x5B, 0x60, 0x7B, 0x7F, 0x80, 0xAD, 0xFF, 0x2C, 0x3D].randomElement(using: &g)!
                XCTAssertNil(ClientOrderID(bytes: bytes), "\(bytes)")
            }
        }
    }
}
