/// Eight bytes at a time in one `UInt64` (little-endian: the first byte lowest): the text edge's
/// scans and checks, a word per step instead of a byte.
///
/// Each test returns the high bit of every byte that passes it. The zero and below tests may also
/// set bits above the first byte that truly passes (a borrow runs on), never below it, so only the
/// lowest set bit, `trailingZeroBitCount / 8`, is to be read; ORed tests keep that property. The
/// range test is exact in every byte.
public enum ByteWords {
    // Computed, not stored: a stored `static let` is reached through a lazy-initialisation check
    // where another module inlines these.
    @inlinable public static var ones: UInt64 { 0x0101_0101_0101_0101 }
    @inlinable public static var highs: UInt64 { 0x8080_8080_8080_8080 }
    @inlinable public static var lows: UInt64 { 0x7F7F_7F7F_7F7F_7F7F }

    /// The eight bytes at `p` as a word (all eight must be readable).
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    }

    /// A mask of the first `n` (0...7) bytes.
    @inlinable @inline(__always)
    public static func first(_ n: Int) -> UInt64 { (UInt64(1) &<< UInt64(8 &* n)) &- 1 }

    /// Bytes that are zero.
    @inlinable @inline(__always)
    public static func zeros(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }

    /// Bytes equal to `b`.
    @inlinable @inline(__always)
    public static func equal(_ x: UInt64, _ b: UInt8) -> UInt64 { zeros(x ^ (ones &* UInt64(b))) }

    /// Bytes outside printable ASCII: below 0x20 (controls) or from 0x7F (DEL and every byte past
    /// ASCII).
    @inlinable @inline(__always)
    public static func unprintable(_ x: UInt64) -> UInt64 {
        (((x &- ones &* 0x20) & ~x) | (x &+ ones) | x) & highs
    }

    /// Bytes in `lo...hi` (both below 0x80), exactly: the high bits are cleared first, so no
    /// sum carries into the next byte, and bytes from 0x80 are left out.
    @inlinable @inline(__always)
    public static func inRange(_ x: UInt64, _ lo: UInt8, _ hi: UInt8) -> UInt64 {
        let low = x & lows
        let atLeastLo = low &+ ones &* UInt64(0x80 &- lo)
        let aboveHi = low &+ ones &* UInt64(0x7F &- hi)
        return atLeastLo & ~aboveHi & ~x & highs
    }

    /// Bytes a cid allows: `[0-9A-Za-z_.-]` (`-` and `.` are neighbours, 0x2D and 0x2E). Setting
    /// bit 5 folds the capitals onto the small letters (and no other byte into them), so one range
    /// test covers both.
    @inlinable @inline(__always)
    public static func cidBytes(_ x: UInt64) -> UInt64 {
        inRange(x, 0x30, 0x39) | inRange(x | ones &* 0x20, 0x61, 0x7A) | inRange(x, 0x5F, 0x5F) | inRange(x, 0x2D, 0x2E)
    }

    /// True if every one of the bytes in `mask` (whole bytes) has its high bit in `passed`.
    @inlinable @inline(__always)
    public static func all(_ passed: UInt64, in mask: UInt64) -> Bool {
        passed & mask & highs == mask & highs
    }
}
