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
        out.append(contentsOf: repeatElement(0, count: recordBytes))
        out.withUnsafeMutableBytes { encode(command, seq: seq, into: $0.baseAddress! + start) }
    }

    /// Writes one record for `command` with sequence number `seq` into the `recordBytes` at `p`
    /// (whose padding bytes must already be zero).
    @inline(__always)
    public static func encode(_ command: Command, seq: UInt64, into p: UnsafeMutableRawPointer) {
        p.storeBytes(of: UInt32(bodyBytes).littleEndian, toByteOffset: 0, as: UInt32.self)
        let b = headerBytes
        p.storeBytes(of: seq.littleEndian, toByteOffset: b, as: UInt64.self)
        p.storeBytes(of: command.kind.rawValue, toByteOffset: b + 8, as: UInt8.self)
        p.storeBytes(of: command.side.rawValue, toByteOffset: b + 9, as: UInt8.self)
        p.storeBytes(of: command.type.rawValue, toByteOffset: b + 10, as: UInt8.self)
        p.storeBytes(of: command.tif.rawValue, toByteOffset: b + 11, as: UInt8.self)
        p.storeBytes(of: command.phase.rawValue, toByteOffset: b + 12, as: UInt8.self)
        p.storeBytes(of: command.broker.littleEndian, toByteOffset: b + 16, as: Int32.self)
        p.storeBytes(of: command.account.littleEndian, toByteOffset: b + 20, as: Int32.self)
        p.storeBytes(of: command.instrument.littleEndian, toByteOffset: b + 24, as: Int32.self)
        p.storeBytes(of: command.date.daysSinceEpoch.littleEndian, toByteOffset: b + 28, as: Int32.self)
        p.storeBytes(of: command.ts.littleEndian, toByteOffset: b + 32, as: Int64.self)
        p.storeBytes(of: command.qty.littleEndian, toByteOffset: b + 40, as: Int64.self)
        p.storeBytes(of: command.price.littleEndian, toByteOffset: b + 48, as: Int64.self)
        p.storeBytes(of: command.cid.w0.littleEndian, toByteOffset: b + 56, as: UInt64.self)
        p.storeBytes(of: command.cid.w1.littleEndian, toByteOffset: b + 64, as: UInt64.self)
        p.storeBytes(of: command.cid.w2.littleEndian, toByteOffset: b + 72, as: UInt64.self)
        p.storeBytes(of: command.cid.w3.littleEndian, toByteOffset: b + 80, as: UInt64.self)
        p.storeBytes(of: command.newCid.w0.littleEndian, toByteOffset: b + 88, as: UInt64.self)
        p.storeBytes(of: command.newCid.w1.littleEndian, toByteOffset: b + 96, as: UInt64.self)
        p.storeBytes(of: command.newCid.w2.littleEndian, toByteOffset: b + 104, as: UInt64.self)
        p.storeBytes(of: command.newCid.w3.littleEndian, toByteOffset: b + 112, as: UInt64.self)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p + b, count: bodyBytes))
        p.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    /// Why a record could not be read.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        /// Fewer bytes than a whole record: a write cut short.
        case incomplete
        case badLength(UInt32)
        case badChecksum
        /// The bytes are whole and checksummed but do not decode to a command.
        case badContent

        public var description: String {
            switch self {
            case .incomplete: "incomplete record"
            case .badLength(let l): "bad record length \(l)"
            case .badChecksum: "checksum mismatch"
            case .badContent: "record does not decode"
            }
        }
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
        // Only values the edge can sequence: a record that checks out but holds others was not
        // written by the engine, and replaying it could take the core outside its bounds.
        guard isSequenceable(c) else { return .failure(.badContent) }
        return .success((seq, c))
    }

    /// True if `c` holds only values the edge can give a command: a broker id, account and
    /// instrument ids or -1 (unknown), a trading date and a timestamp within the engine's range,
    /// quantities and prices in range or `Command.absent`/`invalid`.
    static func isSequenceable(_ c: Command) -> Bool {
        c.broker >= 0 && c.account >= -1 && c.instrument >= -1
            && c.date.daysSinceEpoch >= 0 && c.date <= CivilDate.lastTradingDate
            && c.ts >= 0 && c.ts <= CivilDate.lastTimestamp
            && c.qty >= Command.invalid && c.qty <= Bounds.quantityMax && c.price >= Command.invalid
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

/// The header at the start of every journal segment: which segment it is and which market it
/// was written for, so a segment renamed, copied from another data directory, or replayed over a
/// `market.json` changed in place is refused before any record is read.
///
///     "CUOHEJN2", u64 segment number, u64 market digest (`DataDirectory.configDigest` of the
///     market.json bytes), u32 zero, u32 CRC-32C of the 28 bytes before it
public enum JournalSegmentHeader {
    public static let magic: [UInt8] = Array("CUOHEJN2".utf8)
    public static let bytes = 32

    /// The header of segment `segment` for the market with `digest`.
    public static func encode(segment: UInt64, digest: UInt64) -> [UInt8] {
        var out = magic
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: segment >> (8 * UInt64(i)))) }
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: digest >> (8 * UInt64(i)))) }
        out += [0, 0, 0, 0]
        let crc = out.withUnsafeBytes { CRC32C.checksum($0) }
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i)))) }
        return out
    }

    /// Why a header could not be read.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        /// Fewer bytes than a header: a segment whose creation a crash cut short.
        case incomplete
        /// Not a segment of this journal format.
        case badMagic
        case badChecksum

        public var description: String {
            switch self {
            case .incomplete: "incomplete segment header"
            case .badMagic: "not a journal segment (no CUOHEJN2 header)"
            case .badChecksum: "segment header checksum mismatch"
            }
        }
    }

    /// The segment number and market digest in `bytes`' header.
    public static func read(_ bytes: UnsafeRawBufferPointer) -> Result<(segment: UInt64, digest: UInt64), Problem> {
        if bytes.count < self.bytes { return .failure(.incomplete) }
        if !bytes[0..<8].elementsEqual(magic) { return .failure(.badMagic) }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28]))
        if JournalRecord.get32(bytes, 28) != crc { return .failure(.badChecksum) }
        return .success((JournalRecord.get64(bytes, 8), JournalRecord.get64(bytes, 16)))
    }
}
