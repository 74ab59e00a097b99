import CuoheCore

/// The journal's record format, fixed and little-endian, written field by field (never a raw
/// struct dump: padding bytes would make equal commands differ on disk).
///
///     u32 bodyLength (= JournalRecord.bodyBytes)
///     u32 crc32c(body)
///     body: u64 seq, u8 kind, u8 side, u8 type, u8 tif, u8 phase, 3 × u8 zero,
///           i32 broker, i32 account, i32 instrument, i32 date, i64 ts, i64 qty, i64 price,
///           4 × u64 cid, 4 × u64 newCid
public enum JournalRecord {
    public static let headerBytes = 8
    public static let bodyBytes = 8 + 8 + 16 + 24 + 32 + 32
    public static let recordBytes = headerBytes + bodyBytes

    /// Appends one record for `command` with sequence number `seq`.
    public static func append(_ command: Command, seq: UInt64, to out: inout [UInt8]) {
        let start = out.count
        out.reserveCapacity(start + recordBytes)
        put32(UInt32(bodyBytes), &out)
        put32(0, &out)  // the checksum, filled in below
        put64(seq, &out)
        out.append(command.kind.rawValue)
        out.append(command.side.rawValue)
        out.append(command.type.rawValue)
        out.append(command.tif.rawValue)
        out.append(command.phase.rawValue)
        out.append(contentsOf: [0, 0, 0])
        put32(UInt32(bitPattern: command.broker), &out)
        put32(UInt32(bitPattern: command.account), &out)
        put32(UInt32(bitPattern: command.instrument), &out)
        put32(UInt32(bitPattern: command.date.daysSinceEpoch), &out)
        put64(UInt64(bitPattern: command.ts), &out)
        put64(UInt64(bitPattern: command.qty), &out)
        put64(UInt64(bitPattern: command.price), &out)
        for w in [command.cid.w0, command.cid.w1, command.cid.w2, command.cid.w3,
                  command.newCid.w0, command.newCid.w1, command.newCid.w2, command.newCid.w3] { put64(w, &out) }
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + headerBytes)...])) }
        for i in 0..<4 { out[start + 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
    }

    /// Why a record could not be read.
    public enum Problem: Error, Equatable, Sendable {
        /// Fewer bytes than a whole record: a write cut short.
        case incomplete
        case badLength(UInt32)
        case badChecksum
        /// The bytes are whole and checksummed but do not decode to a command.
        case badContent
    }

    /// Decodes the record at `offset`; the checksum is verified before anything is decoded.
    public static func read(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Result<(UInt64, Command), Problem> {
        if bytes.count - offset < headerBytes { return .failure(.incomplete) }
        let length = get32(bytes, offset)
        if length != UInt32(bodyBytes) { return .failure(.badLength(length)) }
        if bytes.count - offset < recordBytes { return .failure(.incomplete) }
        let body = UnsafeRawBufferPointer(rebasing: bytes[(offset + headerBytes)..<(offset + recordBytes)])
        if CRC32C.checksum(body) != get32(bytes, offset + 4) { return .failure(.badChecksum) }
        let b = offset + headerBytes
        let seq = get64(bytes, b)
        guard let kind = CommandKind(rawValue: bytes[b + 8]), let side = Side(rawValue: bytes[b + 9]),
              let type = OrderType(rawValue: bytes[b + 10]), let tif = TimeInForce(rawValue: bytes[b + 11]),
              let phase = TradingPhase(rawValue: bytes[b + 12]) else { return .failure(.badContent) }
        var c = Command(kind: kind, broker: Int32(bitPattern: get32(bytes, b + 16)), ts: 0)
        c.side = side
        c.type = type
        c.tif = tif
        c.phase = phase
        c.account = Int32(bitPattern: get32(bytes, b + 20))
        c.instrument = Int32(bitPattern: get32(bytes, b + 24))
        c.date = CivilDate(daysSinceEpoch: Int32(bitPattern: get32(bytes, b + 28)))
        c.ts = Int64(bitPattern: get64(bytes, b + 32))
        c.qty = Int64(bitPattern: get64(bytes, b + 40))
        c.price = Int64(bitPattern: get64(bytes, b + 48))
        c.cid = ClientOrderID(w0: get64(bytes, b + 56), w1: get64(bytes, b + 64), w2: get64(bytes, b + 72),
                              w3: get64(bytes, b + 80))
        c.newCid = ClientOrderID(w0: get64(bytes, b + 88), w1: get64(bytes, b + 96), w2: get64(bytes, b + 104),
                                 w3: get64(bytes, b + 112))
        return .success((seq, c))
    }

    static func put32(_ v: UInt32, _ out: inout [UInt8]) {
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }

    static func put64(_ v: UInt64, _ out: inout [UInt8]) {
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    static func get32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(b[at + i]) << (8 * UInt32(i)) }
        return v
    }

    static func get64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
        return v
    }
}
