import Testing

@testable import FjordClient

struct PartitionerTests {
    @Test func keyedRecordsUseMurmur2() {
        var partitioner = Partitioner()
        for _ in 0..<3 {
            #expect(partitioner.partition(topic: "t", key: Array("kafka".utf8), partitionCount: 7) == 3)
        }
    }

    @Test func keylessRecordsStickUntilTheBatchCloses() {
        var partitioner = Partitioner()
        let first = partitioner.partition(topic: "t", key: nil, partitionCount: 6)
        for _ in 0..<50 { #expect(partitioner.partition(topic: "t", key: nil, partitionCount: 6) == first) }
        partitioner.batchClosed(topic: "t", partition: first, partitionCount: 6)
        let second = partitioner.partition(topic: "t", key: nil, partitionCount: 6)
        #expect(second != first)
        #expect((0..<6).contains(second))
        // A batch closing on another partition does not move the sticky choice.
        partitioner.batchClosed(topic: "t", partition: first, partitionCount: 6)
        #expect(partitioner.partition(topic: "t", key: nil, partitionCount: 6) == second)
    }

    @Test func singlePartitionTopicsStayPut() {
        var partitioner = Partitioner()
        #expect(partitioner.partition(topic: "t", key: nil, partitionCount: 1) == 0)
        partitioner.batchClosed(topic: "t", partition: 0, partitionCount: 1)
        #expect(partitioner.partition(topic: "t", key: nil, partitionCount: 1) == 0)
    }

    @Test func stickyChoicesCoverEveryPartitionOverTime() {
        var partitioner = Partitioner()
        var seen = Set<Int32>()
        for _ in 0..<200 {
            let p = partitioner.partition(topic: "t", key: nil, partitionCount: 4)
            seen.insert(p)
            partitioner.batchClosed(topic: "t", partition: p, partitionCount: 4)
        }
        #expect(seen == [0, 1, 2, 3])
    }
}
