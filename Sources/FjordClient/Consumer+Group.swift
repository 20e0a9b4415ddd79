import KafkaProtocol
import NIOCore

/// Consumer group membership: `subscribe`, and the classic protocol (JoinGroup → leader assigns → SyncGroup,
/// heartbeats, rejoining, leaving). The KIP-848 protocol is in Consumer+ConsumerProtocol.swift.
extension Consumer {
    /// Joins the configured group and reads the partitions of `topics` it assigns to this member.
    public func subscribe(topics: [String], listener: RebalanceListener = RebalanceListener()) throws {
        try subscribe(.topics(Set(topics)), listener: listener)
    }

    /// Joins the group for every topic whose whole name matches the regular expression `pattern` (Swift `Regex`
    /// syntax; internal topics never match). Topics created later join the subscription at the next rebalance
    /// (classic: the member checks every `metadataMaxAge`; consumer protocol: the coordinator matches the pattern).
    public func subscribe(pattern: String, listener: RebalanceListener = RebalanceListener()) throws {
        do {
            _ = try Regex(pattern)
        } catch {
            throw ClientError(.invalidArgument, "invalid pattern \(pattern)", isRetriable: false, cause: error)
        }
        try subscribe(.pattern(pattern), listener: listener)
    }

    private func subscribe(_ subscription: Subscription, listener: RebalanceListener) throws {
        guard configuration.groupID != nil else {
            throw ClientError(.invalidArgument, "subscribe() needs a group id", isRetriable: false)
        }
        guard usesConsumerProtocol || !configuration.assignors.isEmpty else {
            throw ClientError(.invalidArgument, "no partition assignor configured", isRetriable: false)
        }
        if self.subscription == nil && !assignment.isEmpty { setAssignment([]) }
        self.subscription = subscription
        self.rebalanceListener = listener
        needsRejoin = true
        wakeLoop()
        if usesConsumerProtocol { wakeHeartbeat() }
    }

    /// Leaves the group and stops reading.
    public func unsubscribe() async {
        guard subscription != nil else { return }
        await leaveGroup()
        subscription = nil
        setAssignment([])
    }

    func requestRejoin() {
        needsRejoin = true
        wakeLoop()
    }

    /// The topics the subscription names now.
    func subscribedTopics() async throws -> [String] {
        switch subscription {
        case .topics(let topics)?:
            return topics.sorted()
        case .pattern(let pattern)?:
            let regex = try Regex(pattern)
            let metadata = try await client.refreshMetadata(allTopics: true)
            return metadata.topics.values.filter { !$0.isInternal && (try? regex.wholeMatch(in: $0.name)) != nil }
                .map(\.name).sorted()
        case nil:
            return []
        }
    }

    /// Rejoins when needed; otherwise nothing.
    func ensureActiveGroup() async throws {
        guard needsRejoin || generationID < 0 else { return }
        rebalancing = true
        defer { rebalancing = false }
        do {
            try await joinAndSync()
        } catch {
            // Any failure (network, coordinator moved) means another round; the coordinator is looked up again.
            needsRejoin = true
            if let group = configuration.groupID, (error as? ClientError)?.code != .group {
                await client.invalidateCoordinator(key: group)
            }
            throw error
        }
    }

    private var cooperative: Bool {
        configuration.assignors.allSatisfy(\.isCooperative)
    }

    /// One complete rebalance round for this member.
    private func joinAndSync() async throws {
        guard let group = configuration.groupID else { return }
        let listener = rebalanceListener ?? RebalanceListener()
        let topics = try await subscribedTopics()
        joinedTopics = topics
        lastPatternCheck = .now
        await client.track(topics: topics)
        if !cooperative && !assignment.isEmpty {
            // Eager: give up everything before joining.
            let revoked = assignment.sorted()
            if case .auto = configuration.commitMode { try? await commit() }
            await listener.onRevoked(revoked)
            setAssignment([])
        }
        let coordinator = try await client.findCoordinator(key: group)
        self.coordinator = coordinator
        needsRejoin = false
        let joined = try await join(group: group, coordinator: coordinator, topics: topics, listener: listener)
        let assigned = try await sync(group: group, coordinator: coordinator, joined: joined, listener: listener)
        generationID = joined.generationID
        let change = AssignmentReconciliation(owned: assignment, target: assigned, cooperative: cooperative)
        if !change.revoked.isEmpty {
            if case .auto = configuration.commitMode {
                try? await commit(offsets: positions.filter { change.revoked.contains($0.key) })
            }
            await listener.onRevoked(change.revoked)
        }
        if change.rejoin { needsRejoin = true }
        setAssignment(assigned)
        if !change.assigned.isEmpty || !cooperative { await listener.onAssigned(change.assigned) }
        logger.debug(
            "joined group",
            metadata: ["group": "\(group)", "generation": "\(joined.generationID)", "assigned": "\(assigned.sorted())"]
        )
    }

