import CuoheCore

/// Fixed-point decimal text: `12.34`, `0.5`, `100`: at most four fractional digits, no sign, no
/// exponent. Values are `Int64` counts of 10^-4.
public enum Decimal4 {
    /// Parses an unsigned decimal; nil if the text is not one, has more than four fractional
    /// digits, or exceeds `max`.
    public static func parse<C: Collection>(_ bytes: C, max: Int64 = Bounds.priceMax) -> Int64?
    where C.Element == UInt8 {
        var integer: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var seenDot = false
        var integerDigits = 0
        for b in bytes {
            if b == UInt8(ascii: ".") {
                guard !seenDot else { return nil }
                seenDot = true
                continue
            }
            guard b >= 48, b <= 57 else { return nil }
            let d = Int64(b - 48)
            if seenDot {
                fractionDigits += 1
                guard fractionDigits <= 4 else { return nil }
                fraction = fraction * 10 + d
            } else {
                integerDigits += 1
                guard integerDigits <= 15 else { return nil }
                integer = integer * 10 + d
            }
        }
        guard integerDigits > 0 || fractionDigits > 0 else { return nil }
        if seenDot && fractionDigits == 0 { return nil }
        while fractionDigits < 4 {
            fraction *= 10
            fractionDigits += 1
        }
        // 15 integer digits times 10^4 may pass Int64.max, and so may adding the fraction to it.
        let (scaled, overflow) = integer.multipliedReportingOverflow(by: Fixed.scale)
        let (value, carried) = scaled.addingReportingOverflow(fraction)
        guard !overflow, !carried, value <= max else { return nil }
        return value
    }

    /// The same, on a line's own bytes: the integer digits in one loop, then the fraction's in
    /// another, with none of the generic loop's per-byte state (the parser's price, ~40% fewer
    /// instructions). It accepts and refuses exactly what the generic one does.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, max: Int64 = Bounds.priceMax) -> Int64? {
        let n = bytes.count
        // The longest accepted text: 15 integer digits, the dot, 4 fraction digits.
        guard n >= 1, n <= 20 else { return nil }
        var i = 0
        var integer: Int64 = 0
        while i < n {
            let d = bytes[i] &- 48
            if d > 9 { break }
            integer = integer &* 10 &+ Int64(d)
            i += 1
        }
        let integerDigits = i
        guard integerDigits <= 15 else { return nil }
        var fraction: Int64 = 0
        var fractionDigits = 0
        if i < n {
            guard bytes[i] == UInt8(ascii: ".") else { return nil }
            i += 1
            let start = i
            while i < n {
                let d = bytes[i] &- 48
                guard d <= 9 else { return nil }
                fraction = fraction &* 10 &+ Int64(d)
                i += 1
            }
            fractionDigits = i - start
            guard fractionDigits >= 1, fractionDigits <= 4 else { return nil }
        }
        guard integerDigits > 0 || fractionDigits > 0 else { return nil }
        switch fractionDigits {
        case 0: fraction = 0
        case 1: fraction &*= 1000
        case 2: fraction &*= 100
        case 3: fraction &*= 10
        default: break
        }
        // 15 integer digits times 10^4 may pass Int64.max, and so may adding the fraction to it.
        let (scaled, overflow) = integer.multipliedReportingOverflow(by: Fixed.scale)
        let (value, carried) = scaled.addingReportingOverflow(fraction)
        guard !overflow, !carried, value <= max else { return nil }
        return value
    }

    /// An unsigned integer of at most 18 digits on a line's own bytes; nil otherwise.
    public static func parseInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        let n = bytes.count
        guard n >= 1, n <= 18 else { return nil }
        var v: Int64 = 0
        for i in 0..<n {
            let d = bytes[i] &- 48
            guard d <= 9 else { return nil }
            v = v &* 10 &+ Int64(d)
        }
        return v
    }

    public static func parse(_ text: String, max: Int64 = Bounds.priceMax) -> Int64? {
        parse(Array(text.utf8), max: max)
    }

    /// Formats with at least `minFraction` fractional digits and no trailing zeros beyond them:
    /// `123400` → `12.34` (minFraction 2), `5000` → `0.50`, `12345` → `1.2345`.
    public static func format(_ value: Int64, minFraction: Int = 2) -> String {
        var out: [UInt8] = []
        append(value, minFraction: minFraction, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the formatted value to a byte buffer (the outbound path builds lines in bytes),
    /// written as the line formatter writes it.
    public static func append(_ value: Int64, minFraction: Int = 2, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var w = FieldWriter(base: buffer.baseAddress!, capacity: 32)
            w.decimal(value, minFraction: minFraction)
            out.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress!, count: w.count))
        }
    }

    /// Appends a decimal integer.
    public static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var w = FieldWriter(base: buffer.baseAddress!, capacity: 32)
            w.integer(value)
            out.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress!, count: w.count))
        }
    }

    /// Parses a non-negative `Int64` (up to 9223372036854775807); nil otherwise.
    public static func parseInt64<C: Collection>(_ bytes: C) -> Int64? where C.Element == UInt8 {
        guard !bytes.isEmpty, bytes.count <= 19 else { return nil }
        var v: Int64 = 0
        for b in bytes {
            guard b >= 48, b <= 57 else { return nil }
            let (times10, o1) = v.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(b - 48))
            if o1 || o2 { return nil }
            v = sum
        }
        return v
    }

    /// Parses an unsigned integer of at most 18 digits; nil otherwise.
    public static func parseInteger<C: Collection>(_ bytes: C) -> Int64? where C.Element == UInt8 {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var v: Int64 = 0
        for b in bytes {
            guard b >= 48, b <= 57 else { return nil }
            v = v * 10 + Int64(b - 48)
        }
        return v
    }
}
