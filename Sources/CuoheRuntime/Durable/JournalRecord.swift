import CuoheCore

/// The journal's record format, fixed and little-endian, written field by field (never a raw
/// struct dump: padding bytes would make equal commands differ on disk).
///
///     u32 bodyLength (= JournalRecord.bodyBytes)
///     u32 crc32c(body)
///     body: u64 seq, u8 kind, u8 side, u8 type, u8 tif, u8 phase, 3 × u8 zero,
///           i32 broker, i32 account, i32 instrument, i32 date, i64 ts, i64 qty, i64 price,
///           4 × u64 cid, 4 × u64 newCid
///
/// The negotiated verbs' fields use the slots of fields they lack (`Command.ref` is `newCid`,
/// `counterBroker` is `date`, `quoteOid` is `price`), so the layout is the same for every verb.
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
        p.storeLittleEndian(UInt32(bodyBytes), at: 0)
        let b = headerBytes
        p.storeLittleEndian(seq, at: b)
        p.storeBytes(of: command.kind.rawValue, toByteOffset: b + 8, as: UInt8.self)
        p.storeBytes(of: command.side.rawValue, toByteOffset: b + 9, as: UInt8.self)
        p.storeBytes(of: command.type.rawValue, toByteOffset: b + 10, as: UInt8.self)
        p.storeBytes(of: command.tif.rawValue, toByteOffset: b + 11, as: UInt8.self)
        p.storeBytes(of: command.phase.rawValue, toByteOffset: b + 12, as: UInt8.self)
        p.storeLittleEndian(command.broker, at: b + 16)
        p.storeLittleEndian(command.account, at: b + 20)
        p.storeLittleEndian(command.instrument, at: b + 24)
        p.storeLittleEndian(command.date.daysSinceEpoch, at: b + 28)
        p.storeLittleEndian(command.ts, at: b + 32)
        p.storeLittleEndian(command.qty, at: b + 40)
        p.storeLittleEndian(command.price, at: b + 48)
        p.storeLittleEndian(command.cid.w0, at: b + 56)
        p.storeLittleEndian(command.cid.w1, at: b + 64)
        p.storeLittleEndian(command.cid.w2, at: b + 72)
        p.storeLittleEndian(command.cid.w3, at: b + 80)
        p.storeLittleEndian(command.newCid.w0, at: b + 88)
        p.storeLittleEndian(command.newCid.w1, at: b + 96)
        p.storeLittleEndian(command.newCid.w2, at: b + 104)
        p.storeLittleEndian(command.newCid.w3, at: b + 112)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p + b, count: bodyBytes))
        p.storeLittleEndian(crc, at: 4)
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
        let length = bytes.littleEndian(at: offset, as: UInt32.self)
        if length != UInt32(bodyBytes) { return .failure(.badLength(length)) }
        if bytes.count - offset < recordBytes { return .failure(.incomplete) }
        let body = UnsafeRawBufferPointer(rebasing: bytes[(offset + headerBytes)..<(offset + recordBytes)])
        if CRC32C.checksum(body) != bytes.littleEndian(at: offset + 4, as: UInt32.self) { return .failure(.badChecksum) }
        let b = offset + headerBytes
        let seq = bytes.littleEndian(at: b, as: UInt64.self)
        guard let kind = CommandKind(rawValue: bytes[b + 8]), let side = Side(rawValue: bytes[b + 9]),
              let type = OrderType(rawValue: bytes[b + 10]), let tif = TimeInForce(rawValue: bytes[b + 11]),
              let phase = TradingPhase(rawValue: bytes[b + 12]) else { return .failure(.badContent) }
        var c = Command(kind: kind, broker: Int32(bitPattern: bytes.littleEndian(at: b + 16, as: UInt32.self)), ts: 0)
        c.side = side
        c.type = type
        c.tif = tif
        c.phase = phase
        c.account = Int32(bitPattern: bytes.littleEndian(at: b + 20, as: UInt32.self))
        c.instrument = Int32(bitPattern: bytes.littleEndian(at: b + 24, as: UInt32.self))
        c.date = CivilDate(daysSinceEpoch: Int32(bitPattern: bytes.littleEndian(at: b + 28, as: UInt32.self)))
        c.ts = Int64(bitPattern: bytes.littleEndian(at: b + 32, as: UInt64.self))
        c.qty = Int64(bitPattern: bytes.littleEndian(at: b + 40, as: UInt64.self))
        c.price = Int64(bitPattern: bytes.littleEndian(at: b + 48, as: UInt64.self))
        c.cid = ClientOrderID(w0: bytes.littleEndian(at: b + 56, as: UInt64.self), w1: bytes.littleEndian(at: b + 64, as: UInt64.self), w2: bytes.littleEndian(at: b + 72, as: UInt64.self),
                              w3: bytes.littleEndian(at: b + 80, as: UInt64.self))
        c.newCid = ClientOrderID(w0: bytes.littleEndian(at: b + 88, as: UInt64.self), w1: bytes.littleEndian(at: b + 96, as: UInt64.self), w2: bytes.littleEndian(at: b + 104, as: UInt64.self),
                                 w3: bytes.littleEndian(at: b + 112, as: UInt64.self))
        // Only values the edge can sequence: a record that checks out but holds others was not
        // written by the engine, and replaying it could take the core outside its bounds.
        guard isSequenceable(c) else { return .failure(.badContent) }
        return .success((seq, c))
    }

    /// True if `c` holds only values the edge can give a command: a broker id, account and
    /// (or the schedule's, on a `PHASE`), account and instrument ids or -1 (unknown), a trading date and a timestamp within the engine's range,
    /// quantities and prices in range or `Command.absent`/`invalid`.
    static func isSequenceable(_ c: Command) -> Bool {
        (c.broker >= 0 || (c.broker == Command.scheduleBroker && c.kind == .phase)) && c.account >= -1 && c.instrument >= -1
            // A CROSS keeps its counterparty broker (-1: not configured) where a ROLL keeps its date.
            && (c.kind == .cross ? c.counterBroker >= -1
                : c.date.daysSinceEpoch >= 0 && c.date <= CivilDate.lastTradingDate)
            && c.ts >= 0 && c.ts <= CivilDate.lastTimestamp
            && c.qty >= Command.invalid && c.qty <= Bounds.quantityMax && c.price >= Command.invalid
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
        out.appendLittleEndian(segment)
        out.appendLittleEndian(digest)
        out.appendLittleEndian(UInt32(0))
        out.appendLittleEndian(out.withUnsafeBytes { CRC32C.checksum($0) })
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
        if bytes.littleEndian(at: 28, as: UInt32.self) != crc { return .failure(.badChecksum) }
        return .success((bytes.littleEndian(at: 8, as: UInt64.self), bytes.littleEndian(at: 16, as: UInt64.self)))
    }
}
