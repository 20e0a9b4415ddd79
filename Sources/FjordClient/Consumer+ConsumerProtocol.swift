import KafkaProtocol

/// KIP-848 consumer group membership (`groupProtocol == .consumer`): ConsumerGroupHeartbeat joins (epoch 0),
/// heartbeats, reconciles the coordinator's assignment and leaves (-1, or -2 for a static member). No JoinGroup,
/// SyncGroup or client-side assignor.
extension Consumer {
    /// The member's side of the consumer protocol, owned by the heartbeat loop.
    struct ConsumerProtocolState {
        /// The member epoch the coordinator gave; 0 while (re)joining.
        var memberEpoch: Int32 = 0
        /// The interval the coordinator asked for (nil until the first answer).
        var heartbeatInterval: Duration?
        /// The last assignment received, while it is not fully reconciled (some topic id unknown).
        var target: [KafkaUUID: Set<Int32>]?
        /// The ids of the topics the member owns partitions of, for reporting them.
        var topicIDs: [String: KafkaUUID] = [:]
        /// The partitions the coordinator last heard the member own; nil: report them in the next heartbeat.
        var reportedOwned: Set<TopicPartition>?
        /// The subscription the coordinator knows; nil: send it in the next heartbeat.
        var reportedSubscription: Subscription?
        /// Successful heartbeats so far (a commit that drew STALE_MEMBER_EPOCH waits for the next one).
        var heartbeats = 0
        /// Bumped when the member leaves: answers to heartbeats sent before are ignored.
        var incarnation = 0
        /// Whether the member is leaving: no heartbeat goes out meanwhile.
        var leaving = false
        /// Whether the heartbeat loop is reconciling (running listener callbacks): no heartbeat can come meanwhile.
        var reconciling = false
        var waiter: CheckedContinuation<Void, Never>?
        var wakePending = false

        /// Back to a member that has to join with epoch 0 (the member id stays).
        mutating func reset() {
            memberEpoch = 0
            target = nil
            reportedOwned = nil
            reportedSubscription = nil
        }
    }

    /// Error codes FjordClient's KafkaProtocol has no name for.
    private static let groupIDNotFound = ErrorCode(rawValue: 69)
    private static let invalidRegularExpression = ErrorCode(rawValue: 128)

    var usesConsumerProtocol: Bool { configuration.groupProtocol == .consumer }

    /// The generation (classic) or member epoch (consumer protocol) commits carry; -1 outside a group.
    var commitGeneration: Int32 {
        guard subscription != nil else { return -1 }
        return usesConsumerProtocol ? consumerProtocol.memberEpoch : generationID
    }

    /// Whether the member is in the group (a generation or a member epoch), so that commits may be sent.
    var isGroupMember: Bool {
        usesConsumerProtocol ? consumerProtocol.memberEpoch > 0 : generationID >= 0
    }

    // MARK: The heartbeat loop

    /// Heartbeats while subscribed: at once when joining, after a reconciliation changed what the member owns and
    /// when woken (subscription changed, a commit needs a fresh epoch); otherwise every interval the coordinator
    /// asked for.
    func consumerProtocolLoop() async {
        while !closed && !Task.isCancelled {
            var delay = configuration.client.retryBackoff
            if subscription != nil, !closing, !consumerProtocol.leaving {
                delay = await consumerHeartbeat()
            } else {
                delay = configuration.heartbeatInterval
            }
            guard !closed && !Task.isCancelled else { return }
            await waitForHeartbeatWake(timeout: delay)
        }
    }

    func wakeHeartbeat() {
        if let waiter = consumerProtocol.waiter {
            consumerProtocol.waiter = nil
            waiter.resume()
        } else {
            consumerProtocol.wakePending = true
        }
    }

