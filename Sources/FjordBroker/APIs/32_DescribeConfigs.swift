// DescribeConfigs v1-v4: every topic config with its value, source (topic override, dynamic broker, static broker,
// default), synonyms (v1+ when asked), type and documentation (v3+); broker resources list the broker-side
// defaults of topic configs and the properties the broker was started with. Unknown topic:
// UNKNOWN_TOPIC_OR_PARTITION for that resource only.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct DescribeConfigsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 1...4
    let services: BrokerServices

    typealias Entry = DescribeConfigsResponse.DescribeConfigsResourceResult

    func handle(_ request: DescribeConfigsRequest, context: RequestContext) -> EventLoopFuture<DescribeConfigsResponse>
    {
        let image = services.image
        let results = request.resources.map { resource -> DescribeConfigsResponse.DescribeConfigsResult in
            var result = DescribeConfigsResponse.DescribeConfigsResult(
                resourceType: resource.resourceType, resourceName: resource.resourceName)
            if let refusal = services.configRefusal(
                context, .describeConfigs, resourceType: resource.resourceType, name: resource.resourceName)
            {
                result.errorCode = refusal.rawValue
                result.errorMessage = "Authorization failed."
                return result
            }
            var entries: [Entry]
            switch ConfigResourceType(rawValue: resource.resourceType) {
            case .topic:
                guard let topic = image.topic(named: resource.resourceName) else {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    result.errorMessage = "Topic \(resource.resourceName) does not exist"
                    return result
                }
                entries = topicEntries(topic, image: image, request: request)
            case .broker:
                guard resource.resourceName.isEmpty || resource.resourceName == String(services.configuration.nodeID)
                else {
                    result.errorCode = ErrorCode.invalidRequest.rawValue
                    result.errorMessage = "Unexpected broker id \(resource.resourceName)"
                    return result
                }
                entries = brokerEntries(image: image, request: request)
            default:
                result.errorCode = ErrorCode.invalidRequest.rawValue
                result.errorMessage = "Unsupported resource type \(resource.resourceType)"
                return result
            }
            if let keys = resource.configurationKeys { entries = entries.filter { keys.contains($0.name) } }
            result.configs = entries
            return result
        }
        return context.eventLoop.makeSucceededFuture(DescribeConfigsResponse(results: results))
    }

    private func topicEntries(_ topic: MetadataImage.Topic, image: MetadataImage, request: DescribeConfigsRequest)
        -> [Entry]
    {
        TopicConfigs.all.map { definition in
            let resolved = EffectiveTopicConfig.resolve(
                definition, topic: topic, image: image, brokerProperties: services.configuration.properties,
                nodeID: services.configuration.nodeID)
            return entry(
                definition, value: resolved.value, source: resolved.source, synonyms: resolved.synonyms,
                request: request)
        }
    }

    private func brokerEntries(image: MetadataImage, request: DescribeConfigsRequest) -> [Entry] {
        var entries = [Entry]()
        // The dynamic broker keys (the topic keys' broker synonyms and the replication throttles): this broker's
        // own value, the cluster-wide one, the static property, the default.
        let dynamicKeys =
            TopicConfigs.all.compactMap { definition -> ConfigDefinition? in
                guard let synonym = definition.brokerSynonym else { return nil }
                var brokerDefinition = definition
                brokerDefinition.name = synonym
                return brokerDefinition
            } + BrokerDynamicConfigs.all
        for definition in dynamicKeys {
            let synonym = definition.name
            var synonyms = [(name: String, value: String, source: Int8)]()
            if let value = image.nodeConfigs[services.configuration.nodeID]?[synonym] {
                synonyms.append((synonym, value, EffectiveTopicConfig.Source.dynamicBroker))
            }
            if let value = image.brokerConfigs[synonym] {
                synonyms.append((synonym, value, EffectiveTopicConfig.Source.dynamicDefaultBroker))
            }
            if let value = EffectiveTopicConfig.staticBrokerValue(
                synonym, brokerProperties: services.configuration.properties)
            {
                synonyms.append((synonym, value, EffectiveTopicConfig.Source.staticBroker))
            }
            synonyms.append((synonym, definition.defaultValue, EffectiveTopicConfig.Source.defaultValue))
            entries.append(
                entry(
                    definition, value: synonyms[0].value, source: synonyms[0].source, synonyms: synonyms,
                    request: request))
        }
        let listed = Set(entries.map(\.name))
        let properties = services.configuration.properties
        let keys = Set(properties.keys).union(BrokerConfiguration.defaultValues.keys).subtracting(listed)
        for key in keys.sorted() {
            var synonyms = [(name: String, value: String, source: Int8)]()
            if let value = properties[key] { synonyms.append((key, value, EffectiveTopicConfig.Source.staticBroker)) }
            if let value = BrokerConfiguration.defaultValues[key] {
                synonyms.append((key, value, EffectiveTopicConfig.Source.defaultValue))
            }
            entries.append(
                Entry(
                    name: key, value: synonyms[0].value, readOnly: true,
                    isDefault: synonyms[0].source == EffectiveTopicConfig.Source.defaultValue,
                    configSource: synonyms[0].source, isSensitive: false,
                    synonyms: request.includeSynonyms
                        ? synonyms.map { .init(name: $0.name, value: $0.value, source: $0.source) } : [],
                    configType: Self.describeType(of: BrokerConfiguration.knownKeys[key]), documentation: nil
                ))
        }
        return entries.sorted { $0.name < $1.name }
    }

    /// Kafka's `ConfigType` code for a broker key's kind.
    static func describeType(of kind: BrokerConfiguration.ValueKind?) -> Int8 {
        switch kind {
        case .bool: return 1
        case .int: return 3
        case .long: return 5
        case .double: return 6
        case .list, .listenerList: return 7
        default: return 2
        }
    }

    private func entry(
        _ definition: ConfigDefinition, value: String, source: Int8,
        synonyms: [(name: String, value: String, source: Int8)], request: DescribeConfigsRequest
    ) -> Entry {
        Entry(
            name: definition.name, value: value, readOnly: false,
            isDefault: source == EffectiveTopicConfig.Source.defaultValue,
            configSource: source, isSensitive: false,
            synonyms: request.includeSynonyms
                ? synonyms.map { .init(name: $0.name, value: $0.value, source: $0.source) } : [],
            configType: definition.kind.describeType,
            documentation: request.includeDocumentation ? definition.documentation : nil
        )
    }
}
