#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Reads `\n`-terminated lines from a file descriptor through one fixed buffer. A line longer than
/// `lineBytesMax` is cut to `lineBytesMax + 1` bytes (the rest is read and dropped), so no input
/// can grow memory and the reader of a line can tell it was cut by its length.
public struct LineReader: ~Copyable {
    public static let bufferBytes = 1 << 16

    let input: FileDescriptor
    let lineBytesMax: Int
    var buffer: [UInt8]
    var start = 0
    var end = 0
    var eof = false
    /// The read error that ended input, if any.
    public private(set) var readError: IOError?
    /// Asked before every read and every 100 ms while waiting for input: true ends input there
    /// (an operator's stop), as if the input had ended.
    let stopRequested: (@Sendable () -> Bool)?
    /// True if input ended because a stop was requested.
    public private(set) var stopped = false

    public init(input: consuming FileDescriptor, lineBytesMax: Int, stopRequested: (@Sendable () -> Bool)? = nil) {
        self.input = input
        self.lineBytesMax = lineBytesMax
        self.stopRequested = stopRequested
        buffer = [UInt8](repeating: 0, count: LineReader.bufferBytes)
    }

    /// True if a whole or partial line is already buffered: `next()` may not need to block.
    public var hasBufferedData: Bool { start < end }

    /// The next line without its `\n` (cut to `lineBytesMax + 1`), or nil at end of input.
    public mutating func next() -> [UInt8]? {
        var line: [UInt8] = []
        var sawAny = false
        while true {
            if start == end {
                // A stop drops a line not yet ended: it was never whole.
                if eof { return sawAny && !stopped ? line : nil }
                fill()
                continue
            }
            sawAny = true
            var i = start
            while i < end && buffer[i] != UInt8(ascii: "\n") { i += 1 }
            let room = max(0, lineBytesMax + 1 - line.count)
            line.append(contentsOf: buffer[start..<min(i, start + room)])
            if i < end {
                start = i + 1
                return line
            }
            start = end
        }
    }

    mutating func fill() {
        start = 0
        end = 0
        while true {
            if let stopRequested {
                // Wait for input in slices, so a stop is seen even while the input is idle.
                if stopRequested() {
                    stopped = true
                    eof = true
                    return
                }
                var pfd = pollfd(fd: input.raw, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, 100)
                if ready == 0 || (ready < 0 && errno == EINTR) { continue }
            }
            do {
                let n = try IOError.typed { try buffer.withUnsafeMutableBytes { try input.read(into: $0) } }
                if n > 0 {
                    end = n
                    return
                }
            } catch {
                readError = error
            }
            eof = true
            return
        }
    }
}

/// Buffered writes to a file descriptor, flushed when the buffer passes a bound and at the end.
public struct OutputWriter: ~Copyable {
    public static let flushBytes = 1 << 16

    let output: FileDescriptor
    public var buffer: [UInt8] = []
    /// The first failed write; output stops there.
    public private(set) var writeError: IOError?

    public init(output: consuming FileDescriptor) {
        self.output = output
        buffer.reserveCapacity(OutputWriter.flushBytes * 2)
    }

    public mutating func flushIfFull() {
        if buffer.count >= OutputWriter.flushBytes { flush() }
    }

    public mutating func flush() {
        if writeError == nil {
            do {
                try output.writeAll(buffer)
            } catch {
                writeError = error
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// An operator's stop (SIGTERM or SIGINT): input ends at the next line boundary, the pipeline
/// drains, the final snapshot is written and the engine exits normally.
public enum StopSignal {
    /// The signal number received, or 0.
    public static let received = Atomic<Int32>(0)

    /// Installs the handlers (call once, before input is read).
    public static func install() {
        _ = received.load(ordering: .relaxed)  // initialized now, not inside the handler
        signal(SIGTERM) { StopSignal.received.store($0, ordering: .relaxed) }
        signal(SIGINT) { StopSignal.received.store($0, ordering: .relaxed) }
    }

    public static let requested: @Sendable () -> Bool = { received.load(ordering: .relaxed) != 0 }
}
