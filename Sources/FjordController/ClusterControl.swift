import KafkaProtocol

/// Cluster membership as the active controller runs it (KIP-631): broker registration, heartbeats, session
/// expiry, controlled shutdown, unregistration and controller registration.
///
/// Like every manager it validates against the committed image and returns records and an answer; the image
/// changes only when the records are replayed. What it also changes at once is the caller's
/// `BrokerHeartbeatTracker`, the soft session state Kafka too keeps outside the log. `nextOffset` is the offset
/// the first returned record will get in the metadata log (the log end offset, counting records appended but not
/// yet committed): a new incarnation's broker epoch is the offset of its `RegisterBrokerRecord`, and a
/// controlled shutdown completes once every active broker has replayed past the records that began it.
///
/// State changes of a broker always produce a `BrokerRegistrationChangeRecord` (every supported metadata.version
/// has it); `FenceBrokerRecord` and `UnfenceBrokerRecord` from older logs are still replayed.
public struct ClusterControl: Sendable {
    /// What BrokerRegistration answers: the outcome and, on success, the broker's epoch.
    public struct RegistrationReply: Sendable, Equatable {
        public var result: ItemResult
        public var brokerEpoch: Int64

        public init(result: ItemResult, brokerEpoch: Int64) {
            self.result = result
            self.brokerEpoch = brokerEpoch
        }

        /// The wire response (it has no error message field: log `result.message`).
        public var response: BrokerRegistrationResponse {
            BrokerRegistrationResponse(errorCode: result.error.rawValue, brokerEpoch: result.isOK ? brokerEpoch : -1)
        }
    }

    /// What BrokerHeartbeat answers.
    public struct HeartbeatReply: Sendable, Equatable {
        public var result: ItemResult
        /// The broker has replayed the log up to its own registration.
        public var isCaughtUp: Bool
        public var isFenced: Bool
        public var inControlledShutdown: Bool
        /// The broker may stop now: it has no leaderships left (or is fenced).
        public var shouldShutDown: Bool

        public init(
            result: ItemResult, isCaughtUp: Bool, isFenced: Bool, inControlledShutdown: Bool, shouldShutDown: Bool
        ) {
            self.result = result
            self.isCaughtUp = isCaughtUp
            self.isFenced = isFenced
            self.inControlledShutdown = inControlledShutdown
            self.shouldShutDown = shouldShutDown
        }

        public var response: BrokerHeartbeatResponse {
            BrokerHeartbeatResponse(
                errorCode: result.error.rawValue, isCaughtUp: isCaughtUp, isFenced: isFenced,
                shouldShutDown: shouldShutDown)
        }

        static func refused(_ result: ItemResult) -> HeartbeatReply {
            HeartbeatReply(
                result: result, isCaughtUp: false, isFenced: true, inControlledShutdown: false, shouldShutDown: false)
        }
    }

    public let image: MetadataImage
    /// This controller's static `unclean.leader.election.enable` (topics and the cluster's dynamic config may
    /// override it).
    public let uncleanLeaderElectionDefault: Bool

    public init(image: MetadataImage, uncleanLeaderElectionDefault: Bool = false) {
        self.image = image
        self.uncleanLeaderElectionDefault = uncleanLeaderElectionDefault
    }

    /// A `LeaderElection` on `image` with this controller's unclean default.
    func election(
        on image: MetadataImage, removing: NodeID?, adding: NodeID?, leaving: Set<NodeID> = [],
        kind: LeaderElection.Kind = .online
    ) -> LeaderElection {
        var election = LeaderElection(image: image, removing: removing, adding: adding, leaving: leaving)
        election.kind = kind
        election.uncleanByDefault = uncleanLeaderElectionDefault
        return election
    }

    // MARK: BrokerRegistration

    /// Registers a broker incarnation, or amends the registration of the same incarnation (same epoch, fencing
    /// kept). A new incarnation starts fenced with epoch `nextOffset`; it is unfenced by a later heartbeat once it
    /// has caught up.
    public func registerBroker(
        _ request: BrokerRegistrationRequest, nextOffset: Int64, tracker: inout BrokerHeartbeatTracker, now: Int64
    ) -> ControllerResult<RegistrationReply> {
        func refuse(_ error: ErrorCode, _ message: String) -> ControllerResult<RegistrationReply> {
            ControllerResult(
                records: [], response: RegistrationReply(result: ItemResult(error, message), brokerEpoch: -1))
        }
        guard request.clusterID == image.clusterID else {
            return refuse(
                .inconsistentClusterID,
                "Expected cluster ID \(image.clusterID), but got cluster ID \(request.clusterID)")
        }
        let id = request.brokerID
        let existing = image.brokerRegistrations[id]
        if let existing, existing.incarnationID != request.incarnationID,
            tracker.hasValidSession(id, image: image, now: now)
        {
            return refuse(.duplicateBrokerRegistration, "Another broker is registered with that broker id.")
        }
        if request.isMigratingZkBroker {
            return refuse(.brokerIDNotRegistered, "Controller does not support registering ZK brokers.")
        }
        if let problem = logDirsProblem(request) { return refuse(.invalidRegistration, problem) }
        var record = RegisterBrokerRecord(
            brokerID: id, incarnationID: request.incarnationID, brokerEpoch: nextOffset,
            endPoints: request.listeners.map {
                .init(name: $0.name, host: $0.host, port: $0.port, securityProtocol: $0.securityProtocol)
            },
            rack: request.rack, fenced: true, logDirs: request.logDirs)
        switch registeredFeatures(request) {
        case .failure(let refusal):
            return ControllerResult(records: [], response: RegistrationReply(result: refusal, brokerEpoch: -1))
        case .success(let features): record.features = features
        }
        let sameIncarnation = existing?.incarnationID == request.incarnationID
        if let existing, sameIncarnation {
            record.brokerEpoch = existing.epoch
            record.fenced = existing.isFenced
            record.inControlledShutdown = existing.inControlledShutdown
        } else {
            tracker.remove(id)
        }
        tracker.touch(id, now: now, metadataOffset: -1, fenced: record.fenced)
        return ControllerResult(
            records: [.registerBroker(record)],
            response: RegistrationReply(result: .ok, brokerEpoch: record.brokerEpoch))
    }

