// The client speaks of partitions with the one `TopicPartition` of the project (KafkaProtocol); an app that imports
// FjordClient alone sees it too.
@_exported import struct KafkaProtocol.TopicPartition
