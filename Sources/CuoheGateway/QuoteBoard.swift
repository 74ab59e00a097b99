import CuoheCore

/// One change of an instrument's quote board, as a `quote` event tells it: quote `qid` now has
/// `qty` open (0: gone). It keeps what its `QUOTE` line says, `mdseq` and `ts` included, so a
/// late subscriber is sent the very line the others last got for that quote.
struct BoardQuote: Sendable, BitwiseCopyable {
    var instrument: Int32
    var broker: Int32
    var side: Side
    var qid: Int64
    var qty: Int64
    var price: Int64
    var mdseq: Int64
    var ts: Int64

    init(_ e: Event) {
        instrument = e.instrument
        broker = e.broker
        side = e.side
        qid = e.oid
        qty = e.qty
        price = e.price
        mdseq = e.mdseq
        ts = e.ts
    }

    /// The `quote` event it came from, for the formatter.
    var event: Event {
        var e = Event(kind: .quote, broker: broker, ts: ts)
        e.instrument = instrument
        e.side = side
        e.oid = qid
        e.qty = qty
        e.price = price
        e.mdseq = mdseq
        return e
    }
}

/// One instrument's live quotes in qid order, each as of its last change. The engine bounds how
/// many there are (`EngineLimits.quotesPerDayMax` a day across the market, and each expires by the
/// day's end).
///
/// A quote that goes is only marked (qty 0) and the array compacted once the marked outnumber the
/// live: quotes mostly go oldest first, and taking each out of the front of a large board would
/// move the rest every time. Qids only grow, so a new quote is appended.
struct QuoteBoard: Sendable {
    private var entries: [BoardQuote] = []
    private(set) var count = 0

    init() {}

    mutating func apply(_ q: BoardQuote) {
        let i = firstIndex(after: q.qid - 1)
        let found = i < entries.count && entries[i].qid == q.qid
        if found && entries[i].qty > 0 {
            entries[i] = q
            if q.qty == 0 { gone() }
        } else if !found && q.qty > 0 {
            entries.insert(q, at: i)
            count += 1
        }
    }

    private mutating func gone() {
        count -= 1
        if entries.count - count > max(count, 32) { entries.removeAll { $0.qty == 0 } }
    }

    /// The position of the first entry whose qid is above `qid`.
    private func firstIndex(after qid: Int64) -> Int {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].qid <= qid { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The live quotes with a qid above `qid`, in qid order, while `take` returns true; true when
    /// it reached the end.
    func forEach(after qid: Int64, _ take: (BoardQuote) -> Bool) -> Bool {
        for q in entries[firstIndex(after: qid)...] where q.qty > 0 {
            if !take(q) { return false }
        }
        return true
    }

    /// Every live quote, in qid order.
    var quotes: [BoardQuote] { entries.filter { $0.qty > 0 } }
}
