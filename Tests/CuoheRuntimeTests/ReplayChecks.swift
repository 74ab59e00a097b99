import XCTest
import CuoheCore
@testable import CuoheRuntime

/// What the replay-driven rule tests share: output lines compared without their `ts=`, and the
/// ledger looked up by name.
enum ReplayChecks {
    /// Replay output as lines, each without its `ts=` field.
    static func untimed(_ text: String) -> [String] {
        text.split(separator: "\n").map {
            $0.replacingOccurrences(of: #" ts=\d+"#, with: "", options: .regularExpression)
        }
    }

    /// Fails, showing both, unless `actual` is `expected`'s lines.
    static func assertLines(_ actual: [String], _ expected: String, file: StaticString, line: UInt) {
        let wanted = expected.split(separator: "\n").map(String.init)
        if actual != wanted {
            XCTFail("output differs\n--- expected\n\(wanted.joined(separator: "\n"))\n--- actual\n\(actual.joined(separator: "\n"))",
                    file: file, line: line)
        }
    }
}

extension Replay {
    /// An account's balances, by name.
    func account(_ name: String) -> AccountBalance {
        matcher.ledger.accounts[Int(directory.account(name))]
    }

    /// An account's register line in an instrument, by names, if it has one.
    func position(_ name: String, _ sym: String) -> Position? {
        let p = matcher.ledger.register.findPosition(account: directory.account(name), instrument: directory.symbol(sym))
        return p >= 0 ? matcher.ledger.register.positions[Int(p)] : nil
    }
}
