/// A problem with a spec file or the output folder, reported with the file it concerns.
public struct CodegenError: Error, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
