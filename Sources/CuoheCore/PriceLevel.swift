/// All resting orders at one price on one side: an intrusive FIFO through `RestingOrder.next` and
/// `prev`, oldest first, so time priority within the level is the list order.
public struct PriceLevel: Sendable, BitwiseCopyable {
    /// The oldest order (first to trade), or -1.
    public var head: Int32
    /// The newest order, or -1.
    public var tail: Int32
    public var orderCount: Int32
    /// The sum of the orders' `leaves`.
    public var qty: Int64

    public static let empty = PriceLevel(head: -1, tail: -1, orderCount: 0, qty: 0)

    public var isEmpty: Bool { head < 0 }
}
