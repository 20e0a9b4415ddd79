import KafkaProtocol

enum KafkaUUIDValue {
    static func make() -> KafkaUUID { KafkaUUID(high: 0x0102_0304_0506_0708, low: 0x0910_1112_1314_1516) }
}
