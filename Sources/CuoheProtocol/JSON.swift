/// A small, strict JSON reader (RFC 8259) for the exchange's configuration file.
///
/// Strict means: no comments, no trailing commas, no single quotes, no `NaN`, no leading zeros, no
/// unescaped control characters in strings, no invalid UTF-8, no unpaired surrogates, and no
/// duplicate keys in an object. Anything else is an error with the line and column where it was
/// found. Numbers are kept as their source text, so an integer is exact and money never passes
/// through floating point. The reader is bounded in input size and nesting depth, and never traps on
/// any input.

/// A parsed JSON value.
public enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, exactly as written in the source (for example `-12.50e3`): the caller decides
    /// what it may be (an integer, a decimal) and converts it without floating point.
    case number(String)
    /// A string, with its escapes decoded.
    case string(String)
    /// An array's elements in source order.
    case array([JSONValue])
    /// An object's members in source order. Keys are unique.
    case object([(String, JSONValue)])

    /// Structural equality; objects are equal when they have the same members in the same order.
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            guard x.count == y.count else { return false }
            for i in x.indices where x[i].0 != y[i].0 || x[i].1 != y[i].1 { return false }
            return true
        default: return false
        }
    }
}

/// A JSON syntax error: where it is (1-based line and column; a column counts Unicode scalars, not
/// bytes) and what was wrong.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line of the error.
    public var line: Int
    /// The 1-based column of the error, in Unicode scalars.
    public var column: Int
    /// What was wrong, like `unexpected ','; expected a value`.
    public var message: String

    /// An error at `line`:`column`.
    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `3:17: expected ',' or '}' after an object member, found '"'`.
    public var description: String { "\(line):\(column): \(message)" }
}

/// The strict JSON reader. Use `JSONParser.parse(_:)`.
public struct JSONParser {
    /// The deepest nesting of arrays and objects accepted. The configuration needs 4 levels; the
    /// bound keeps the recursive descent's stack use small and fixed whatever the input.
    public static let depthMax = 64

    /// The largest input accepted, in bytes (256 MiB). The configuration allows up to 1,000,000
    /// accounts at roughly 100 to 200 bytes each; the bound leaves room for that and refuses
    /// anything that would make start-up exhaust memory.
    public static let inputBytesMax = 256 * 1024 * 1024

