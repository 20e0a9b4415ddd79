import Foundation
import Glibc

/// Printing for commands: aligned text tables, JSON documents, and messages on standard error.
enum Output {
    /// Prints `value` as one line of JSON.
    static func json(_ value: JSONValue) {
        print(value.rendered)
    }

    /// Prints rows under a header, each column padded to its widest cell.
    static func table(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let isLast = index == cells.count - 1
                parts.append(isLast ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0))
            }
            return parts.joined(separator: "  ")
        }
        print(line(header))
        for row in rows { print(line(row)) }
    }

    /// Writes a line to standard error.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Whether standard error is a terminal (for progress lines updated in place).
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Flushes standard output (lines printed while a consumer keeps running).
    static func flush() {
        fflush(nil)
    }
}

/// Ends the process with `code` (the global `exit`, which ParsableCommand's `exit(withError:)` shadows).
func terminate(_ code: Int32) -> Never {
    exit(code)
}
