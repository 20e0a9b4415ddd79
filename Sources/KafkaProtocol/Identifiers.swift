/// The ids Kafka passes around as bare integers, named where they are declared so that a signature says which
/// one it takes (`leaderEpoch: LeaderEpoch`, `producerID: ProducerID`). Aliases of the wire types, so generated
/// messages and stored records carry them unchanged.

/// A broker's or controller's `node.id`.
public typealias NodeID = Int32

/// A partition leader's epoch: bumped by every leadership change, stamped on each batch the leader appends.
public typealias LeaderEpoch = Int32

/// An idempotent or transactional producer, as InitProducerId hands it out (-1: none).
public typealias ProducerID = Int64

/// A producer's epoch: bumped to fence an older instance of the same producer (-1: none).
public typealias ProducerEpoch = Int16