    /// JoinGroup, including the MEMBER_ID_REQUIRED round; returns the successful response.
    private func join(
        group: String, coordinator: Int32, topics: [String], listener: RebalanceListener
    ) async throws -> JoinGroupResponse {
        var subscriptionData = ConsumerProtocolSubscription()
        subscriptionData.topics = topics
        subscriptionData.ownedPartitions = Dictionary(grouping: assignment, by: \.topic).sorted { $0.key < $1.key }.map
        {
            ConsumerProtocolSubscription.TopicPartition(topic: $0.key, partitions: $0.value.map(\.partition).sorted())
        }
        subscriptionData.generationID = generationID
        let metadata = Self.versioned(subscriptionData, version: 3)
        var join = JoinGroupRequest()
        join.groupID = group
        join.sessionTimeoutMs = configuration.sessionTimeout.millisecondsInt32
        join.rebalanceTimeoutMs = configuration.rebalanceTimeout.millisecondsInt32
        join.groupInstanceID = configuration.groupInstanceID
        join.protocolType = "consumer"
        join.protocols = configuration.assignors.map { .init(name: $0.name, metadata: metadata) }
        join.reason = nil
        while true {
            join.memberID = memberID
            let response = try await client.send(
                join, to: coordinator, timeout: configuration.rebalanceTimeout + .seconds(5)
            )
            let code = ErrorCode(rawValue: response.errorCode)
            switch code {
            case .none:
                memberID = response.memberID
                protocolName = response.protocolName
                return response
            case .memberIDRequired:
                memberID = response.memberID
            case .unknownMemberID, .illegalGeneration, .fencedInstanceID:
                memberID = ""
                generationID = -1
                await loseAssignment(listener)
                throw ClientError(.group, "JoinGroup: member reset", kafkaError: code, isRetriable: true)
            case .notCoordinator, .coordinatorNotAvailable, .rebalanceInProgress, .coordinatorLoadInProgress:
                if KafkaClient.isCoordinatorError(code) { await client.invalidateCoordinator(key: group) }
                throw ClientError(.group, "JoinGroup must be retried", kafkaError: code, isRetriable: true)
            default:
                throw ClientError.kafka(response.errorCode, "JoinGroup failed", broker: coordinator)!
            }
        }
    }

    /// SyncGroup (with the leader's assignments); returns this member's decoded assignment.
    private func sync(
        group: String, coordinator: Int32, joined: JoinGroupResponse, listener: RebalanceListener
    ) async throws -> Set<TopicPartition> {
        var sync = SyncGroupRequest()
        sync.groupID = group
        sync.generationID = joined.generationID
        sync.memberID = memberID
        sync.groupInstanceID = configuration.groupInstanceID
        sync.protocolType = "consumer"
        sync.protocolName = joined.protocolName
        if joined.leader == joined.memberID && !joined.skipAssignment {
            sync.assignments = try await leaderAssignments(joined)
        }
        let synced = try await client.send(sync, to: coordinator)
        let code = ErrorCode(rawValue: synced.errorCode)
        guard code == .none else {
            if code == .unknownMemberID || code == .illegalGeneration || code == .fencedInstanceID {
                if code == .unknownMemberID { memberID = "" }
                generationID = -1
                await loseAssignment(listener)
            }
            throw ClientError(.group, "SyncGroup failed", kafkaError: code, isRetriable: true, broker: coordinator)
        }
        return Set(Admin.decodeAssignment(synced.assignment))
    }

    private func loseAssignment(_ listener: RebalanceListener) async {
        guard !assignment.isEmpty else { return }
        let lost = assignment.sorted()
        setAssignment([])
        await listener.onLost(lost)
    }

    /// The leader's job: decode every member's subscription, run the chosen assignor, encode the assignments.
    private func leaderAssignments(_ response: JoinGroupResponse) async throws
        -> [SyncGroupRequest.SyncGroupRequestAssignment]
    {
        guard let name = response.protocolName,
            let assignor = configuration.assignors.first(where: { $0.name == name })
        else {
            throw ClientError(
                .group, "the group chose unknown assignor \(response.protocolName ?? "nil")", isRetriable: false)
        }
        var members: [GroupMemberSubscription] = []
        for member in response.members {
            let decoded = Self.decodeSubscription(member.metadata)
            members.append(
                GroupMemberSubscription(
                    memberID: member.memberID, groupInstanceID: member.groupInstanceID, topics: decoded.topics,
                    ownedPartitions: decoded.ownedPartitions.flatMap { t in
                        t.partitions.map { TopicPartition(t.topic, $0) }
                    },
                    generationID: decoded.generationID
                )
            )
        }
        let topics = Set(members.flatMap(\.topics))
        let metadata = try await client.refreshMetadata(topics: Array(topics))
        var counts: [String: Int] = [:]
        for topic in topics { counts[topic] = metadata.partitionCount(of: topic) }
        let plan = assignor.assign(members: members, partitionsPerTopic: counts)
        return members.map { member in
            var assignment = ConsumerProtocolAssignment()
            assignment.assignedPartitions = Dictionary(grouping: plan[member.memberID] ?? [], by: \.topic)
                .sorted { $0.key < $1.key }
                .map { .init(topic: $0.key, partitions: $0.value.map(\.partition).sorted()) }
            return .init(memberID: member.memberID, assignment: Self.versioned(assignment, version: 3))
        }
    }

