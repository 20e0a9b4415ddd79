import KafkaProtocol

/// Producer ids come in blocks recorded in the metadata log, so an id is never handed out twice, even across
/// restarts: a broker takes the block `[nextProducerID, nextProducerID + blockSize)` by committing a
/// `ProducerIDsRecord` whose `nextProducerId` is the end of the block.
public enum ProducerIDCommands {
    public static let blockSize: Int64 = 1000

    /// Reserves the next block for `brokerID`; the response is the block's first id.
    public static func allocateBlock(image: MetadataImage, brokerID: Int32) -> ControllerResult<ClosedRange<Int64>> {
        let start = image.nextProducerID
        let record = ProducerIDsRecord(brokerID: brokerID, brokerEpoch: 0, nextProducerID: start + blockSize)
        return ControllerResult(records: [.producerIDs(record)], response: start...(start + blockSize - 1))
    }
}
