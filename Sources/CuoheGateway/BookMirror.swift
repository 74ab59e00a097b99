import CuoheCore

/// The books' price levels as the events tell them, for `BOOK` lines: every order an `ACK`
/// opened, less its fills, gone when canceled, moved when replaced. Beside them each instrument's
/// quote board, from its `quote` events. Built from the journal's events at start, then kept on
/// the egress thread; the matcher is never asked.
struct BookMirror: Sendable {
    struct Order: Sendable {
        var instrument: Int32
        var side: Side
        var price: Int64
        var leaves: Int64
    }

    static let depthMax = 20
    private var orders: [Int64: Order] = [:]
    private var bids: [[Int64: Int64]]
    private var asks: [[Int64: Int64]]
    private var mdseq: [Int64]
    /// Per instrument: in `AUCTION` (from the `OK`s of `PHASE`), and the indicative uncross.
    private var inAuction: [Bool]
    private var indicative: [(price: Int64, volume: Int64)]
    private var changed: Set<Int32> = []
    /// Per instrument: the live quotes (negotiated transfer), which never enter the book.
    private(set) var boards: [QuoteBoard]

    /// Every instrument starts changed, so the first pictures show each book. `auction` names
    /// those that start in `AUCTION`.
    init(instruments: Int, ordersExpected: Int = 1 << 20, auction: [Bool] = []) {
        // Room for the live orders up front: a rehash of a large table would stall the egress
        // thread for milliseconds.
        orders.reserveCapacity(ordersExpected)
        bids = Array(repeating: [:], count: instruments)
        asks = Array(repeating: [:], count: instruments)
        mdseq = Array(repeating: 0, count: instruments)
        inAuction = Array(repeating: false, count: instruments)
        indicative = Array(repeating: (0, 0), count: instruments)
        boards = Array(repeating: QuoteBoard(), count: instruments)
        changed = Set((0..<instruments).map(Int32.init))
        for (i, collecting) in auction.enumerated() where i < instruments { inAuction[i] = collecting }
    }

    mutating func apply(_ e: Event) {
        switch e.kind {
        case .ack:
            // A QUOTE, ACCEPT or CROSS never rests in the anonymous book; its FILLs and CANCELED
            // then find no order here and are passed over.
            if e.verb.isNegotiated { return }
            let o = Order(instrument: e.instrument, side: e.side, price: e.price, leaves: e.qty)
            orders[e.oid] = o
            move(o, by: o.leaves)
        case .fill:
            guard var o = orders[e.oid] else { return }
            move(o, by: -e.qty)
            o.leaves -= e.qty
            orders[e.oid] = o.leaves > 0 ? o : nil
        case .canceled:
            guard let o = orders.removeValue(forKey: e.oid) else { return }
            move(o, by: -o.leaves)
        case .replaced:
            guard var o = orders[e.oid] else { return }
            move(o, by: -o.leaves)
            o.price = e.price
            o.leaves = e.leaves
            move(o, by: o.leaves)
            orders[e.oid] = o.leaves > 0 ? o : nil
        case .trade:
            guard e.instrument >= 0 && Int(e.instrument) < mdseq.count else { return }
            mdseq[Int(e.instrument)] = e.mdseq
            changed.insert(e.instrument)
        case .quote:
            guard e.instrument >= 0 && Int(e.instrument) < mdseq.count else { return }
            // It takes an mdseq the next BOOK carries, but leaves the book as it was.
            mdseq[Int(e.instrument)] = e.mdseq
            boards[Int(e.instrument)].apply(BoardQuote(e))
        case .indicative:
            guard e.instrument >= 0 && Int(e.instrument) < mdseq.count else { return }
            indicative[Int(e.instrument)] = (e.price, e.qty)
            changed.insert(e.instrument)
        case .ok where e.verb == .phase:
            guard e.instrument >= 0 && Int(e.instrument) < mdseq.count else { return }
            // Entering or leaving an auction starts from "nothing would trade" (the matcher then
            // publishes any other price); AUCTION again changes nothing, so the price stands.
            if !(inAuction[Int(e.instrument)] && e.phase == .auction) { indicative[Int(e.instrument)] = (0, 0) }
            inAuction[Int(e.instrument)] = e.phase == .auction
            changed.insert(e.instrument)
        default:
            return
        }
    }

    private mutating func move(_ o: Order, by qty: Int64) {
        guard o.instrument >= 0 && Int(o.instrument) < bids.count && qty != 0 else { return }
        let i = Int(o.instrument)
        changed.insert(o.instrument)
        if o.side == .buy {
            let q = bids[i][o.price, default: 0] + qty
            bids[i][o.price] = q > 0 ? q : nil
        } else {
            let q = asks[i][o.price, default: 0] + qty
            asks[i][o.price] = q > 0 ? q : nil
        }
    }

    /// Appends a picture of each instrument changed since the last call, top `depthMax` levels.
    mutating func pictures(into out: inout [BookPicture]) {
        for i in changed.sorted() { out.append(picture(Int(i))) }
        changed.removeAll(keepingCapacity: true)
    }

    func picture(_ i: Int) -> BookPicture {
        BookPicture(instrument: Int32(i), mdseq: mdseq[i],
                    bids: bids[i].sorted { $0.key > $1.key }.prefix(BookMirror.depthMax).map { ($0.key, $0.value) },
                    asks: asks[i].sorted { $0.key < $1.key }.prefix(BookMirror.depthMax).map { ($0.key, $0.value) },
                    indicative: inAuction[i] ? indicative[i] : nil)
    }
}
