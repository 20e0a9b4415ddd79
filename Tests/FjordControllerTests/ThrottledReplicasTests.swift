import FjordController
import Testing

/// `leader.replication.throttled.replicas` / `follower.replication.throttled.replicas` as Kafka's
/// `ThrottledReplicaListValidator` takes them, and which replicas they throttle.
@Suite struct ThrottledReplicasTests {
    @Test func theWildcardThrottlesEveryReplica() {
        #expect(ThrottledReplicas(parsing: " * ") == .all)
        #expect(ThrottledReplicas(parsing: "*")?.throttles(partition: 7, broker: 3) == true)
    }

    @Test func pairsThrottleTheirPartitionOnTheirBrokerOnly() throws {
        let replicas = try #require(ThrottledReplicas(parsing: "0:1, 0:2,3:1"))
        #expect(replicas.throttles(partition: 0, broker: 2))
        #expect(replicas.throttles(partition: 3, broker: 1))
        #expect(!replicas.throttles(partition: 3, broker: 2))
        #expect(!replicas.throttles(partition: 1, broker: 1))
        #expect(ThrottledReplicas(parsing: "")?.throttles(partition: 0, broker: 1) == false)
    }

    @Test func anythingElseIsRefusedWithKafkasMessage() {
        #expect(ThrottledReplicas(parsing: "0:1,") == .some([.init(partition: 0, broker: 1)]), "as Java's split")
        for bad in ["0", "0:1,,1:2", "a:1", "0:-1", "*,0:1", "0:1:2"] {
            #expect(ThrottledReplicas(parsing: bad) == nil, "\(bad)")
        }
        let definition = TopicConfigs.byName["leader.replication.throttled.replicas"]!
        #expect(definition.validate("1:x")?.contains("Must be the literal '*'") == true)
        #expect(definition.validate("0:1,1:2") == nil)
    }
}
