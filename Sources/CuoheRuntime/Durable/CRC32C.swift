import CuoheSys

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every journal record.
/// With the CPU's CRC32 instruction (SSE 4.2) when it has one, eight bytes a step; otherwise
/// slicing-by-8 over eight 256-entry tables, about 1 byte per cycle. Tests check the two agree.
public enum CRC32C {
    static let hardware = cuohe_crc32c_hardware() != 0

    /// The CRC-32C of `bytes`, continuing from `crc` (0 to start).
    @inline(__always)
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        if hardware, let base = bytes.baseAddress { return cuohe_crc32c(crc, base, bytes.count) }
        return software(bytes, continuing: crc)
    }

    static let polynomial: UInt32 = 0x82F6_3B78

    /// tables[k][b]: the CRC of byte b followed by k zero bytes.
    static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for b in 0..<256 {
            var crc = UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ polynomial : crc >> 1 }
            t[0][b] = crc
        }
        for k in 1..<8 {
            for b in 0..<256 { t[k][b] = (t[k - 1][b] >> 8) ^ t[0][Int(t[k - 1][b] & 0xFF)] }
        }
        return t
    }()

    /// The table-driven CRC-32C (any CPU).
    static func software(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        var i = 0
        let n = bytes.count
        tables.withUnsafeBufferPointer { t in
            let t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7]
            while i + 8 <= n {
                let lo = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
                    | UInt32(bytes[i + 3]) << 24
                let x = c ^ lo
                c = t7[Int(x & 0xFF)] ^ t6[Int((x >> 8) & 0xFF)] ^ t5[Int((x >> 16) & 0xFF)] ^ t4[Int(x >> 24)]
                    ^ t3[Int(bytes[i + 4])] ^ t2[Int(bytes[i + 5])] ^ t1[Int(bytes[i + 6])] ^ t0[Int(bytes[i + 7])]
                i += 8
            }
            while i < n {
                c = (c >> 8) ^ t0[Int((c ^ UInt32(bytes[i])) & 0xFF)]
                i += 1
            }
        }
        return ~c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
