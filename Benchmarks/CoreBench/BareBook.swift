import CuoheCore

/// The order book alone, driven as the matcher drives it but without the market's rules, the cid
/// index or events: price-time matching (self-trade prevention included, so it makes the same
/// trades), cancels, and replaces, with orders addressed by their number. Timed beside the
/// matcher on the same commands, it is what the rules and the rest of the matcher's work cost.
struct BareBook {
    /// A command as the bare book takes it: numbers in place of cids (decoded before timing).
    struct Step {
        var command: Command
        var number: Int32
        var newNumber: Int32
    }

    let arena: Arena
    var book: OrderBook
    var store: OrderStore
    /// The live order's slot of each order number, or -1.
    let slotOf: FixedArray<Int32>
    var nextOid: Int64 = 1
    var fills = 0

    init(low: Int64, high: Int64, tick: Int64, ordersMax: Int, numbersMax: Int) {
        arena = Arena(prefaults: true)
        book = OrderBook(lowPrice: low, highPrice: high, tick: tick, arena: arena)
        store = OrderStore(capacity: ordersMax, arena: arena)
        slotOf = arena.make(count: numbersMax, repeating: -1)
    }

    /// The numbers of `commands`' cids (`o<n>`), decoded once before timing.
    static func steps(_ commands: [Command]) -> [Step] {
        func number(_ cid: ClientOrderID) -> Int32 { cid.isNone ? -1 : Int32(cid.text.dropFirst())! }
        return commands.map { Step(command: $0, number: number($0.cid), newNumber: number($0.newCid)) }
    }

    mutating func apply(_ s: Step) {
        let c = s.command
        switch c.kind {
        case .new:
            let leaves = match(side: c.side, limit: c.price, qty: c.qty, account: c.account)
            if leaves > 0 && (c.tif == .day || c.tif == .gtc) {
                rest(s.number, side: c.side, price: c.price, qty: c.qty, leaves: leaves, account: c.account)
            }
        case .cancel:
            cancel(s.number)
        case .replace:
            replace(s)
        default:
            break
        }
    }

    /// Trades a taker against the opposite side while it crosses; returns what is left.
    mutating func match(side: Side, limit: Int64, qty: Int64, account: Int32) -> Int64 {
        var leaves = qty
        let opposite = side.opposite
        while leaves > 0 {
            let index = book.best(opposite)
            if index < 0 { break }
            let price = book.price(ofLevel: index)
            if side == .buy ? price > limit : price < limit { break }
            var slot = book.level(opposite, index).head
            while slot >= 0 && leaves > 0 {
                if store[slot].account == account { return 0 }  // self-trade prevention
                let next = store[slot].next
                let traded = min(leaves, store[slot].leaves)
                leaves -= traded
                fills += 1
                if traded == store[slot].leaves {
                    book.remove(slot, store: &store)
                    slotOf[Int(store[slot].oid)] = -1
                    store.free(slot)
                } else {
                    store[slot].leaves -= traded
                    book.reduce(opposite, level: index, by: traded)
                }
                slot = next
            }
        }
        return leaves
    }

    mutating func rest(_ number: Int32, side: Side, price: Int64, qty: Int64, leaves: Int64, account: Int32) {
        // The order number doubles as the oid, so a fill finds the number to clear.
        let slot = store.allocate(RestingOrder(
            cid: .none, oid: Int64(number), price: price, qty: qty, leaves: leaves, next: -1, prev: -1, account: account,
            broker: 0, instrument: 0, cidRecord: -1, level: -1, side: side, tif: .day, frozen: 0, position: -1))
        book.append(slot, store: &store)
        slotOf[Int(number)] = slot
    }

    mutating func cancel(_ number: Int32) {
        let slot = slotOf[Int(number)]
        guard slot >= 0 else { return }
        book.remove(slot, store: &store)
        store.free(slot)
        slotOf[Int(number)] = -1
    }

    /// Keeps priority when only the size goes down at the same price; otherwise out and in again.
    mutating func replace(_ s: Step) {
        let slot = slotOf[Int(s.number)]
        guard slot >= 0 else { return }
        let o = store[slot]
        let qty = s.command.qty == Command.absent ? o.qty : s.command.qty
        let price = s.command.price == Command.absent ? o.price : s.command.price
        let cum = o.qty - o.leaves
        if price == o.price && qty <= o.qty && qty > cum {
            book.reduce(o.side, level: o.level, by: o.leaves - (qty - cum))
            store[slot].qty = qty
            store[slot].leaves = qty - cum
            store[slot].oid = Int64(s.newNumber)
            slotOf[Int(s.number)] = -1
            slotOf[Int(s.newNumber)] = slot
            return
        }
        cancel(s.number)
        if qty <= cum { return }
        let leaves = match(side: o.side, limit: price, qty: qty - cum, account: o.account)
        if leaves > 0 { rest(s.newNumber, side: o.side, price: price, qty: qty, leaves: leaves, account: o.account) }
    }
}
