import CuoheCore
import CuoheProtocol

/// What a session answers itself, never through the matcher.
public enum SessionAnswer: Sendable, Equatable {
    /// `LOGGEDIN broker=… next=…`: `next` is the broker's last `seq` + 1, which only the stage
    /// that has seen every event of the broker knows, so it is filled in there.
    case loggedIn
    /// `PONG [t=…]`.
    case pong(token: String?)
    /// `BYE reason=…`; the connection ends after it.
    case bye(reason: String)
    /// Nothing to say (`SUB`/`UNSUB` where every trade is printed anyway).
    case silent

    /// The protocol line, or nil for `silent`.
    public func line(broker name: String, nextSeq: Int64) -> String? {
        switch self {
        case .loggedIn: return "LOGGEDIN broker=\(name) next=\(nextSeq)"
        case .pong(let token): return token.map { "PONG t=\($0)" } ?? "PONG"
        case .bye(let reason): return "BYE reason=\(reason)"
        case .silent: return nil
        }
    }
}

/// One broker's session: the session-level requests (`LOGIN`, `PING`, `LOGOUT`, `SUB`, `UNSUB`)
/// and their answers. Replay treats every broker as logged in for the whole input; the gateway
/// keeps one per connection.
public struct Session: Sendable {
    public let broker: Int32
    public let name: String

    public init(broker: Int32, name: String) {
        self.broker = broker
        self.name = name
    }

    /// The answer to `request`.
    public func answer(_ request: SessionRequest) -> SessionAnswer {
        switch request {
        case .login: return .loggedIn
        case .ping(let token): return .pong(token: token)
        case .logout: return .bye(reason: "LOGOUT")
        case .subscribe, .unsubscribe: return .silent
        }
    }
}