    static func versioned<M: KafkaVersionedMessage>(_ message: M, version: Int16) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        buffer.writeInteger(version)
        message.write(to: &buffer, version: version)
        return buffer
    }

    static func decodeSubscription(_ bytes: ByteBuffer) -> ConsumerProtocolSubscription {
        var body = bytes
        guard let version = body.readInteger(as: Int16.self) else { return ConsumerProtocolSubscription() }
        let valid = ConsumerProtocolSubscription.validVersions
        let clamped = min(max(version, valid.lowerBound), valid.upperBound)
        return (try? ConsumerProtocolSubscription(from: &body, version: clamped)) ?? ConsumerProtocolSubscription()
    }

    // MARK: Background tasks of run()

    /// Heartbeats every `heartbeatInterval` while the member is in a generation, independent of how fast the
    /// application reads `records`.
    func heartbeatLoop() async throws {
        if usesConsumerProtocol {
            await consumerProtocolLoop()
            return
        }
        while !closed {
            guard (try? await Task.sleep(for: configuration.heartbeatInterval)) != nil else { return }
            try await heartbeat()
            await checkPatternSubscription()
        }
    }

    /// A pattern subscription is matched against all topics again every `metadataMaxAge` (Kafka does the same
    /// on its metadata refresh); when the matching topics changed, the member rejoins with the new list.
    private func checkPatternSubscription() async {
        guard case .pattern = subscription, !closing, generationID >= 0,
            lastPatternCheck + configuration.client.metadataMaxAge <= .now
        else { return }
        lastPatternCheck = .now
        guard let topics = try? await subscribedTopics(), topics != joinedTopics else { return }
        logger.debug("pattern subscription changed", metadata: ["topics": "\(topics)"])
        requestRejoin()
    }

    private func heartbeat() async throws {
        guard let group = configuration.groupID, subscription != nil, generationID >= 0, let coordinator,
            !needsRejoin, !closing, !rebalancing
        else { return }
        var request = HeartbeatRequest()
        request.groupID = group
        request.generationID = generationID
        request.memberID = memberID
        request.groupInstanceID = configuration.groupInstanceID
        let response: HeartbeatResponse
        do {
            response = try await client.send(request, to: coordinator)
        } catch {
            logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
            return
        }
        switch ErrorCode(rawValue: response.errorCode) {
        case .none:
            break
        case .rebalanceInProgress:
            requestRejoin()
        case .unknownMemberID, .illegalGeneration, .fencedInstanceID:
            if ErrorCode(rawValue: response.errorCode) == .unknownMemberID { memberID = "" }
            generationID = -1
            await loseAssignment(rebalanceListener ?? RebalanceListener())
            requestRejoin()
        case .notCoordinator, .coordinatorNotAvailable:
            self.coordinator = nil
            await client.invalidateCoordinator(key: group)
            requestRejoin()
        default:
            logger.debug("heartbeat error", metadata: ["code": "\(response.errorCode)"])
        }
    }

    /// Commits delivered positions every `interval`.
    func autoCommitLoop(interval: Duration) async throws {
        while !closed {
            guard (try? await Task.sleep(for: interval)) != nil else { return }
            guard !closed, !closing, !rebalancing, subscription == nil || isGroupMember else { continue }
            do {
                try await commit()
            } catch {
                logger.debug("auto-commit failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Sends LeaveGroup so the group rebalances at once instead of after the session timeout.
    func leaveGroup() async {
        if usesConsumerProtocol {
            await leaveConsumerGroup()
            return
        }
        guard let group = configuration.groupID, !memberID.isEmpty else { return }
        if !assignment.isEmpty, let listener = rebalanceListener { await listener.onRevoked(assignment.sorted()) }
        setAssignment([])
        // Static members do not leave: the coordinator keeps their partitions for the session timeout.
        guard configuration.groupInstanceID == nil else { return }
        var request = LeaveGroupRequest()
        request.groupID = group
        request.memberID = memberID
        request.members = [
            LeaveGroupRequest.MemberIdentity(memberID: memberID, groupInstanceID: nil, reason: "closing")
        ]
        if let coordinator = try? await client.findCoordinator(key: group) {
            _ = try? await client.send(request, to: coordinator)
        }
        memberID = ""
        generationID = -1
    }
}