    /// Objects with fewer members than this check a new key for duplicates by a linear search;
    /// larger ones switch to a hash set, so a huge object stays linear time overall.
    private static let linearKeySearchMax = 16

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Parses one JSON text (any value at the top level, surrounded by optional whitespace).
    /// A leading UTF-8 byte order mark is ignored, as RFC 8259 allows.
    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        guard bytes.count <= inputBytesMax else {
            throw JSONError(line: 1, column: 1,
                            message: "input is \(bytes.count) bytes; at most \(inputBytesMax) are accepted")
        }
        var parser = JSONParser(bytes: bytes)
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { parser.index = 3 }
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == bytes.count else {
            throw parser.error("unexpected \(parser.describeCurrent()) after the end of the JSON value")
        }
        return value
    }

    /// Parses a JSON text held in a `String`.
    public static func parse(_ text: String) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSONError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input; expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected \(describeCurrent()); expected a value")
        }
    }

    private mutating func enterContainer() throws(JSONError) {
        depth += 1
        guard depth <= JSONParser.depthMax else {
            throw error("nesting is deeper than \(JSONParser.depthMax) levels")
        }
    }

    private mutating func parseObject() throws(JSONError) -> JSONValue {
        try enterContainer()
        index += 1  // "{"
        var members: [(String, JSONValue)] = []
        // Swift compares strings by canonical equivalence, so two keys that differ only in Unicode
        // normalization count as duplicates too: the safe side for a configuration file. Small
        // objects (nearly all) are searched directly; large ones get a set.
        var seen = Set<String>()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else {
                if peek() == UInt8(ascii: "}") { throw error("expected a key after ','; trailing commas are not allowed") }
                throw error("unexpected \(describeCurrent()); expected a string key")
            }
            let keyStart = index
            let key = try parseString()
            let duplicate: Bool
            if members.count < JSONParser.linearKeySearchMax {
                duplicate = members.contains { $0.0 == key }
            } else {
                if seen.isEmpty { seen = Set(members.lazy.map(\.0)) }
                duplicate = !seen.insert(key).inserted
            }
            guard !duplicate else {
                throw error("duplicate key \(JSONParser.quote(key))", at: keyStart)
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else {
                throw error("unexpected \(describeCurrent()); expected ':' after the key")
            }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            members.append((key, value))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return .object(members)
            default:
                throw error("unexpected \(describeCurrent()); expected ',' or '}' after an object member")
            }
        }
    }

    private mutating func parseArray() throws(JSONError) -> JSONValue {
        try enterContainer()
        index += 1  // "["
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { throw error("expected a value after ','; trailing commas are not allowed") }
            elements.append(try parseValue())
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return .array(elements)
            default:
                throw error("unexpected \(describeCurrent()); expected ',' or ']' after an array element")
            }
        }
    }

    private mutating func parseLiteral(_ word: StaticString) throws(JSONError) {
        let start = index
        let count = word.utf8CodeUnitCount
        var matched = index + count <= bytes.count
        if matched {
            word.withUTF8Buffer { expected in
                for i in 0..<count where bytes[start + i] != expected[i] {
                    matched = false
                    break
                }
            }
        }
        guard matched else { throw error("invalid literal; expected \(word)") }
        index += count
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as written.
    private mutating func parseNumber() throws(JSONError) -> String {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), isDigit(first) else {
            throw error("unexpected \(describeCurrent()); expected a digit after '-'")
        }
        index += 1
        if first == UInt8(ascii: "0"), let next = peek(), isDigit(next) {
            throw error("leading zeros are not allowed in a number", at: start)
        }
        skipDigits()
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let d = peek(), isDigit(d) else {
                throw error("unexpected \(describeCurrent()); expected a digit after '.'")
            }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let d = peek(), isDigit(d) else {
                throw error("unexpected \(describeCurrent()); expected a digit in the exponent")
            }
            skipDigits()
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    // MARK: - Strings

    /// Reads a string starting at its opening quote; validates UTF-8 and decodes every escape.
    private mutating func parseString() throws(JSONError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: printable ASCII without escapes (every key and almost every value) is copied
        // straight from the input.
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
            }
            if b == UInt8(ascii: "\\") || b < 0x20 || b >= 0x80 { break }
            index += 1
        }
        var out = Array(bytes[start..<index])
        while true {
            guard index < bytes.count else { throw error("unterminated string") }
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                index += 1
                // Every byte appended is valid UTF-8 (checked below), so decoding repairs nothing.
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &out)
            case 0x00..<0x20:
                throw error("control character \(JSONParser.hex(b)) in a string must be escaped")
            case 0x20..<0x80:
                out.append(b)
                index += 1
            default:
                try copyMultibyteCharacter(into: &out)
            }
        }
    }

    private mutating func parseEscape(into out: inout [UInt8]) throws(JSONError) {
        let start = index
        index += 1  // backslash
        guard let e = peek() else { throw error("unterminated string") }
        index += 1
        switch e {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4(escapeStart: start)
            if (0xDC00...0xDFFF).contains(scalar) {
                throw error("unpaired low surrogate \\u\(JSONParser.hex4(scalar)) in a string", at: start)
            }
            if (0xD800...0xDBFF).contains(scalar) {
                let lowStart = index
                guard peek() == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error("unpaired high surrogate \\u\(JSONParser.hex4(scalar)) in a string", at: start)
                }
                index += 2
                let low = try parseHex4(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("high surrogate \\u\(JSONParser.hex4(scalar)) is not followed by a low surrogate", at: start)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            JSONParser.appendUTF8(scalar, to: &out)
        default:
            throw error("invalid escape '\\\(JSONParser.printable(e))' in a string", at: start)
        }
    }

    /// Reads the four hex digits after `\u`.
    private mutating func parseHex4(escapeStart: Int) throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let b = peek() else { throw error("unterminated string") }
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape: expected four hex digits", at: escapeStart)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// Copies one multi-byte UTF-8 sequence, rejecting overlong forms, encoded surrogates and
    /// anything above U+10FFFF (RFC 3629, table 3-7 of the Unicode standard).
    private mutating func copyMultibyteCharacter(into out: inout [UInt8]) throws(JSONError) {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw error("invalid UTF-8 byte \(JSONParser.hex(lead)) in a string")
        }
        guard index + length <= bytes.count else { throw error("truncated UTF-8 sequence in a string") }
        guard secondRange.contains(bytes[index + 1]) else { throw error("invalid UTF-8 sequence in a string") }
        for k in 2..<max(2, length) where !(0x80...0xBF).contains(bytes[index + k]) {
            throw error("invalid UTF-8 sequence in a string")
        }
        out.append(contentsOf: bytes[index..<(index + length)])
        index += length
    }

    // MARK: - Helpers

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// The byte at the cursor, for a message: `'x'`, `byte 0xC3`, or `end of input`.
    private func describeCurrent() -> String {
        guard let b = peek() else { return "end of input" }
        if b >= 0x21 && b < 0x7F { return "'\(JSONParser.printable(b))'" }
        return "byte \(JSONParser.hex(b))"
    }

    /// An error at `offset` (default: the cursor), with its line and column.
    private func error(_ message: String, at offset: Int? = nil) -> JSONError {
        let end = min(offset ?? index, bytes.count)
        var line = 1
        var column = 1
        var i = 0
        while i < end {
            let b = bytes[i]
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                // Count characters, not bytes: UTF-8 continuation bytes do not start a column.
                column += 1
            }
            i += 1
        }
        return JSONError(line: line, column: column, message: message)
    }

    private static func printable(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : hex(b)
    }

    private static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "0x\(digits[Int(b >> 4)])\(digits[Int(b & 0xF)])"
    }

    private static func hex4(_ v: UInt32) -> String {
        let digits = Array("0123456789ABCDEF")
        var s = ""
        for shift in stride(from: 12, through: 0, by: -4) { s.append(digits[Int((v >> UInt32(shift)) & 0xF)]) }
        return s
    }

    /// Appends a scalar (not a surrogate, at most U+10FFFF: the callers ensure it) as UTF-8.
    private static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | ((v >> 18) & 0x07)))
            out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// A string as a JSON string literal, for messages: quotes, backslashes and control characters
    /// escaped.
    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u\(hex4(scalar.value))"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
