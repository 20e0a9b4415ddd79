import KafkaProtocol

extension KafkaUUID {
    /// Whether Kafka reserves this id for a directory (`DirectoryId.reserved`: the first 100 values, which include
    /// `Uuid.RESERVED` — zero, one and the metadata topic id — and UNASSIGNED, LOST, MIGRATING).
    public var isReservedDirectoryID: Bool { high == 0 && low < 100 }

    /// A random id as Kafka draws cluster and directory ids (`Uuid.randomUuid`, `Copier.generateValidDirectoryId`):
    /// never reserved, and never one whose text starts with `-` (it would read as a command-line option).
    public static func randomIdentifier() -> KafkaUUID {
        while true {
            let candidate = KafkaUUID.random()
            if !candidate.isReservedDirectoryID && !candidate.base64URLEncoded.hasPrefix("-") { return candidate }
        }
    }
}
