import FjordController
import FjordSecurity
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers

/// The broker's authorizer (`authorizer.class.name`): Kafka's `StandardAuthorizer` decision over the ACLs of the
/// current metadata image, asked by the handlers. Off (nil in `BrokerServices`) when no authorizer is configured:
/// then every request is allowed and the ACL APIs answer SECURITY_DISABLED, as Kafka's brokers do.
///
/// The decision structure is rebuilt when a published image carries other ACLs (a listener of the publisher: the
/// comparison is cheap while the ACLs are unchanged, as they share storage with the previous image's), so a request
/// reads one value under a short lock.
final class BrokerAuthorizer: Sendable {
    /// The class name Kafka's KRaft brokers configure for the ACL authorizer.
    static let standardAuthorizerClassName = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"

    private struct Current {
        var acls: [KafkaUUID: AclBinding]
        var authorizer: StandardAuthorizer
    }

    private let current: NIOLockedValueBox<Current>
    private let superUsers: Set<String>
    private let allowEveryoneIfNoAclFound: Bool
    private let logger: Logger

    init(configuration: BrokerConfiguration, publisher: MetadataPublisher, logger: Logger) {
        superUsers = configuration.superUsers
        allowEveryoneIfNoAclFound = configuration.allowEveryoneIfNoAclFound
        self.logger = logger
        let acls = publisher.image.acls
        current = NIOLockedValueBox(
            Current(
                acls: acls,
                authorizer: StandardAuthorizer(
                    bindings: acls.values, superUsers: configuration.superUsers,
                    allowEveryoneIfNoAclFound: configuration.allowEveryoneIfNoAclFound)))
        publisher.onPublish { [weak self] image in self?.imagePublished(image) }
    }

    private func imagePublished(_ image: MetadataImage) {
        guard current.withLockedValue({ $0.acls != image.acls }) else { return }
        let authorizer = StandardAuthorizer(
            bindings: image.acls.values, superUsers: superUsers, allowEveryoneIfNoAclFound: allowEveryoneIfNoAclFound)
        current.withLockedValue { $0 = Current(acls: image.acls, authorizer: authorizer) }
    }

    /// Whether the request's principal, from its host, may do `operation` on the resource. A denial is logged at
    /// info, as Kafka's authorizer logger does.
    func authorize(
        _ context: RequestContext, _ operation: AclOperation, _ resourceType: AclResourceType, _ name: String,
        logIfDenied: Bool = true
    ) -> Bool {
        let decision = current.withLockedValue { $0.authorizer }.authorize(
            context.principal, host: context.clientHost, operation: operation, resourceType: resourceType,
            name: name)
        if !decision.isAllowed && logIfDenied {
            logger.info(
                "request denied",
                metadata: [
                    "principal": "\(context.principal)", "host": "\(context.clientHost)",
                    "operation": "\(operation)", "resource": "\(resourceType):\(name)",
                    "api": "\(context.header.requestApiKey)",
                ])
        }
        return decision.isAllowed
    }

    /// Whether the request's principal may do `operation` on some resource of `resourceType` (Kafka's
    /// `authorizeByResourceType`).
    func authorizeAny(_ context: RequestContext, _ operation: AclOperation, _ resourceType: AclResourceType) -> Bool {
        current.withLockedValue { $0.authorizer }.authorizeAny(
            context.principal, host: context.clientHost, operation: operation, resourceType: resourceType)
    }

    /// The operations the request's principal may do on the resource, as an authorized-operations field: every
    /// operation of the type without an authorizer, as Kafka reports.
    static func authorizedOperations(
        _ authorizer: BrokerAuthorizer?, _ context: RequestContext, _ resourceType: AclResourceType, _ name: String
    ) -> Int32 {
        let supported = resourceType.supportedOperations
        guard let authorizer else { return AclOperation.bitField(supported) }
        return AclOperation.bitField(
            supported.filter { authorizer.authorize(context, $0, resourceType, name, logIfDenied: false) })
    }

    /// The ACLs `filter` selects, grouped by resource pattern in a stable order (DescribeAcls).
    func acls(matching filter: AclBindingFilter) -> [(ResourcePattern, [AccessControlEntry])] {
        let acls = current.withLockedValue { $0.acls }
        var grouped: [ResourcePattern: [AccessControlEntry]] = [:]
        for binding in acls.values where filter.matches(binding) {
            grouped[binding.pattern, default: []].append(binding.entry)
        }
        return grouped.sorted { order($0.key) < order($1.key) }.map { pattern, entries in
            (pattern, entries.sorted { $0.description < $1.description })
        }
    }

    private func order(_ pattern: ResourcePattern) -> String {
        "\(pattern.resourceType.rawValue)\u{0}\(pattern.patternType.rawValue)\u{0}\(pattern.name)"
    }
}
