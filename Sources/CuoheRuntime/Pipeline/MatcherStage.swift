import CuoheCore

/// One slot of the rings after the matcher.
enum MatchedItem: BitwiseCopyable {
    case event(Event)
    /// The next answer in the sequencer's side queue (for egress).
    case answer
    /// The next snapshot in the notes is ready (matcher → settlement only).
    case snapshot
    case end
}

/// What the matcher stage hands the settlement stage beside the events.
enum SettlementNote {
    case dayClose(DayClose)
    case snapshot(seq: UInt64, clock: Int64, payload: [UInt8])
}

/// The second stage: the matching core. It applies durable commands and hands their events on; at
/// a day's close it adds its side of the books (what only it knows), and when the sequencer asks,
/// the bytes of a snapshot.
struct MatcherStage: ~Copyable {
    var matcher: Matcher
    var events = EventBuffer(capacity: 1 << 14)
    let notes: SideQueue<SettlementNote>
    let metrics: PipelineMetrics

    /// Handles a batch into `out`; true once the end has passed.
    mutating func handle(_ items: UnsafeBufferPointer<SequencedItem>, into out: inout StageOutput<MatchedItem>) -> Bool {
        for item in items {
            switch item {
            case .command(let command):
                // Only before a ROLL does the matcher still know the closing day's reference prices.
                let closing = command.kind == .roll ? DayPrices(openDayOf: matcher) : nil
                events.removeAll()
                matcher.process(command, into: &events)
                for e in 0..<events.count {
                    let event = events[e]
                    if event.kind == .ok && event.verb == .roll {
                        notes.push(.dayClose(DayClose(matcher, closing: closing!)))
                    }
                    out.append(.event(event))
                }
            case .answer:
                out.append(.answer)
            case .snapshot(let seq, let clock):
                notes.push(.snapshot(seq: seq, clock: clock, payload: matcher.snapshot()))
                out.append(.snapshot)
            case .end:
                out.append(.end)
                publishCounters()
                return true
            }
        }
        publishCounters()
        return false
    }

    /// The core's own counters, copied where other threads may read them.
    func publishCounters() {
        let c = matcher.counters
        metrics.commandsMatched.set(UInt64(c.commands))
        metrics.ordersAccepted.set(UInt64(c.ordersAccepted))
        metrics.trades.set(UInt64(c.trades))
        metrics.rejects.set(UInt64(c.rejects))
        metrics.restingOrders.set(UInt64(matcher.liveOrderCount))
    }
}
