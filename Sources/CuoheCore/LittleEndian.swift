/// Little-endian integers in bytes: the one encoding every file format of the engine uses (the
/// journal's records and segment headers, snapshots, the trade log), written field by field so no
/// padding byte ever reaches a disk. Inlinable so that callers in other modules get a specialised
/// store rather than a generic call per field (the journal's append path writes a dozen per record).
extension UnsafeRawBufferPointer {
    /// The little-endian integer at `offset` (any alignment).
    @inlinable @inline(__always)
    public func littleEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawPointer {
    /// Stores `value` little-endian at `offset` (any alignment).
    @inlinable @inline(__always)
    public func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}

extension Array where Element == UInt8 {
    /// Appends `value` little-endian.
    @inlinable @inline(__always)
    public mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// The little-endian integer at `offset`; the caller checked the bounds.
    @inlinable
    public func littleEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) -> T {
        withUnsafeBytes { $0.littleEndian(at: offset, as: T.self) }
    }
}
