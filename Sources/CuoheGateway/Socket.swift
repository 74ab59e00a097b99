#if canImport(Glibc)
import Glibc
#endif
import CuoheSys

/// A socket failure: what was tried, on which address, and the OS's errno.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let address: String
    public let errno: Int32

    public var description: String { "\(operation) \(address): \(String(cString: strerror(errno)))" }
}

/// `HOST:PORT` for IPv4 (`127.0.0.1:7700`; port 0 asks the OS for a free one).
public struct SocketAddress: Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        host = String(text[..<colon])
        var probe = in_addr()
        guard inet_pton(AF_INET, host, &probe) == 1 else { return nil }
        self.port = port
    }

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }

    func sockaddr() -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &a.sin_addr)
        return a
    }
}

/// One socket descriptor, owned: closed exactly once, by `close()` or when dropped.
public final class Socket {
    public let fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// A non-blocking listening socket on `address` (address reuse on, so a restart can bind at
    /// once); `backlog` bounds connections the kernel queues before `accept`.
    public static func listen(_ address: SocketAddress, backlog: Int32 = 1024) throws(SocketError) -> Socket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", address: "\(address)", errno: errno) }
        let s = Socket(fd: fd)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var a = address.sockaddr()
        let bound = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw SocketError(operation: "bind", address: "\(address)", errno: errno) }
        guard Glibc.listen(fd, backlog) == 0 else { throw SocketError(operation: "listen", address: "\(address)", errno: errno) }
        return s
    }

    /// The port the socket is bound to (the one the OS chose for port 0).
    public var localPort: UInt16 {
        var a = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return UInt16(bigEndian: a.sin_port)
    }

    /// The next queued connection, non-blocking with Nagle off (lines go out as they are
    /// written), or nil when none is waiting.
    public func accept() -> Socket? {
        let c = cuohe_accept_nonblocking(fd)
        guard c >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return Socket(fd: c)
    }

    /// Reads what is waiting into `buffer`: the count, 0 at end of stream, -1 when nothing is
    /// waiting, -2 on an error.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2
        }
    }

    /// Writes what the socket takes now: the count (possibly 0), or -1 on an error.
    public func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        while true {
            let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return n }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1
        }
    }
}
