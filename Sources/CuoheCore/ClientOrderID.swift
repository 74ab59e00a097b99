/// A broker's client order id (`cid`): 1 to 32 bytes of `[A-Za-z0-9_.-]`, held inline as four
/// words so that commands and events stay fixed-size and the matcher never touches a `String`.
///
/// Unused bytes are zero; since no valid byte is zero, the padding is unambiguous.
public struct ClientOrderID: Sendable, Hashable, BitwiseCopyable {
    public static let lengthMax = 32

    public var w0: UInt64
    public var w1: UInt64
    public var w2: UInt64
    public var w3: UInt64

    public static let none = ClientOrderID(w0: 0, w1: 0, w2: 0, w3: 0)

    @inlinable public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// True for a byte allowed in a cid.
    @inlinable public static func isValidByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
            || b == 95 || b == 46 || b == 45
    }

    /// Packs the bytes in `buffer` (no generic collection in between); nil as `init?(bytes:)`.
    @inlinable
    public init?(buffer: UnsafeBufferPointer<UInt8>) {
        guard let packed = ClientOrderID.pack(buffer) else { return nil }
        self = packed
    }

    /// Packs the bytes; nil if the length or any byte is not allowed. Inlinable, so it is
    /// specialized where the edges call it on their byte slices (a generic call costs ~300
    /// instructions a byte).
    @inlinable
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        if let packed = bytes.withContiguousStorageIfAvailable({ ClientOrderID.pack($0) }) {
            guard let packed else { return nil }
            self = packed
            return
        }
        guard let packed = Array(bytes).withUnsafeBufferPointer({ ClientOrderID.pack($0) }) else { return nil }
        self = packed
    }

    @inlinable
    static func pack(_ bytes: UnsafeBufferPointer<UInt8>) -> ClientOrderID? {
        let n = bytes.count
        guard n >= 1, n <= ClientOrderID.lengthMax, let start = bytes.baseAddress else { return nil }
        // The words are the bytes in order, little-endian, zero past the end: copied as a block,
        // then checked a word at a time (the zeros past the end are not checked).
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.baseAddress!.copyMemory(from: start, byteCount: n) }
        let id = ClientOrderID(w0: UInt64(littleEndian: words.0), w1: UInt64(littleEndian: words.1),
                               w2: UInt64(littleEndian: words.2), w3: UInt64(littleEndian: words.3))
        return isValid(id, count: n) ? id : nil
    }

    /// Packs the `count` bytes at `p`, as `pack(_:)` does, where `readable` bytes from `p` may be
    /// read (a field inside a line: the rest of the line). With room for whole words it loads
    /// them straight from the line and masks off what follows the value, with no copy.
    @inlinable
    public static func pack(_ p: UnsafePointer<UInt8>, count n: Int, readable: Int) -> ClientOrderID? {
        guard n >= 1, n <= ClientOrderID.lengthMax else { return nil }
        guard readable >= (n &+ 7) & ~7 else { return pack(UnsafeBufferPointer(start: p, count: n)) }
        @inline(__always) func word(_ k: Int) -> UInt64 {
            let left = n &- 8 &* k
            if left <= 0 { return 0 }
            let w = ByteWords.load(p + 8 &* k)
            return left >= 8 ? w : w & ByteWords.first(left)
        }
        let id = ClientOrderID(w0: word(0), w1: word(1), w2: word(2), w3: word(3))
        return isValid(id, count: n) ? id : nil
    }

    /// True if the first `n` bytes of the packed words are all cid bytes (the zeros past them are
    /// not checked).
    @inlinable @inline(__always)
    static func isValid(_ id: ClientOrderID, count n: Int) -> Bool {
        wordIsValid(id.w0, bytes: n) && (n <= 8 || wordIsValid(id.w1, bytes: n - 8))
            && (n <= 16 || wordIsValid(id.w2, bytes: n - 16)) && (n <= 24 || wordIsValid(id.w3, bytes: n - 24))
    }

    /// True if the word's first `bytes` bytes (all eight from 8 up) are cid bytes.
    @inlinable @inline(__always)
    static func wordIsValid(_ word: UInt64, bytes: Int) -> Bool {
        ByteWords.all(ByteWords.cidBytes(word), in: bytes >= 8 ? ~UInt64(0) : ByteWords.first(bytes))
    }

    public init?(_ text: String) { self.init(bytes: text.utf8) }

    @inlinable public var isNone: Bool { w0 == 0 }

    /// The cid's bytes, in order.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ClientOrderID.lengthMax)
        for word in [w0, w1, w2, w3] {
            var w = word
            for _ in 0..<8 {
                let b = UInt8(truncatingIfNeeded: w)
                if b == 0 { return out }
                out.append(b)
                w >>= 8
            }
        }
        return out
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// A well-mixed 64-bit hash, cheap enough for the matching path.
    @inlinable public func hash64(salt: UInt64) -> UInt64 {
        var h = salt &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ w0) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 31) ^ w1) &* 0x94D0_49BB_1331_11EB
        h = (h ^ (h >> 29) ^ w2) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 32) ^ w3) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }
}
