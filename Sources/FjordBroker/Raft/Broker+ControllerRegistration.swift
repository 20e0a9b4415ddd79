import FjordController
import FjordStorage
import KafkaProtocol
import NIOCore

extension Broker {
    /// A controller's registration with the active controller (KIP-919), nil for a node that is not a controller:
    /// this incarnation (random per process start), its controller listeners with the ports actually bound (a
    /// wildcard host replaced by the host other controllers reach this node at) and the features this build supports.
    func makeControllerRegistration(
        driver: RaftDriver, peers: ControllerPeers, services: BrokerServices, controllerServer: KafkaServer?,
        endpoints: [NodeID: HostAndPort]
    ) -> ControllerRegistrationManager? {
        guard configuration.processRoles.contains(.controller), let controllerServer else { return nil }
        let protocols = configuration.effectiveSecurityProtocolMap
        let wildcards: Set<String> = ["", "0.0.0.0", "::"]
        let listeners = zip(configuration.controllerListeners, controllerServer.boundPorts).map { listener, bound in
            let host =
                wildcards.contains(listener.host)
                ? endpoints[configuration.nodeID]?.host ?? "localhost" : listener.host
            return ControllerRegistrationRequest.Listener(
                name: listener.name, host: host, port: UInt16(clamping: listener.port == 0 ? bound : listener.port),
                securityProtocol: Self.securityProtocolID(protocols[listener.name] ?? .plaintext))
        }
        let request = ControllerRegistrationRequest(
            controllerID: configuration.nodeID, incarnationID: .random(), zkMigrationReady: false,
            listeners: listeners,
            features: FeatureControl.supportedFeatures().map {
                .init(name: $0.name, minSupportedVersion: $0.minVersion, maxSupportedVersion: $0.maxVersion)
            })
        let file = readBootstrapFile()
        let bootstrap = MetadataVersionBootstrap(
            metadata: services.metadata, level: bootstrapMetadataVersion(file), records: bootstrapRecords(file),
            threadPool: services.threadPool, logger: logger)
        return ControllerRegistrationManager(
            request: request, driver: driver, peers: peers, publisher: services.metadata.publisher,
            requestTimeout: .milliseconds(Int64(configuration.quorumRequestTimeoutMs)), logger: logger,
            bootstrap: bootstrap)
    }

    /// The metadata.version a new cluster starts at: `bootstrap.checkpoint`'s in the metadata directory, else the
    /// latest production version (also when the file names a level this build does not know, with a warning).
    private func bootstrapMetadataVersion(_ file: BootstrapMetadataFile?) -> Int16 {
        let latest = MetadataVersion.latestProduction.level
        guard let level = file?.metadataVersionLevel else { return latest }
        guard MetadataVersion(level: level) != nil else {
            logger.warning(
                "bootstrap.checkpoint names an unknown metadata.version; using the latest",
                metadata: ["level": "\(level)"])
            return latest
        }
        return level
    }

    /// The metadata directory's `bootstrap.checkpoint`; nil without one (or unreadable, with a warning: the latest
    /// metadata.version and no other bootstrap records then).
    private func readBootstrapFile() -> BootstrapMetadataFile? {
        do {
            return try BootstrapMetadataFile.read(from: configuration.metadataLogDir)
        } catch {
            logger.warning(
                "bootstrap.checkpoint unreadable; using the latest metadata.version", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The bootstrap records besides the feature levels, decoded (a type this build does not know is skipped).
    private func bootstrapRecords(_ file: BootstrapMetadataFile?) -> [MetadataRecord] {
        (file?.otherRecords ?? []).compactMap { framed in
            do {
                return try MetadataRecord(decoding: framed)
            } catch {
                logger.warning("bootstrap.checkpoint record skipped", metadata: ["error": "\(error)"])
                return nil
            }
        }
    }
}
