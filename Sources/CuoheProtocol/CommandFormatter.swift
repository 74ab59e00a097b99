import CuoheCore

/// Turns a sequenced `Command` back into a protocol line, for `cuohe journal dump`. Names that
/// were not configured (id -1) and values that did not parse are shown as `?`: the journal keeps
/// what the matcher saw, not the broker's original bytes.
public struct CommandFormatter: Sendable {
    public let directory: Directory

    public init(directory: Directory) { self.directory = directory }

    public func line(_ c: Command) -> String {
        func name(_ names: [String], _ id: Int32) -> String { id >= 0 && Int(id) < names.count ? names[Int(id)] : "?" }
        func number(_ v: Int64) -> String { v >= 0 ? String(v) : "?" }
        func price(_ v: Int64) -> String { v >= 0 ? Decimal4.format(v) : "?" }
        var f: [String] = [Spelling.verb(c.kind)]
        switch c.kind {
        case .new:
            f += ["cid=\(c.cid.text)", "acct=\(name(directory.accounts, c.account))",
                  "sym=\(name(directory.symbols, c.instrument))", "side=\(Spelling.side(c.side))", "qty=\(number(c.qty))"]
            if c.price != Command.absent { f.append("px=\(price(c.price))") }
            if c.type == .market { f.append("type=MARKET") }
            f.append("tif=\(Spelling.tif(c.tif))")
        case .quote, .cross:
            f += ["cid=\(c.cid.text)", "acct=\(name(directory.accounts, c.account))",
                  "sym=\(name(directory.symbols, c.instrument))", "side=\(Spelling.side(c.side))", "qty=\(number(c.qty))",
                  "px=\(price(c.price))"]
            if c.kind == .cross { f += ["ref=\(c.ref.text)", "cp=\(name(directory.brokers, c.counterBroker))"] }
        case .accept:
            f += ["cid=\(c.cid.text)", "acct=\(name(directory.accounts, c.account))", "quote=\(number(c.quoteOid))",
                  "qty=\(number(c.qty))"]
        case .cancel, .status:
            f.append("cid=\(c.cid.text)")
        case .replace:
            f += ["cid=\(c.cid.text)", "newcid=\(c.newCid.text)"]
            if c.qty != Command.absent { f.append("qty=\(number(c.qty))") }
            if c.price != Command.absent { f.append("px=\(price(c.price))") }
        case .halt, .resume:
            f.append("sym=\(name(directory.symbols, c.instrument))")
        case .phase:
            f += ["sym=\(name(directory.symbols, c.instrument))", "phase=\(Spelling.phase(c.phase))"]
        case .roll:
            f.append("date=\(c.date.iso)")
        case .stats, .cancelOnDisconnect:
            break
        case .deposit, .withdraw:
            f += ["acct=\(name(directory.accounts, c.account))", "amount=\(price(c.price))"]
        }
        return f.joined(separator: " ")
    }
}
