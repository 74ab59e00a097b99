import CuoheCore

/// Names ↔ integer ids for brokers, accounts and instruments, fixed at configuration load. Only
/// the edges use it: parsing resolves names to ids, formatting turns ids back into names.
public struct Directory: Sendable {
    public let brokers: [String]
    public let accounts: [String]
    public let symbols: [String]
    public let brokerTokens: [String]
    public let brokerIsOperator: [Bool]
    public let brokerMessagesPerSecondMax: [Int64?]
    public let brokerCancelsOnDisconnect: [Bool]
    /// Names are packed like cids (same alphabet, at most 32 bytes), so lookups allocate nothing.
    let brokerIndex: [ClientOrderID: Int32]
    let accountIndex: [ClientOrderID: Int32]
    let symbolIndex: [ClientOrderID: Int32]

    public init(config: MarketConfig) {
        brokers = config.brokers.map(\.id)
        accounts = config.accounts.map(\.id)
        symbols = config.instruments.map(\.symbol)
        brokerTokens = config.brokers.map(\.token)
        brokerIsOperator = config.brokers.map(\.isOperator)
        brokerMessagesPerSecondMax = config.brokers.map(\.maxMessagesPerSecond)
        brokerCancelsOnDisconnect = config.brokers.map(\.cancelOnDisconnect)
        func index(_ names: [String]) -> [ClientOrderID: Int32] {
            var out: [ClientOrderID: Int32] = [:]
            for (i, name) in names.enumerated() {
                if let key = ClientOrderID(name) { out[key] = Int32(i) }
            }
            return out
        }
        brokerIndex = index(brokers)
        accountIndex = index(accounts)
        symbolIndex = index(symbols)
    }

    /// The broker's id, or nil if not configured.
    public func broker<C: Collection>(_ name: C) -> Int32? where C.Element == UInt8 {
        guard let key = ClientOrderID(bytes: name) else { return nil }
        return brokerIndex[key]
    }

    public func broker(_ name: String) -> Int32? { broker(Array(name.utf8)) }

    /// The account's id, or -1 if not configured.
    public func account<C: Collection>(_ name: C) -> Int32 where C.Element == UInt8 {
        guard let key = ClientOrderID(bytes: name) else { return -1 }
        return accountIndex[key] ?? -1
    }

    public func account(_ name: String) -> Int32 { account(Array(name.utf8)) }

    /// The instrument's id, or -1 if not configured.
    public func symbol<C: Collection>(_ name: C) -> Int32 where C.Element == UInt8 {
        guard let key = ClientOrderID(bytes: name) else { return -1 }
        return symbolIndex[key] ?? -1
    }

    public func symbol(_ name: String) -> Int32 { symbol(Array(name.utf8)) }
}
