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
    let brokerIndex: NameIndex
    let accountIndex: NameIndex
    let symbolIndex: NameIndex

    public init(config: MarketConfig) {
        brokers = config.brokers.map(\.id)
        accounts = config.accounts.map(\.id)
        symbols = config.instruments.map(\.symbol)
        brokerTokens = config.brokers.map(\.token)
        brokerIsOperator = config.brokers.map(\.isOperator)
        brokerMessagesPerSecondMax = config.brokers.map(\.maxMessagesPerSecond)
        brokerCancelsOnDisconnect = config.brokers.map(\.cancelOnDisconnect)
        brokerIndex = NameIndex(brokers)
        accountIndex = NameIndex(accounts)
        symbolIndex = NameIndex(symbols)
    }

    /// The broker's id, or nil if not configured.
    public func broker<C: Collection>(_ name: C) -> Int32? where C.Element == UInt8 {
        guard let key = ClientOrderID(bytes: name) else { return nil }
        let id = brokerIndex.id(key)
        return id >= 0 ? id : nil
    }

    public func broker(_ name: String) -> Int32? { broker(Array(name.utf8)) }

    /// The parser's lookups of a name it packed itself (`.none`, a name that did not pack: -1).
    @inline(__always)
    func account(packed key: ClientOrderID) -> Int32 { key.isNone ? -1 : accountIndex.id(key) }

    @inline(__always)
    func symbol(packed key: ClientOrderID) -> Int32 { key.isNone ? -1 : symbolIndex.id(key) }

    /// The account's id, or -1 if not configured.
    public func account<C: Collection>(_ name: C) -> Int32 where C.Element == UInt8 {
        guard let key = ClientOrderID(bytes: name) else { return -1 }
        return accountIndex.id(key)
    }

    public func account(_ name: String) -> Int32 { account(Array(name.utf8)) }

    /// The instrument's id, or -1 if not configured.
    public func symbol<C: Collection>(_ name: C) -> Int32 where C.Element == UInt8 {
        guard let key = ClientOrderID(bytes: name) else { return -1 }
        return symbolIndex.id(key)
    }

    public func symbol(_ name: String) -> Int32 { symbol(Array(name.utf8)) }
}

/// Names to ids for the parser: an open-addressing table (linear probing, at most half full) over
/// the names packed like cids, hashed with the cid's own hash. A `Dictionary` hashes each lookup
/// with SipHash, several times the cost of the rest of a name's lookup.
struct NameIndex: Sendable {
    let keys: [ClientOrderID]
    /// Index into `keys` + 1 per position; 0 is empty.
    let table: [Int32]
    let mask: Int

    /// The index of `names`; a name that does not pack (not one the configuration allows) is
    /// left out, and the first of two equal names wins.
    init(_ names: [String]) {
        var size = 16
        while size < 2 * names.count { size <<= 1 }
        var table = [Int32](repeating: 0, count: size)
        var keys: [ClientOrderID] = []
        for (i, name) in names.enumerated() {
            keys.append(ClientOrderID(name) ?? .none)
            guard let key = ClientOrderID(name) else { continue }
            var position = Int(truncatingIfNeeded: key.hash64(salt: 0x4E41_4D45)) & (size - 1)
            var taken = false
            while table[position] != 0 {
                if keys[Int(table[position]) - 1] == key { taken = true }
                position = (position + 1) & (size - 1)
            }
            if !taken { table[position] = Int32(i + 1) }
        }
        self.keys = keys
        self.table = table
        mask = size - 1
    }

    /// The id of `key`, or -1.
    @inline(__always)
    func id(_ key: ClientOrderID) -> Int32 {
        var position = Int(truncatingIfNeeded: key.hash64(salt: 0x4E41_4D45)) & mask
        while true {
            let e = table[position]
            if e == 0 { return -1 }
            if keys[Int(e) - 1] == key { return e - 1 }
            position = (position + 1) & mask
        }
    }
}

