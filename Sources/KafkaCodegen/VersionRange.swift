/// A range of message versions as the Kafka specs write them: `"3+"`, `"0-4"`, `"2"` or `"none"`.
struct VersionRange: Equatable, Sendable {
    /// Upper bound of an open range ("3+").
    static let unbounded = Int(Int16.max)

    var lowest: Int
    var highest: Int

    static let none = VersionRange(lowest: 1, highest: 0)

    var isEmpty: Bool { lowest > highest }

    init(lowest: Int, highest: Int) {
        self.lowest = lowest
        self.highest = highest
    }

    init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "none" {
            self = .none
        } else if trimmed.hasSuffix("+"), let low = Int(trimmed.dropLast()) {
            self.init(lowest: low, highest: Self.unbounded)
        } else if let dash = trimmed.firstIndex(of: "-"),
            let low = Int(trimmed[..<dash]), let high = Int(trimmed[trimmed.index(after: dash)...])
        {
            self.init(lowest: low, highest: high)
        } else if let single = Int(trimmed) {
            self.init(lowest: single, highest: single)
        } else {
            throw CodegenError("bad version range '\(text)'")
        }
    }

    func contains(_ version: Int) -> Bool { !isEmpty && version >= lowest && version <= highest }

    func intersection(_ other: VersionRange) -> VersionRange {
        VersionRange(lowest: max(lowest, other.lowest), highest: min(highest, other.highest))
    }

    /// A Swift condition on `version` that holds inside this range, simplified against the versions that can
    /// occur at all (`within`); nil when it holds for every such version, "false" when for none.
    func condition(within valid: VersionRange, variable: String = "version") -> String? {
        let effective = intersection(valid)
        if effective.isEmpty { return "false" }
        let needsLow = effective.lowest > valid.lowest
        let needsHigh = effective.highest < valid.highest
        switch (needsLow, needsHigh) {
        case (false, false): return nil
        case (true, false): return "\(variable) >= \(effective.lowest)"
        case (false, true): return "\(variable) <= \(effective.highest)"
        case (true, true):
            if effective.lowest == effective.highest { return "\(variable) == \(effective.lowest)" }
            return "(\(effective.lowest)...\(effective.highest)).contains(\(variable))"
        }
    }
}