    /// The broker's supported features for its record, or why it cannot join: every finalized feature must be in
    /// the range the broker supports. A broker that names no metadata.version range supports only 3.0-IV1 (1),
    /// as Kafka assumes; a finalized feature it does not name it supports only at level 0.
    private func registeredFeatures(_ request: BrokerRegistrationRequest) -> Result<
        [RegisterBrokerRecord.BrokerFeature], ItemResult
    > {
        var recorded = request.features.map {
            (name: $0.name, min: $0.minSupportedVersion, max: $0.maxSupportedVersion)
        }
        if !recorded.contains(where: { $0.name == MetadataVersion.featureName }) {
            recorded.append((MetadataVersion.featureName, 1, 1))
        }
        var finalized = image.finalizedFeatures
        finalized[MetadataVersion.featureName] = image.metadataVersion.level
        let unnamed = finalized.keys.sorted().filter { name in
            finalized[name] != 0 && !recorded.contains { $0.name == name }
        }
        for range in recorded + unnamed.map({ (name: $0, min: Int16(0), max: Int16(0)) }) {
            let level = finalized[range.name] ?? 0
            guard range.min <= level && level <= range.max else {
                return .failure(
                    ItemResult(
                        .unsupportedVersion,
                        "Unable to register because the broker does not support finalized version \(level) of "
                            + "\(range.name). The broker wants a version between \(range.min) and \(range.max), "
                            + "inclusive."
                    ))
            }
        }
        return .success(
            recorded.map { .init(name: $0.name, minSupportedVersion: $0.min, maxSupportedVersion: $0.max) })
    }

    /// From 3.7-IV2 a broker names its log directories (KIP-858): some, none reserved, none twice, none another
    /// broker's.
    private func logDirsProblem(_ request: BrokerRegistrationRequest) -> String? {
        guard image.metadataVersion.level >= MetadataVersion.directoryAssignment else { return nil }
        if request.logDirs.isEmpty { return "No directories specified in request" }
        // Kafka reserves the ids with zero high bits and low bits below 100 (UNASSIGNED, LOST, MIGRATING, ...).
        if request.logDirs.contains(where: { $0.high == 0 && $0.low < 100 }) {
            return "Reserved directory ID in request"
        }
        if Set(request.logDirs).count != request.logDirs.count { return "Duplicate directory ID in request" }
        for directory in request.logDirs {
            if let owner = image.brokerRegistrations.values.first(where: {
                $0.id != request.brokerID && $0.logDirs.contains(directory)
            }) {
                return "Broker \(owner.id) is already registered with directory \(directory)"
            }
        }
        return nil
    }

    // MARK: Unregistration and controllers

    /// Removes a broker (UnregisterBroker, API 64): it leaves every ISR and leadership, then its registration goes.
    public func unregisterBroker(_ id: NodeID, tracker: inout BrokerHeartbeatTracker) -> ControllerResult<ItemResult> {
        guard let registration = image.brokerRegistrations[id] else {
            return ControllerResult(
                records: [], response: ItemResult(.brokerIDNotRegistered, "Broker ID \(id) is not currently registered")
            )
        }
        var records = election(on: image, removing: id, adding: nil)
            .changes(for: image.partitions(withInSyncReplica: id))
        records.append(.unregisterBroker(UnregisterBrokerRecord(brokerID: id, brokerEpoch: registration.epoch)))
        tracker.remove(id)
        return ControllerResult(records: records, response: .ok)
    }

    /// Records a controller's registration (ControllerRegistration, API 70; KIP-919), from 3.7-IV0.
    public func registerController(_ request: ControllerRegistrationRequest) -> ControllerResult<ItemResult> {
        guard image.metadataVersion.level >= MetadataVersion.controllerRegistration else {
            return ControllerResult(
                records: [],
                response: ItemResult(
                    .unsupportedVersion,
                    "The current MetadataVersion is too old to support controller registrations."))
        }
        let record = RegisterControllerRecord(
            controllerID: request.controllerID, incarnationID: request.incarnationID, zkMigrationReady: false,
            endPoints: request.listeners.map {
                .init(name: $0.name, host: $0.host, port: $0.port, securityProtocol: $0.securityProtocol)
            },
            features: request.features.map {
                .init(
                    name: $0.name, minSupportedVersion: $0.minSupportedVersion,
                    maxSupportedVersion: $0.maxSupportedVersion)
            })
        return ControllerResult(records: [.registerController(record)], response: .ok)
    }
}