    private func waitForHeartbeatWake(timeout: Duration) async {
        if consumerProtocol.wakePending || timeout <= .zero {
            consumerProtocol.wakePending = false
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                await self.wakeHeartbeat()
            }
            await withCheckedContinuation { consumerProtocol.waiter = $0 }
            group.cancelAll()
        }
        consumerProtocol.wakePending = false
    }

    /// Whether a commit that drew STALE_MEMBER_EPOCH may wait for the next heartbeat: not while the heartbeat loop
    /// itself is committing (revocation, listener callbacks) and not while closing (no more heartbeats).
    var canAwaitNextHeartbeat: Bool {
        usesConsumerProtocol && subscription != nil && !consumerProtocol.reconciling && !consumerProtocol.leaving
            && !closing && !closed
    }

    /// Waits (bounded) until one more heartbeat succeeded, asking for it at once.
    func awaitNextHeartbeat() async {
        guard canAwaitNextHeartbeat else { return }
        let seen = consumerProtocol.heartbeats
        wakeHeartbeat()
        let deadline =
            ContinuousClock.now + (consumerProtocol.heartbeatInterval ?? configuration.heartbeatInterval)
            + configuration.client.requestTimeout
        while consumerProtocol.heartbeats == seen && !closed && ContinuousClock.now < deadline {
            guard (try? await Task.sleep(for: .milliseconds(20))) != nil else { return }
        }
    }

    /// The next ConsumerGroupHeartbeat: only what changed since the coordinator last heard from the member (all of
    /// it when joining). Returns how long to wait before the next one.
    private func consumerHeartbeat() async -> Duration {
        guard let group = configuration.groupID, let subscription else { return configuration.heartbeatInterval }
        if memberID.isEmpty { memberID = KafkaUUID.random().description }
        if consumerProtocol.target != nil { await reconcileConsumerAssignment() }
        let incarnation = consumerProtocol.incarnation
        let owned = assignment
        let request = heartbeatRequest(group: group, subscription: subscription, owned: owned)
        let response: ConsumerGroupHeartbeatResponse
        let coordinator: Int32
        do {
            coordinator = try await client.findCoordinator(key: group)
            response = try await client.send(request, to: coordinator)
        } catch let error as ClientError where error.code == .unsupportedVersion {
            failConsumer(
                ClientError(
                    .group, "the coordinator does not serve ConsumerGroupHeartbeat (group.protocol=consumer)",
                    isRetriable: false, cause: error
                ))
            return .zero
        } catch {
            logger.debug("consumer group heartbeat failed", metadata: ["error": "\(error)"])
            await client.invalidateCoordinator(key: group)
            consumerProtocol.reportedOwned = nil
            consumerProtocol.reportedSubscription = nil
            return configuration.client.retryBackoff
        }
        guard incarnation == consumerProtocol.incarnation, !closing, !consumerProtocol.leaving, self.subscription != nil
        else { return .zero }
        let code = ErrorCode(rawValue: response.errorCode)
        switch code {
        case .none:
            if let id = response.memberID, !id.isEmpty { memberID = id }
            consumerProtocol.memberEpoch = response.memberEpoch
            consumerProtocol.heartbeatInterval =
                response.heartbeatIntervalMs > 0
                ? .milliseconds(Int64(response.heartbeatIntervalMs)) : configuration.heartbeatInterval
            if request.topicPartitions != nil { consumerProtocol.reportedOwned = owned }
            if request.subscribedTopicNames != nil { consumerProtocol.reportedSubscription = subscription }
            consumerProtocol.heartbeats += 1
            if let target = response.assignment {
                consumerProtocol.target = Dictionary(
                    target.topicPartitions.map { ($0.topicID, Set($0.partitions)) }, uniquingKeysWith: { $0.union($1) }
                )
                await reconcileConsumerAssignment()
            }
            // Report a reconciliation (released partitions above all) at once.
            if consumerProtocol.reportedOwned != assignment { return .zero }
            return consumerProtocol.heartbeatInterval ?? configuration.heartbeatInterval
        case .fencedMemberEpoch, .unknownMemberID:
            logger.debug("consumer group member fenced", metadata: ["group": "\(group)", "code": "\(code.rawValue)"])
            consumerProtocol.reset()
            await loseConsumerAssignment()
            return .zero
        case .unreleasedInstanceID, .groupMaxSizeReached, .unsupportedAssignor, Self.invalidRegularExpression,
            .invalidRequest, Self.groupIDNotFound, .groupAuthorizationFailed, .unsupportedVersion:
            failConsumer(
                ClientError(
                    .group, "ConsumerGroupHeartbeat failed: \(response.errorMessage ?? "error \(code.rawValue)")",
                    kafkaError: code, isRetriable: false, broker: coordinator
                ))
            return .zero
        default:
            if KafkaClient.isCoordinatorError(code) || code == .coordinatorLoadInProgress {
                await client.invalidateCoordinator(key: group)
            }
            logger.debug("consumer group heartbeat error", metadata: ["code": "\(code.rawValue)"])
            consumerProtocol.reportedOwned = nil
            consumerProtocol.reportedSubscription = nil
            return configuration.client.retryBackoff
        }
    }

    /// The heartbeat to send: everything when joining (epoch 0: subscription, rebalance timeout, assignor, no owned
    /// partitions); afterwards the subscription only when it changed and the owned partitions (by topic id) only
    /// when they differ from what the coordinator last heard.
    private func heartbeatRequest(
        group: String, subscription: Subscription, owned: Set<TopicPartition>
    ) -> ConsumerGroupHeartbeatRequest {
        let joining = consumerProtocol.memberEpoch == 0
        var request = ConsumerGroupHeartbeatRequest()
        request.groupID = group
        request.memberID = memberID
        request.memberEpoch = consumerProtocol.memberEpoch
        request.instanceID = configuration.groupInstanceID
        request.rebalanceTimeoutMs = joining ? configuration.rebalanceTimeout.millisecondsInt32 : -1
        if joining || consumerProtocol.reportedSubscription != subscription {
            switch subscription {
            case .topics(let topics):
                request.subscribedTopicNames = topics.sorted()
                request.subscribedTopicRegex = ""
            case .pattern(let pattern):
                // The coordinator matches the same `Regex` syntax against whole topic names, as `subscribe` does.
                request.subscribedTopicNames = []
                request.subscribedTopicRegex = pattern
            }
            request.serverAssignor = configuration.remoteAssignor
        }
        if joining {
            request.topicPartitions = []
        } else if consumerProtocol.reportedOwned != owned {
            request.topicPartitions = Dictionary(grouping: owned, by: \.topic).sorted { $0.key < $1.key }.compactMap {
                guard let id = consumerProtocol.topicIDs[$0.key] else { return nil }
                return .init(topicID: id, partitions: $0.value.map(\.partition).sorted())
            }
        }
        return request
    }

    /// Ends the consumer with an error `records` throws.
    private func failConsumer(_ error: ClientError) {
        logger.error("consumer failed", metadata: ["error": "\(error)"])
        fatalError = error
        closed = true
        wakeReader()
        wakeLoop()
    }

    // MARK: Reconciliation

    /// Moves the member to the last assignment received: revokes what left it (commit in auto mode, `onRevoked`),
    /// then starts what is new (`onAssigned`). Topic ids are resolved through metadata, refreshed when one is
    /// unknown; partitions of topics still unknown wait for the next heartbeat.
    private func reconcileConsumerAssignment() async {
        guard let target = consumerProtocol.target else { return }
        let incarnation = consumerProtocol.incarnation
        var names = Dictionary(consumerProtocol.topicIDs.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        func learn(_ metadata: ClusterMetadata) {
            for topic in metadata.topics.values where topic.topicID != .zero && target[topic.topicID] != nil {
                names[topic.topicID] = topic.name
            }
        }
        learn(await client.cachedMetadata)
        if target.keys.contains(where: { names[$0] == nil }) {
            do {
                learn(try await client.refreshMetadata(allTopics: true))
            } catch {
                logger.debug("metadata refresh for assigned topic ids failed", metadata: ["error": "\(error)"])
            }
        }
        guard incarnation == consumerProtocol.incarnation, !closing, !consumerProtocol.leaving, subscription != nil
        else { return }
        let step = ConsumerProtocolReconciliation(owned: assignment, target: target, names: names)
        if step.unresolved.isEmpty { consumerProtocol.target = nil }
        for (id, name) in names where target[id] != nil { consumerProtocol.topicIDs[name] = id }
        guard !step.isEmpty else { return }
        consumerProtocol.reconciling = true
        defer { consumerProtocol.reconciling = false }
        await client.track(topics: Set(step.owned.map(\.topic)))
        let listener = rebalanceListener ?? RebalanceListener()
        if !step.revoked.isEmpty {
            if case .auto = configuration.commitMode {
                let revoked = Set(step.revoked)
                do {
                    try await commit(offsets: positions.filter { revoked.contains($0.key) })
                } catch {
                    logger.debug("commit before revocation failed", metadata: ["error": "\(error)"])
                }
            }
            await listener.onRevoked(step.revoked)
        }
        guard incarnation == consumerProtocol.incarnation, !closing, !consumerProtocol.leaving, subscription != nil
        else { return }
        setAssignment(assignment.subtracting(step.revoked).union(step.assigned))
        if !step.assigned.isEmpty { await listener.onAssigned(step.assigned) }
        logger.debug(
            "reconciled consumer group assignment",
            metadata: [
                "epoch": "\(consumerProtocol.memberEpoch)", "revoked": "\(step.revoked)",
                "assigned": "\(step.assigned)",
            ]
        )
    }

    /// Fenced: everything owned is lost (not revoked: another member may own it already, so nothing is committed).
    private func loseConsumerAssignment() async {
        guard !assignment.isEmpty else { return }
        let lost = assignment.sorted()
        setAssignment([])
        await (rebalanceListener ?? RebalanceListener()).onLost(lost)
    }

    // MARK: Leaving

    /// Revokes what the member owns and sends the leave heartbeat: epoch -1, or -2 for a static member (the
    /// coordinator keeps its place and assignment for the session timeout).
    func leaveConsumerGroup() async {
        guard let group = configuration.groupID else { return }
        // Answers to heartbeats already out are ignored from here on; the epoch stays valid for commits in
        // `onRevoked` until the leave heartbeat.
        consumerProtocol.incarnation += 1
        consumerProtocol.leaving = true
        defer { consumerProtocol.leaving = false }
        if !assignment.isEmpty, let listener = rebalanceListener { await listener.onRevoked(assignment.sorted()) }
        setAssignment([])
        consumerProtocol.reset()
        guard !memberID.isEmpty else { return }  // a join may be out even before the first answer
        var request = ConsumerGroupHeartbeatRequest()
        request.groupID = group
        request.memberID = memberID
        request.memberEpoch = configuration.groupInstanceID == nil ? -1 : -2
        request.instanceID = configuration.groupInstanceID
        do {
            let coordinator = try await client.findCoordinator(key: group)
            let response = try await client.send(request, to: coordinator)
            if response.errorCode != 0 {
                logger.debug("leaving the consumer group failed", metadata: ["code": "\(response.errorCode)"])
            }
        } catch {
            logger.debug("leaving the consumer group failed", metadata: ["error": "\(error)"])
        }
    }
}
