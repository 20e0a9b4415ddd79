import KafkaProtocol

/// Config changes for topics and the broker as pure commands: validate every key and value, then return
/// `ConfigRecord`s (a nil value deletes an override).
public struct ConfigCommands: Sendable {
    /// IncrementalAlterConfigs operations (`AlterConfigOp.OpType`).
    public enum Operation: Int8, Sendable {
        case set = 0
        case delete = 1
        case append = 2
        case subtract = 3
    }

    public struct Change: Sendable {
        public var name: String
        public var operation: Operation
        public var value: String?

        public init(name: String, operation: Operation, value: String?) {
            self.name = name
            self.operation = operation
            self.value = value
        }
    }

    public let image: MetadataImage
    public let nodeID: NodeID

    public init(image: MetadataImage, nodeID: NodeID) {
        self.image = image
        self.nodeID = nodeID
    }

    /// The definition a key has for a resource: topic keys for topics; for the broker, the broker-side synonyms
    /// of topic keys (`log.retention.ms`, ...), which become the default of every topic.
    static func definition(for name: String, type: ConfigResourceType) -> ConfigDefinition? {
        switch type {
        case .topic: return TopicConfigs.byName[name]
        case .broker:
            if let brokerKey = BrokerDynamicConfigs.byName[name] { return brokerKey }
            guard let topicKey = TopicConfigs.all.first(where: { $0.brokerSynonym == name }) else { return nil }
            var definition = topicKey
            definition.name = name
            return definition
        default: return nil
        }
    }

    /// Checks the resource exists and may be changed here.
    func checkResource(type: Int8, name: String) -> ItemResult? {
        switch ConfigResourceType(rawValue: type) {
        case .topic:
            if image.topic(named: name) == nil {
                return ItemResult(.unknownTopicOrPartition, "Topic \(name) does not exist")
            }
        case .broker:
            // The cluster-wide default (""), or one broker's own configs (its id), as Kafka's controller takes them.
            if !name.isEmpty, NodeID(name).map({ $0 < 0 }) ?? true {
                return ItemResult(
                    .invalidRequest, "Unexpected broker id, expected a broker id or empty string, but received \(name)")
            }
        default:
            return ItemResult(.invalidRequest, "Unsupported resource type \(type)")
        }
        return nil
    }

    private func current(type: ConfigResourceType, name: String) -> [String: String] {
        if type == .topic { return image.topic(named: name)?.configs ?? [:] }
        return name.isEmpty ? image.brokerConfigs : NodeID(name).flatMap { image.nodeConfigs[$0] } ?? [:]
    }

    /// IncrementalAlterConfigs for one resource.
    public func incrementalAlter(type: Int8, name: String, changes: [Change]) -> ControllerResult<ItemResult> {
        if let problem = checkResource(type: type, name: name) {
            return ControllerResult(records: [], response: problem)
        }
        let resourceType = ConfigResourceType(rawValue: type)!
        var values = current(type: resourceType, name: name)
        var touched = Set<String>()
        for change in changes {
            guard touched.insert(change.name).inserted else {
                return ControllerResult(
                    records: [], response: ItemResult(.invalidRequest, "Error due to duplicate config keys"))
            }
            guard let definition = Self.definition(for: change.name, type: resourceType) else {
                return ControllerResult(
                    records: [],
                    response: ItemResult(
                        .invalidConfig,
                        "Unknown \(resourceType == .topic ? "topic" : "broker") config name: \(change.name)"))
            }
            switch change.operation {
            case .set:
                guard let value = change.value else {
                    return ControllerResult(
                        records: [],
                        response: ItemResult(.invalidConfig, "Null value not supported for : \(change.name)"))
                }
                values[change.name] = value
            case .delete:
                values[change.name] = nil
            case .append, .subtract:
                guard definition.kind.isList else {
                    return ControllerResult(
                        records: [],
                        response: ItemResult(
                            .invalidConfig, "Config value append is not allowed for config key: \(change.name)"))
                }
                let existing = (values[change.name] ?? definition.defaultValue).split(separator: ",").map(String.init)
                let items = (change.value ?? "").split(separator: ",").map(String.init)
                let updated =
                    change.operation == .append
                    ? existing + items.filter { !existing.contains($0) } : existing.filter { !items.contains($0) }
                values[change.name] = updated.joined(separator: ",")
            }
            if let value = values[change.name], let problem = definition.validate(value) {
                return ControllerResult(records: [], response: ItemResult(.invalidConfig, problem))
            }
        }
        return ControllerResult(records: records(type: resourceType, name: name, to: values), response: .ok)
    }

    /// AlterConfigs (the legacy API) for one resource: the given configs replace every override.
    public func replace(type: Int8, name: String, configs: [(name: String, value: String?)]) -> ControllerResult<
        ItemResult
    > {
        if let problem = checkResource(type: type, name: name) {
            return ControllerResult(records: [], response: problem)
        }
        let resourceType = ConfigResourceType(rawValue: type)!
        var values = [String: String]()
        for config in configs {
            guard let definition = Self.definition(for: config.name, type: resourceType) else {
                return ControllerResult(
                    records: [],
                    response: ItemResult(
                        .invalidConfig,
                        "Unknown \(resourceType == .topic ? "topic" : "broker") config name: \(config.name)"))
            }
            guard let value = config.value else {
                return ControllerResult(
                    records: [], response: ItemResult(.invalidConfig, "Null value not supported for : \(config.name)"))
            }
            if let problem = definition.validate(value) {
                return ControllerResult(records: [], response: ItemResult(.invalidConfig, problem))
            }
            values[config.name] = value
        }
        return ControllerResult(records: records(type: resourceType, name: name, to: values), response: .ok)
    }

    /// The records that turn the current overrides into `values`.
    private func records(type: ConfigResourceType, name: String, to values: [String: String]) -> [MetadataRecord] {
        let before = current(type: type, name: name)
        var records = [MetadataRecord]()
        for key in Set(before.keys).union(values.keys).sorted() where before[key] != values[key] {
            records.append(
                .config(ConfigRecord(resourceType: type.rawValue, resourceName: name, name: key, value: values[key])))
        }
        return records
    }
}
