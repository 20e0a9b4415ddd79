import KafkaProtocol
import NIOCore

/// FetchSnapshot (API 59, KIP-630): the leader serves its latest snapshot in chunks; a follower too far behind
/// assembles it and installs it, restarting its log at the snapshot's end.
extension RaftNode {
    mutating func handleFetchSnapshotRequest(
        _ request: RaftMessage.FetchSnapshotRequest, from sender: NodeID, into outputs: inout [RaftOutput]
    ) {
        func answer(_ node: RaftNode, _ error: ErrorCode, _ partitionError: ErrorCode) -> RaftOutput {
            .send(
                .fetchSnapshotResponse(
                    RaftMessage.FetchSnapshotResponse(
                        correlationID: request.correlationID, errorCode: error, partitionErrorCode: partitionError,
                        snapshotID: request.snapshotID, currentLeader: node.currentLeaderAndEpoch, size: -1,
                        position: request.position, unalignedRecords: ByteBuffer())),
                to: sender)
        }
        guard clusterMatches(request.clusterID) else {
            outputs.append(answer(self, .inconsistentClusterID, .none))
            return
        }
        guard request.replicaID == sender else {
            outputs.append(answer(self, .none, .invalidRequest))
            return
        }
        if let error = leaderOnlyError(currentLeaderEpoch: request.currentLeaderEpoch) {
            outputs.append(answer(self, .none, error))
            return
        }
        guard case .leader(var leader) = state else { return }
        noteVoterFetch(ReplicaKey(id: sender, directoryID: request.replicaDirectoryID), into: &leader)
        update(.leader(leader))
        guard let snapshot = raftLog.snapshot, snapshot.id == request.snapshotID else {
            outputs.append(answer(self, .none, .snapshotNotFound))
            return
        }
        let size = Int64(snapshot.bytes.readableBytes)
        guard request.position >= 0, request.position < size || (size == 0 && request.position == 0) else {
            outputs.append(answer(self, .none, .positionOutOfRange))
            return
        }
        let limit = Int64(min(Int(max(request.maxBytes, 1)), configuration.fetchMaxBytes))
        let length = Int(min(limit, size - request.position))
        let chunk =
            snapshot.bytes.getSlice(at: snapshot.bytes.readerIndex + Int(request.position), length: length)
            ?? ByteBuffer()
        outputs.append(
            .send(
                .fetchSnapshotResponse(
                    RaftMessage.FetchSnapshotResponse(
                        correlationID: request.correlationID, snapshotID: snapshot.id,
                        currentLeader: currentLeaderAndEpoch, size: size, position: request.position,
                        unalignedRecords: chunk, voters: snapshot.voters)),
                to: sender))
    }

    mutating func handleFetchSnapshotResponse(
        _ response: RaftMessage.FetchSnapshotResponse, from sender: NodeID, into outputs: inout [RaftOutput]
    ) {
        guard let kind = requests.complete(from: sender, correlationID: response.correlationID),
            case .fetchSnapshot(let id, let position) = kind
        else { return }
        guard response.errorCode == .none else {
            backOffFetching(from: sender)
            return
        }
        if learnLeader(from: response.currentLeader, into: &outputs) { return }
        guard case .follower(var follower) = state, follower.leaderID == sender,
            var download = follower.snapshotDownload, download.id == id
        else { return }
        switch response.partitionErrorCode {
        case .none:
            break
        case .snapshotNotFound, .positionOutOfRange:
            // The leader moved on to a newer snapshot (or lost track of ours): start over with a Fetch.
            follower.snapshotDownload = nil
            update(.follower(follower))
            maybeSendFetch(into: &outputs)
            return
        default:
            backOffFetching(from: sender)
            return
        }
        guard response.snapshotID == id, response.position == position, position == Int64(download.bytes.count),
            response.size >= 0
        else { return }
        download.bytes += response.unalignedRecords.readableBytesView
        download.voters = response.voters
        follower.noteLeaderContact(at: now, fetchTimeoutMs: configuration.fetchTimeoutMs)
        follower.snapshotDownload = download
        update(.follower(follower))
        if Int64(download.bytes.count) >= response.size {
            install(
                RaftSnapshot(
                    id: id, lastContainedLogTimestamp: -1, bytes: ByteBuffer(bytes: download.bytes),
                    voters: download.voters),
                into: &outputs)
        }
        maybeSendFetch(into: &outputs)
    }

    /// Replaces state machine and log with the leader's snapshot: the log restarts at its end, which is committed.
    private mutating func install(_ snapshot: RaftSnapshot, into outputs: inout [RaftOutput]) {
        guard case .follower(var follower) = state else { return }
        precondition(
            snapshot.id.offset >= appliedEndOffset,
            "installing snapshot \(snapshot.id) below committed \(appliedEndOffset)")
        follower.snapshotDownload = nil
        update(.follower(follower))
        raftLog.restart(at: snapshot)
        persistedEndOffset = raftLog.endOffset
        appliedEndOffset = snapshot.id.offset
        outputs.append(.installSnapshot(snapshot))
        recomputeVoterSet()
        if snapshot.id.offset > (highWatermarkValue ?? -1) { setHighWatermark(snapshot.id.offset, into: &outputs) }
    }
}
