import KafkaProtocol
import KafkaRecords
import Logging
import NIOCore
import ServiceLifecycle

/// The sender loop: drains ready batches, groups them by leader into Produce requests, and handles the answers.
extension Producer {
    /// Runs the sender until `close()` (or graceful shutdown) and every buffered record has an outcome.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Graceful shutdown closes the producer; cancellation (at the end of run) just ends this task.
                guard (try? await gracefulShutdown()) != nil else { return }
                await self.close()
            }
            group.addTask { await self.client.refreshPeriodically() }
            while true {
                let (closing, empty) = intake.withLockedValue { ($0.closing, $0.accumulator.isEmpty) }
                if closing && empty && inFlightTotal == 0 { break }
                // A transactional producer gets its id from initTransactions(), never behind the caller's back.
                if configuration.idempotent && configuration.transactionalID == nil && producerID < 0 && !empty {
                    await initProducerID()
                }
                for (leader, batches) in await drainByLeader() {
                    inFlightTotal += batches.count
                    for batch in batches { inFlight[batch.partition, default: 0] += 1 }
                    group.addTask { await self.sendProduce(batches, to: leader) }
                }
                await waitForWork(group: &group)
            }
            group.cancelAll()
        }
        resumeIdleWaiters()
    }

    /// Waits until woken (a record closed a batch, a response arrived, a flush) or the next linger/backoff deadline.
    /// One timer task at a time: a new one only when the next deadline is earlier than the pending one.
    private func waitForWork(group: inout DiscardingTaskGroup) async {
        let blocked = blockedPartitions()
        let (woken, deadline) = intake.withLockedValue { state -> (Bool, ContinuousClock.Instant?) in
            if state.wakeupPending {
                state.wakeupPending = false
                return (true, nil)
            }
            return (false, state.accumulator.nextReadyTime(blocked: blocked))
        }
        if woken { return }
        if let deadline, timerDeadline.map({ deadline < $0 }) ?? true {
            timerDeadline = deadline
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self.timerFired(deadline)
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = intake.withLockedValue { state -> Bool in
                if state.wakeupPending {
                    state.wakeupPending = false
                    return true
                }
                state.senderWakeup = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        intake.withLockedValue { $0.wakeupPending = false }
    }

    private func timerFired(_ deadline: ContinuousClock.Instant) {
        if timerDeadline == deadline { timerDeadline = nil }
        wakeSender()
    }

    nonisolated func wakeSender() {
        intake.withLockedValue { $0.wake() }?.resume()
    }

    func resumeIdleWaiters() {
        guard intake.withLockedValue({ $0.accumulator.isEmpty }) && inFlightTotal == 0 else { return }
        let waiters = idleWaiters
        idleWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }

    /// Whether a partition's first batch must wait for answers: its partition has the most requests in flight, or
    /// the batch is a retry and anything of its partition is in flight.
    private func blockedPartitions() -> @Sendable (TopicPartition, ProducerBatch) -> Bool {
        let limit =
            configuration.idempotent
            ? min(configuration.maxInFlightPerPartition, 5)
            : configuration.maxInFlightPerPartition
        let inFlightNow = inFlight
        return { partition, batch in
            let count = inFlightNow[partition] ?? 0
            // A retried batch goes out alone, so batches behind it cannot overtake it.
            return batch.attempts > 0 ? count > 0 : count >= limit
        }
    }

    /// Drains ready batches, assigns sequence numbers, and groups them by partition leader. Batches whose leader is
    /// unknown go back to the queue (after a metadata refresh) or fail once their delivery timeout passed.
    private func drainByLeader() async -> [Int32: [ProducerBatch]] {
        let now = ContinuousClock.now
        let blocked = blockedPartitions()
        let flushing = flushRequests > 0
        var ready = intake.withLockedValue { state in
            state.accumulator.drain(now: now, flushing: flushing || state.closing, blocked: blocked)
        }
        guard !ready.isEmpty else { return [:] }
        let snapshot: ClusterMetadata
        do {
            snapshot = try await client.metadata()
        } catch {
            snapshot = await client.cachedMetadata
        }
        if configuration.transactionalID != nil {
            ready = await addToTransaction(ready)
        }
        var byLeader: [Int32: [ProducerBatch]] = [:]
        // Each batch is moved out of `ready` (a copy would share the batch's buffer, and encoding in place would
        // then copy it).
        ready.reverse()
        while var batch = ready.popLast() {
            guard let leader = snapshot.leader(of: batch.partition) else {
                await client.invalidateMetadata()
                retryOrFail(
                    batch,
                    ClientError(
                        .metadata, "no leader for \(batch.partition)", isRetriable: true, topic: batch.partition.topic,
                        partition: batch.partition.partition
                    )
                )
                continue
            }
            if batch.encoded == nil {
                do {
                    var sequence: Int32 = -1
                    if configuration.idempotent && producerID >= 0 {
                        sequence = nextSequence[batch.partition] ?? 0
                        let next = Int64(sequence) + Int64(batch.recordCount)
                        nextSequence[batch.partition] = Int32(
                            truncatingIfNeeded: next > Int64(Int32.max) ? next - Int64(Int32.max) - 1 : next)
                    }
                    try batch.encode(
                        producerID: sequence >= 0 ? producerID : -1, producerEpoch: sequence >= 0 ? producerEpoch : -1,
                        baseSequence: sequence, transactional: configuration.transactionalID != nil
                    )
                } catch {
                    finish(batch, with: error)
                    continue
                }
            }
            byLeader[leader, default: []].append(batch)
        }
        return byLeader
    }

    /// Gets a producer id and epoch (InitProducerId) for idempotence, retrying retriable errors.
    private func initProducerID() async {
        var request = InitProducerIDRequest()
        request.transactionalID = nil
        request.transactionTimeoutMs = Int32.max
        request.producerID = -1
        request.producerEpoch = -1
        let deadline = ContinuousClock.now + configuration.deliveryTimeout
        while ContinuousClock.now < deadline {
            do {
                let response = try await client.sendToAny(request)
                if let error = ClientError.kafka(response.errorCode, "InitProducerId failed") {
                    throw error
                }
                producerID = response.producerID
                producerEpoch = response.producerEpoch
                nextSequence.removeAll()
                logger.debug("producer id", metadata: ["id": "\(producerID)", "epoch": "\(producerEpoch)"])
                return
            } catch let error as ClientError where !error.isRetriable {
                logger.warning("InitProducerId failed; sending without idempotence", metadata: ["error": "\(error)"])
                producerID = -2  // Do not ask again; batches go out without producer id.
                return
            } catch {
                try? await Task.sleep(for: configuration.retryBackoff)
            }
        }
    }

    /// Sends one Produce request with one batch per partition and settles each batch.
    func sendProduce(_ batches: [ProducerBatch], to leader: Int32) async {
        var byTopic: [String: [ProduceRequest.PartitionProduceData]] = [:]
        for batch in batches {
            byTopic[batch.partition.topic, default: []].append(
                ProduceRequest.PartitionProduceData(index: batch.partition.partition, records: batch.encoded)
            )
        }
        var request = ProduceRequest()
        request.transactionalID = configuration.transactionalID
        request.acks = configuration.acks.rawValue
        request.timeoutMs = configuration.client.requestTimeout.millisecondsInt32
        request.topicData = byTopic.sorted { $0.key < $1.key }.map {
            ProduceRequest.TopicProduceData(name: $0.key, partitionData: $0.value)
        }
        var batches = batches
        for index in batches.indices { batches[index].attempts += 1 }
        if configuration.acks == .none {
            do {
                let connection = try await client.connection(to: leader)
                try await connection.sendWithoutResponse(request)
                for batch in batches { finish(batch, baseOffset: -1, logAppendTime: -1) }
            } catch {
                for batch in batches { retryOrFail(batch, error) }
            }
            afterRequest(batches)
            return
        }
        let response: ProduceResponse
        do {
            response = try await client.send(request, to: leader)
        } catch {
            if let error = error as? ClientError, error.code == .connection || error.code == .timeout {
                await client.invalidateMetadata()
            }
            for batch in batches { retryOrFail(batch, error) }
            afterRequest(batches)
            return
        }
        var answers: [TopicPartition: ProduceResponse.PartitionProduceResponse] = [:]
        for topic in response.responses {
            for partition in topic.partitionResponses {
                answers[TopicPartition(topic.name, partition.index)] = partition
            }
        }
        for batch in batches {
            guard let answer = answers[batch.partition] else {
                retryOrFail(
                    batch, ClientError(.protocolViolation, "no answer for \(batch.partition)", isRetriable: true))
                continue
            }
            let code = ErrorCode(rawValue: answer.errorCode)
            if code == .none || code == .duplicateSequenceNumber {
                finish(batch, baseOffset: answer.baseOffset, logAppendTime: answer.logAppendTimeMs)
                continue
            }
            if KafkaClient.isMetadataError(code) {
                await client.invalidateMetadata()
                intake.withLockedValue { $0.forgetPartitionCount(of: batch.partition.topic) }
            }
            let error = ClientError(
                .broker, answer.errorMessage ?? "produce to \(batch.partition) failed", kafkaError: code,
                isRetriable: code.isRetriable || code == .outOfOrderSequenceNumber, broker: leader,
                topic: batch.partition.topic, partition: batch.partition.partition
            )
            retryOrFail(batch, error)
        }
        afterRequest(batches)
    }

    private func afterRequest(_ batches: [ProducerBatch]) {
        inFlightTotal -= batches.count
        for batch in batches { inFlight[batch.partition, default: 1] -= 1 }
        wakeSender()
        resumeIdleWaiters()
    }

    /// Requeues a batch for another attempt when the error is retriable and time and retries remain; else fails it.
    func retryOrFail(_ batch: ProducerBatch, _ error: any Error) {
        let retriable = (error as? ClientError)?.isRetriable ?? false
        let now = ContinuousClock.now
        if retriable, !closingAbandoned, batch.attempts <= configuration.retries,
            now < batch.createdAt + configuration.deliveryTimeout
        {
            var retry = batch
            retry.retryAt = now + configuration.retryBackoff
            if retry.attempts == 0 { retry.attempts = 1 }
            intake.withLockedValue { $0.accumulator.reenqueue(retry) }
            return
        }
        let final: any Error
        if retriable {
            final = ClientError(
                .deliveryTimeout, "record not delivered within delivery.timeout", isRetriable: false,
                topic: batch.partition.topic, partition: batch.partition.partition, cause: error
            )
        } else {
            final = error
        }
        finish(batch, with: final)
    }

    /// Whether a closing producer gave up on retries (never: close waits for the delivery timeout).
    private var closingAbandoned: Bool { false }

    private func finish(_ batch: ProducerBatch, baseOffset: Int64, logAppendTime: Int64) {
        intake.withLockedValue { $0.accumulator.release(batch) }
        resumeMemoryWaiters()
        batch.succeed(baseOffset: baseOffset, logAppendTime: logAppendTime)
    }

    private func finish(_ batch: ProducerBatch, with error: any Error) {
        intake.withLockedValue { $0.accumulator.release(batch) }
        resumeMemoryWaiters()
        if batch.completions.contains(where: { $0 == nil }) {
            logger.error("records lost", metadata: ["partition": "\(batch.partition)", "error": "\(error)"])
        }
        batch.fail(error)
        if configuration.transactionalID != nil {
            // The transaction lost a record: it can only be aborted (a fenced producer not even that).
            noteTransactionFailure(error)
        } else if configuration.idempotent && batch.baseSequence >= 0 && producerID >= 0 {
            // A failed sequenced batch leaves a gap the broker would reject: start over with a new producer id.
            producerID = -1
            nextSequence.removeAll()
        }
    }
}
