#if canImport(Glibc)
import Glibc
#endif
import CuoheSys

/// The gateway's epoll instance, owned: descriptors register with a token and come back ready.
final class Poller {
    let fd: Int32
    private var tokens = [UInt64](repeating: 0, count: 256)
    private var flags = [UInt32](repeating: 0, count: 256)

    init() throws(SocketError) {
        fd = cuohe_epoll_create()
        guard fd >= 0 else { throw SocketError(operation: "epoll_create", address: "-", errno: errno) }
    }

    deinit { close(fd) }

    func add(_ descriptor: Int32, token: UInt64, write: Bool = false) {
        _ = cuohe_epoll_ctl(fd, 0, descriptor, 1, write ? 1 : 0, token)
    }

    func change(_ descriptor: Int32, token: UInt64, write: Bool) {
        _ = cuohe_epoll_ctl(fd, 1, descriptor, 1, write ? 1 : 0, token)
    }

    func remove(_ descriptor: Int32) {
        _ = cuohe_epoll_ctl(fd, 2, descriptor, 0, 0, 0)
    }

    /// Waits up to `timeoutMs` and calls `ready` for each descriptor ready (token, `CUOHE_*` flags).
    func wait(timeoutMs: Int32, _ ready: (UInt64, UInt32) -> Void) {
        let n = tokens.withUnsafeMutableBufferPointer { t in
            flags.withUnsafeMutableBufferPointer { f in cuohe_epoll_wait(fd, t.baseAddress, f.baseAddress, 256, timeoutMs) }
        }
        for i in 0..<max(0, Int(n)) { ready(tokens[i], flags[i]) }
    }
}

/// An eventfd, owned: another thread's `signal` wakes the poller.
final class Wakeup: @unchecked Sendable {
    let fd: Int32

    init() throws(SocketError) {
        fd = cuohe_eventfd()
        guard fd >= 0 else { throw SocketError(operation: "eventfd", address: "-", errno: errno) }
    }

    deinit { close(fd) }

    func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { Glibc.write(fd, $0.baseAddress, 8) }
    }

    func drain() {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { Glibc.read(fd, $0.baseAddress, 8) }
    }
}
