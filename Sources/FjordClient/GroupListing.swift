/// A group as ListGroups reports it.
public struct GroupListing: Sendable, Hashable {
    public var groupID: String
    public var protocolType: String
    public var state: String
    public var coordinator: Int32
}
