/// The cluster as DescribeCluster (or Metadata) reports it.
public struct ClusterDescription: Sendable {
    public var clusterID: String?
    public var controllerID: Int32
    public var brokers: [Int32: BrokerAddress]
}
