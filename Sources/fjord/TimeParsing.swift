import Foundation

/// Parsing of the times and durations the commands accept.
enum TimeParsing {
    /// Milliseconds since the epoch from `@1700000000000`, a bare epoch-ms number (when `allowBareNumber`), or
    /// ISO-8601 (`2026-11-26T10:00:00Z`, `2026-11-26T10:00:00.250+01:00`, `2026-11-26` as midnight UTC).
    static func epochMilliseconds(_ text: String, allowBareNumber: Bool) -> Int64? {
        if text.hasPrefix("@"), let ms = Int64(text.dropFirst()), ms >= 0 { return ms }
        if allowBareNumber, let ms = Int64(text), ms >= 0 { return ms }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime], [.withFullDate],
        ] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        // Without a zone: read as UTC.
        if !text.hasSuffix("Z"), !text.contains("+"), text.contains("T") {
            return epochMilliseconds(text + "Z", allowBareNumber: false)
        }
        return nil
    }

    /// Milliseconds in `1h`, `30m`, `45s`, `250ms`, `2d`, `1h30m`, or ISO-8601 `PnDTnHnMnS` (`P1DT2H`, `PT15M`).
    static func durationMilliseconds(_ text: String) -> Int64? {
        var rest = Substring(text.uppercased())
        guard !rest.isEmpty else { return nil }
        var total: Int64 = 0
        if rest.hasPrefix("P") {
            rest = rest.dropFirst()
            var inTime = false
            var number = ""
            var sawUnit = false
            for char in rest {
                if char == "T" {
                    inTime = true
                    continue
                }
                if char.isNumber || char == "." {
                    number.append(char)
                    continue
                }
                guard let value = Double(number) else { return nil }
                number = ""
                let unit: Double
                switch (char, inTime) {
                case ("W", false): unit = 7 * 86_400_000
                case ("D", false): unit = 86_400_000
                case ("H", true): unit = 3_600_000
                case ("M", true): unit = 60_000
                case ("S", true): unit = 1000
                default: return nil
                }
                total += Int64(value * unit)
                sawUnit = true
            }
            return number.isEmpty && sawUnit ? total : nil
        }
        var number = ""
        var unit = ""
        var sawUnit = false
        func flush() -> Bool {
            guard let value = Double(number) else { return false }
            let factor: Double
            switch unit {
            case "MS": factor = 1
            case "S": factor = 1000
            case "M": factor = 60_000
            case "H": factor = 3_600_000
            case "D": factor = 86_400_000
            case "W": factor = 7 * 86_400_000
            default: return false
            }
            total += Int64(value * factor)
            number = ""
            unit = ""
            sawUnit = true
            return true
        }
        for char in rest {
            if char.isNumber || char == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(char)
            } else {
                unit.append(char)
            }
        }
        if !number.isEmpty || !unit.isEmpty { guard flush() else { return nil } }
        return sawUnit ? total : nil
    }

    /// Now, in milliseconds since the epoch.
    static var nowMilliseconds: Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// `2026-11-26T10:00:00.123Z` for a timestamp in milliseconds.
    static func iso8601(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}

/// Where `fjord consume --from` starts.
enum StartPosition: Equatable {
    case beginning
    case end
    case offset(Int64)
    case time(Int64)

    /// `beginning`, `end`, an offset (`42`), `@<epoch ms>`, or an ISO-8601 time.
    init?(_ text: String) {
        switch text.lowercased() {
        case "beginning", "earliest", "start": self = .beginning
        case "end", "latest": self = .end
        default:
            if let offset = Int64(text), offset >= 0 {
                self = .offset(offset)
            } else if let ms = TimeParsing.epochMilliseconds(text, allowBareNumber: false) {
                self = .time(ms)
            } else {
                return nil
            }
        }
    }
}
