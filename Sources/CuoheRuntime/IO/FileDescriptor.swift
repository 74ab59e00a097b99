#if canImport(Glibc)
import Glibc
#endif
import CuoheSys

/// What the operating system was asked to do when it failed.
public enum IOOperation: String, Sendable {
    case open, create, read, write, sync, stat, truncate, seek, lock, remove
    case rename = "rename into place"
}

/// A file operation that failed: one case per kind of failure, each naming the file.
public enum IOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A call returned an error (`errno`).
    case failed(path: String, operation: IOOperation, errno: Int32)
    /// A FIFO, device or directory where a regular file was expected.
    case notRegularFile(path: String)
    /// Larger than any file of its kind can be: never read.
    case tooLarge(path: String, bytes: Int, bytesMax: Int)
    /// The file ended before the size it had when it was opened.
    case shrank(path: String)
    /// A file that must be new already exists.
    case alreadyExists(path: String)

    /// Runs `body`, which throws only `IOError`s, keeping the type: the standard library's buffer
    /// accessors rethrow untyped.
    @inline(__always)
    static func typed<T>(_ body: () throws -> T) throws(IOError) -> T {
        do {
            return try body()
        } catch let error as IOError {
            throw error
        } catch {
            preconditionFailure("only IOError is thrown here: \(error)")
        }
    }

    /// What went wrong, without the path: the system's message for a failed call.
    public var reason: String {
        if case .failed(_, _, let code) = self { return String(cString: strerror(code)) }
        return description
    }

    public var path: String {
        switch self {
        case .failed(let path, _, _), .notRegularFile(let path), .tooLarge(let path, _, _), .shrank(let path),
             .alreadyExists(let path): return path
        }
    }

    public var description: String {
        switch self {
        case .failed(let path, let operation, let code):
            return "\(path): cannot \(operation.rawValue): \(String(cString: strerror(code)))"
        case .notRegularFile(let path): return "\(path): not a regular file"
        case .tooLarge(let path, let bytes, let bytesMax):
            return "\(path): \(bytes) bytes, more than such a file can hold (\(bytesMax))"
        case .shrank(let path): return "\(path): cannot read: the file shrank while being read"
        case .alreadyExists(let path): return "\(path): already exists; refusing to overwrite it"
        }
    }
}

/// One open file descriptor and the path it was opened by: the only owner of the descriptor,
/// which is closed when this goes away. Every read and write retries `EINTR` and short counts
/// here, once, so no caller writes that loop again.
public struct FileDescriptor: ~Copyable {
    public let path: String
    public let raw: Int32

    /// Starts writing `count` bytes at `offset` back to disk without waiting (a hint: an error
    /// changes nothing, the next sync still makes them durable).
    public func startWriteback(offset: Int, count: Int) {
        _ = cuohe_start_writeback(raw, Int64(offset), Int64(count))
    }
    /// False for a descriptor this process did not open (standard input or output).
    let owned: Bool

    /// Opens `path`; `O_CLOEXEC` is always added.
    public init(path: String, flags: Int32, mode: mode_t = 0o644) throws(IOError) {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        if fd < 0 { throw .failed(path: path, operation: flags & O_CREAT != 0 ? .create : .open, errno: errno) }
        self.path = path
        raw = fd
        owned = true
    }

    /// A descriptor opened elsewhere (0, 1, 2), named `path` in errors; never closed here.
    public init(borrowing raw: Int32, path: String) {
        self.path = path
        self.raw = raw
        owned = false
    }

    deinit { if owned { close(raw) } }

    func failure(_ operation: IOOperation, _ code: Int32 = errno) -> IOError {
        .failed(path: path, operation: operation, errno: code)
    }

    /// Writes every byte (a write returning 0 is reported as `EIO`).
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(IOError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(raw, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw failure(.write, n < 0 ? errno : EIO) }
            done += n
        }
    }

    public func writeAll(_ bytes: [UInt8]) throws(IOError) {
        try IOError.typed { try bytes.withUnsafeBytes { try writeAll($0) } }
    }

    /// One read into `buffer`: the bytes read, 0 at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> Int {
        while true {
            let n = Glibc.read(raw, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw failure(.read) }
        }
    }

    /// The file's status.
    public func status() throws(IOError) -> stat {
        var st = stat()
        if fstat(raw, &st) != 0 { throw failure(.stat) }
        return st
    }

    /// The whole file, which must be a regular file of at most `bytesMax` bytes (checked before
    /// anything is allocated: a sparse or damaged file must not make the engine take its size).
    public func readAll(bytesMax: Int) throws(IOError) -> [UInt8] {
        let st = try status()
        guard st.st_mode & S_IFMT == S_IFREG else { throw .notRegularFile(path: path) }
        let size = Int(st.st_size)
        guard size <= bytesMax else { throw .tooLarge(path: path, bytes: size, bytesMax: bytesMax) }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = try IOError.typed {
                try bytes.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[done...])) }
            }
            if n == 0 { throw .shrank(path: path) }
            done += n
        }
        return bytes
    }

    /// Makes the file's data durable (`fdatasync`).
    public func datasync() throws(IOError) { if fdatasync(raw) != 0 { throw failure(.sync) } }

    /// Makes the file's data and metadata durable (`fsync`).
    public func sync() throws(IOError) { if fsync(raw) != 0 { throw failure(.sync) } }

    public func truncate(to length: Int) throws(IOError) { if ftruncate(raw, off_t(length)) != 0 { throw failure(.truncate) } }

    public func seek(to offset: Int) throws(IOError) { if lseek(raw, off_t(offset), SEEK_SET) < 0 { throw failure(.seek) } }
}

/// Whole-file and directory operations, on top of `FileDescriptor`.
public enum FileSystem {
    /// A regular file's bytes, at most `bytesMax`; opened without blocking, so a FIFO in its
    /// place is refused instead of waited on.
    public static func readFile(_ path: String, bytesMax: Int) throws(IOError) -> [UInt8] {
        try FileDescriptor(path: path, flags: O_RDONLY | O_NONBLOCK).readAll(bytesMax: bytesMax)
    }

    /// Writes `bytes` to `path` so that a crash leaves either the old file or the new one:
    /// a temporary file beside it, synced, then renamed over it. The caller syncs the directory.
    public static func writeAtomically(_ path: String, bytes: [UInt8]) throws(IOError) {
        let temporary = path + ".tmp"
        do {
            let file = try FileDescriptor(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
            try file.writeAll(bytes)
            try file.sync()
        }
        if rename(temporary, path) != 0 { throw .failed(path: path, operation: .rename, errno: errno) }
    }

    /// Makes a directory's entries (files created or renamed in it) durable.
    public static func syncDirectory(_ path: String) throws(IOError) {
        try FileDescriptor(path: path, flags: O_RDONLY).sync()
    }

    /// Creates a directory if it does not exist; true if it was created.
    @discardableResult
    public static func makeDirectory(_ path: String) throws(IOError) -> Bool {
        if mkdir(path, 0o755) == 0 { return true }
        if errno == EEXIST { return false }
        throw .failed(path: path, operation: .create, errno: errno)
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
