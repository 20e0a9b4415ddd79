import KafkaProtocol

/// BrokerHeartbeat, session expiry and controlled shutdown.
///
/// As the controller sees it a broker is fenced, unfenced or in controlled shutdown; a heartbeat may also be
/// answered "shut down now". Every edge (`nextState` decides them, Kafka's `BrokerHeartbeatManager` rules):
/// - fenced → shutdownNow: it asks to shut down (wantShutDown);
/// - fenced → unfenced: it does not ask to stay fenced and has replayed the log up to its own registration;
/// - unfenced → shutdownNow: wantShutDown with wantFence, or wantShutDown while it leads no partition;
/// - unfenced → fenced: wantFence; also when its session expires (`fenceExpiredBrokers`);
/// - unfenced → controlledShutdown: wantShutDown while it leads partitions;
/// - controlledShutdown → shutdownNow: it leads nothing any more and every active broker has replayed past the
///   records that began the shutdown (so none still sends it requests);
/// - controlledShutdown → fenced: its session expires.
///
/// Entering fenced or shutdownNow fences the broker: it leaves every ISR and leadership. Entering unfenced elects
/// it for the leaderless partitions it can lead. Entering controlled shutdown marks it so and moves its leaderships
/// to other active ISR members (leader -1 when there is none, as with replication factor 1).
extension ClusterControl {
    enum BrokerState: Equatable {
        case fenced, unfenced, controlledShutdown, shutdownNow

        var isFenced: Bool { self == .fenced || self == .shutdownNow }
    }

    /// Handles a heartbeat: checks the broker epoch, moves the broker between states as above, and refreshes its
    /// session in `tracker`. STALE_BROKER_EPOCH for an unknown broker or another incarnation's epoch.
    public func heartbeat(
        _ request: BrokerHeartbeatRequest, nextOffset: Int64, tracker: inout BrokerHeartbeatTracker, now: Int64
    ) -> ControllerResult<HeartbeatReply> {
        let id = request.brokerID
        guard let registration = image.brokerRegistrations[id] else {
            return ControllerResult(
                records: [],
                response: .refused(ItemResult(.staleBrokerEpoch, "No broker registration found for broker id \(id)")))
        }
        guard registration.epoch == request.brokerEpoch else {
            return ControllerResult(
                records: [],
                response: .refused(
                    ItemResult(
                        .staleBrokerEpoch,
                        "Expected broker epoch \(registration.epoch), but got broker epoch \(request.brokerEpoch)")))
        }
        let session = tracker.session(id, image: image)!
        let current: BrokerState =
            session.isFenced ? .fenced : session.isShuttingDown ? .controlledShutdown : .unfenced
        let isCaughtUp = request.currentMetadataOffset >= registration.registrationOffset
        let next = nextState(
            from: current, request: request, isCaughtUp: isCaughtUp, session: session, tracker: tracker)
        var records = [MetadataRecord]()
        if next != current {
            switch next {
            case .fenced, .shutdownNow: records = fence(id, in: image)
            case .unfenced: records = unfence(id, in: image)
            case .controlledShutdown: records = beginControlledShutdown(id, in: image)
            }
        }
        tracker.touch(id, now: now, metadataOffset: request.currentMetadataOffset, fenced: next.isFenced)
        if next == .controlledShutdown {
            tracker.beginControlledShutdown(id, at: nextOffset + Int64(records.count) - 1)
        }
        let reply = HeartbeatReply(
            result: .ok, isCaughtUp: isCaughtUp, isFenced: next.isFenced,
            inControlledShutdown: next == .controlledShutdown, shouldShutDown: next == .shutdownNow)
        return ControllerResult(records: records, response: reply)
    }

    private func nextState(
        from current: BrokerState, request: BrokerHeartbeatRequest, isCaughtUp: Bool,
        session: BrokerHeartbeatTracker.Session, tracker: BrokerHeartbeatTracker
    ) -> BrokerState {
        let leadsPartitions = !image.partitions(ledBy: request.brokerID).isEmpty
        switch current {
        case .fenced:
            if request.wantShutDown { return .shutdownNow }
            return !request.wantFence && isCaughtUp ? .unfenced : .fenced
        case .unfenced:
            if request.wantFence { return request.wantShutDown ? .shutdownNow : .fenced }
            if request.wantShutDown { return leadsPartitions ? .controlledShutdown : .shutdownNow }
            return .unfenced
        case .controlledShutdown:
            if leadsPartitions { return .controlledShutdown }
            // Stop only once every active broker has seen the leadership moves, so none still sends to it.
            return session.controlledShutdownOffset <= tracker.lowestActiveOffset(image: image)
                ? .shutdownNow : .controlledShutdown
        case .shutdownNow:
            return .shutdownNow
        }
    }

    // MARK: Session expiry

    /// Fences every broker whose session expired by `now` (`tracker.expiredBrokers`), oldest first; the response
    /// lists them. Each broker's records are computed on the image as the previous ones left it, so two brokers
    /// expiring together never elect each other.
    public func fenceExpiredBrokers(tracker: inout BrokerHeartbeatTracker, now: Int64) -> ControllerResult<[NodeID]> {
        let expired = tracker.expiredBrokers(image: image, now: now)
        var scratch = image
        var records = [MetadataRecord]()
        for id in expired {
            let fencing = fence(id, in: scratch, alsoLeaving: Set(expired))
            for record in fencing { scratch.replay(record) }
            records += fencing
            tracker.fence(id)
        }
        return ControllerResult(records: records, response: expired)
    }

    // MARK: Records of a state change

    /// The broker leaves every ISR and leadership, then is marked fenced (no record if the image already has it
    /// fenced and it is in no ISR). Brokers in `alsoLeaving` are not elected in its place.
    func fence(_ id: NodeID, in image: MetadataImage, alsoLeaving: Set<NodeID> = []) -> [MetadataRecord] {
        guard let registration = image.brokerRegistrations[id] else { return [] }
        var records = election(on: image, removing: id, adding: nil, leaving: alsoLeaving)
            .changes(for: image.partitions(withInSyncReplica: id))
        if !registration.isFenced {
            records.append(
                .brokerRegistrationChange(
                    BrokerRegistrationChangeRecord(brokerID: id, brokerEpoch: registration.epoch, fenced: 1)))
        }
        return records
    }

    /// The broker is marked unfenced, then leads the leaderless partitions whose ISR holds it.
    func unfence(_ id: NodeID, in image: MetadataImage) -> [MetadataRecord] {
        guard let registration = image.brokerRegistrations[id] else { return [] }
        var records = [MetadataRecord]()
        if registration.isFenced {
            records.append(
                .brokerRegistrationChange(
                    BrokerRegistrationChangeRecord(brokerID: id, brokerEpoch: registration.epoch, fenced: -1)))
        }
        records += election(on: image, removing: nil, adding: id).changes(for: image.leaderlessPartitions)
        return records
    }

    /// The broker is marked in controlled shutdown, then leaves every ISR and leadership.
    func beginControlledShutdown(_ id: NodeID, in image: MetadataImage) -> [MetadataRecord] {
        guard let registration = image.brokerRegistrations[id] else { return [] }
        var records = [MetadataRecord]()
        if !registration.inControlledShutdown {
            records.append(
                .brokerRegistrationChange(
                    BrokerRegistrationChangeRecord(
                        brokerID: id, brokerEpoch: registration.epoch, inControlledShutdown: 1)))
        }
        records += election(on: image, removing: id, adding: nil)
            .changes(for: image.partitions(withInSyncReplica: id))
        return records
    }
}
