import FjordStorage
import KafkaProtocol
import NIOCore
import Testing

@testable import FjordBroker

/// Incremental fetch sessions (KIP-227) through `FetchHandler`, as a consumer drives them: a full fetch creates the
/// session; later requests carry only partitions whose fetch position changed (plus forgotten ones), and answers list
/// only partitions with news — records, an error, or a moved high watermark / log start offset; the epoch must follow
/// on; epoch -1 closes the session. This is what the README's "incremental fetch sessions (KIP-227)" claims.
@Suite struct IncrementalFetchSessionTests {
    private typealias H = BrokerHarness

    /// A session's client side: its id and the epoch of its next request.
    private struct ClientSession {
        var id: Int32 = 0
        var epoch: Int32 = 0
    }

    /// Flow (names before v13, topic ids from v13):
    /// 1. epoch 0: a full fetch of a-0, a-1, b-0 creates a session; all three come back with their records.
    /// 2. epoch 1 carries the new positions of all three; nothing happened since: the answer lists no partition.
    /// 3. epoch 2 lists no partition and long-polls; an append to a-1 answers it with a-1 only.
    /// 4. epoch 3 moves a-1's position and forgets topic b; b-0 gets a record meanwhile and is not listed.
    /// 5. an append to a-0: epoch 4, an empty request, lists a-0 only, read from the position the session remembers
    ///    (the client must send its new position, or it gets the same records again).
    /// 6. DeleteRecords moves a-1's log start to its end: epoch 5 (a-0's new position) lists a-1 with the new log
    ///    start and no records.
    /// 7. epoch 6 adds b-0 back at position 1: it is listed with the record it missed.
    /// 8. a request with a stale epoch is INVALID_FETCH_SESSION_EPOCH and does not move the epoch: epoch 7 (b-0's new
    ///    position) still works and lists nothing.
    /// 9. epoch -1 closes the session (a full answer with session id 0); the id is then FETCH_SESSION_ID_NOT_FOUND.
    @Test(arguments: [Int16(7), 12, 13, 17])
    func kip227IncrementalFetchSessionListsOnlyPartitionsWithNews(version: Int16) async throws {
        try await H.withBroker { broker in
            let idA = try await broker.createTopic("a", partitions: 2)
            let idB = try await broker.createTopic("b")
            try await broker.append("a", partition: 0, ["a0"])
            try await broker.append("a", partition: 1, ["a1"])
            try await broker.append("b", partition: 0, ["b0"])
            let byID = version >= 13
            func target(_ topic: String, _ partition: Int32, at offset: Int64) -> H.FetchTarget {
                .init(topic: byID ? "" : topic, topicID: topic == "a" ? idA : idB, partition: partition, offset: offset)
            }
            func key(_ topic: String, _ partition: Int32) -> String {
                "\(byID ? (topic == "a" ? idA : idB).description : topic):\(partition)"
            }
            var session = ClientSession()
            func fetch(
                _ targets: [H.FetchTarget], forgotten: [FetchRequest.ForgottenTopic] = [], epoch: Int32? = nil
            ) async throws -> FetchResponse {
                try await broker.fetch(
                    H.fetchRequest(
                        targets, sessionID: session.id, sessionEpoch: epoch ?? session.epoch, forgotten: forgotten
                    ), version: version)
            }
            func values(_ response: FetchResponse, _ topic: String, _ partition: Int32) throws -> [String] {
                try H.records(in: response.data(topic, id: topic == "a" ? idA : idB, partition: partition)?.records)
                    .map(\.description)
            }

            // 1. The full fetch that creates the session.
            let full = try await fetch([target("a", 0, at: 0), target("a", 1, at: 0), target("b", 0, at: 0)])
            #expect(full.errorCode == 0)
            #expect(full.sessionID != 0)
            #expect(full.listed == [key("a", 0), key("a", 1), key("b", 0)])
            #expect(try values(full, "a", 0) == ["0:a0"])
            #expect(try values(full, "a", 1) == ["0:a1"])
            #expect(try values(full, "b", 0) == ["0:b0"])
            session = ClientSession(id: full.sessionID, epoch: 1)

            // 2. New positions, no news.
            let quiet = try await fetch([target("a", 0, at: 1), target("a", 1, at: 1), target("b", 0, at: 1)])
            #expect(quiet.errorCode == 0)
            #expect(quiet.sessionID == session.id)
            #expect(quiet.listed == [])
            session.epoch += 1

            // 3. A long poll on the session, answered by an append to one partition: only that partition is listed.
            let parked = try broker.startFetch(
                H.fetchRequest([], maxWaitMs: 30_000, minBytes: 1, sessionID: session.id, sessionEpoch: session.epoch),
                version: version
            )
            try await broker.waitUntil("the session's fetch is parked") { broker.parkedFetches == 1 }
            try await broker.append("a", partition: 1, ["a1-second"])
            let woken = try await broker.fetchResponse(of: parked, version: version, within: .seconds(10))
            #expect(woken.sessionID == session.id)
            #expect(woken.listed == [key("a", 1)])
            #expect(try values(woken, "a", 1) == ["1:a1-second"])
            #expect(woken.data("a", id: idA, partition: 1)?.highWatermark == 2)
            session.epoch += 1

            // 4. Forget topic b; its news no longer comes.
            try await broker.append("b", partition: 0, ["b0-missed"])
            let forgotten = try await fetch(
                [target("a", 1, at: 2)], forgotten: [.init(topic: byID ? "" : "b", topicID: idB, partitions: [0])]
            )
            #expect(forgotten.errorCode == 0)
            #expect(forgotten.listed == [])
            session.epoch += 1

            // 5. News on a partition the request does not mention: read from the position the session keeps.
            try await broker.append("a", partition: 0, ["a0-second"])
            let remembered = try await fetch([])
            #expect(remembered.listed == [key("a", 0)])
            #expect(try values(remembered, "a", 0) == ["1:a0-second"])
            session.epoch += 1

            // 6. A moved log start is news even without records.
            let deleted = try await broker.call(
                DeleteRecordsHandler(services: broker.services),
                DeleteRecordsRequest(
                    topics: [.init(name: "a", partitions: [.init(partitionIndex: 1, offset: 2)])], timeoutMs: 30_000
                ), version: 2)
            #expect(deleted.topics.first?.partitions.first?.errorCode == 0)
            let moved = try await fetch([target("a", 0, at: 2)])
            #expect(moved.listed == [key("a", 1)])
            let movedData = try #require(moved.data("a", id: idA, partition: 1))
            #expect(movedData.logStartOffset == 2)
            #expect((movedData.records?.readableBytes ?? 0) == 0)
            session.epoch += 1

            // 7. Adding a partition to the session.
            let added = try await fetch([target("b", 0, at: 1)])
            #expect(added.listed == [key("b", 0)])
            #expect(try values(added, "b", 0) == ["1:b0-missed"])
            session.epoch += 1

            // 8. A stale epoch is refused and does not move the session on.
            let stale = try await fetch([], epoch: session.epoch - 1)
            #expect(stale.errorCode == ErrorCode.invalidFetchSessionEpoch.rawValue)
            #expect(stale.responses.isEmpty)
            let after = try await fetch([target("b", 0, at: 2)])
            #expect(after.errorCode == 0)
            #expect(after.sessionID == session.id)
            #expect(after.listed == [])
            session.epoch += 1

            // 9. Closing: a full fetch without a session, then the id is gone.
            let closing = try await fetch(
                [target("a", 0, at: 2), target("a", 1, at: 2), target("b", 0, at: 2)], epoch: -1)
            #expect(closing.errorCode == 0)
            #expect(closing.sessionID == 0)
            #expect(closing.listed == [key("a", 0), key("a", 1), key("b", 0)])
            let gone = try await fetch([])
            #expect(gone.errorCode == ErrorCode.fetchSessionIDNotFound.rawValue)
            #expect(gone.responses.isEmpty)
            #expect(gone.sessionID == 0)
        }
    }

    /// Flow: a partition in error is news every time (an incremental answer always lists it), while a healthy one
    /// beside it is listed only when something changed.
    @Test func partitionsInErrorAreListedInEveryIncrementalAnswer() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("t")
            try await broker.append("t", ["x"])
            let full = try await broker.fetch(
                H.fetchRequest(
                    [.init(topic: "t", offset: 1), .init(topic: "gone")], sessionEpoch: 0
                ))
            #expect(full.sessionID != 0)
            #expect(full.data("gone")?.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            for epoch in Int32(1)...3 {
                let next = try await broker.fetch(H.fetchRequest([], sessionID: full.sessionID, sessionEpoch: epoch))
                #expect(next.errorCode == 0)
                #expect(next.listed == ["gone:0"])
            }
        }
    }

    /// Flow: a session id the broker never gave is FETCH_SESSION_ID_NOT_FOUND; one of a session that ended in the
    /// same way. A new session (epoch 0) while holding one replaces it: the old id is gone.
    @Test func unknownAndReplacedSessionsAreNotFound() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("t")
            let never = try await broker.fetch(H.fetchRequest([.init(topic: "t")], sessionID: 12345, sessionEpoch: 1))
            #expect(never.errorCode == ErrorCode.fetchSessionIDNotFound.rawValue)
            #expect(never.responses.isEmpty)

            let first = try await broker.fetch(H.fetchRequest([.init(topic: "t")], sessionEpoch: 0)).sessionID
            #expect(first != 0)
            let second = try await broker.fetch(H.fetchRequest([.init(topic: "t")], sessionID: first, sessionEpoch: 0))
                .sessionID
            #expect(second != 0)
            #expect(second != first)
            let old = try await broker.fetch(H.fetchRequest([], sessionID: first, sessionEpoch: 1))
            #expect(old.errorCode == ErrorCode.fetchSessionIDNotFound.rawValue)
            let current = try await broker.fetch(H.fetchRequest([], sessionID: second, sessionEpoch: 1))
            #expect(current.errorCode == 0)
        }
    }

    /// Flow (Kafka's rules for a session's epoch and end): 1. an incremental fetch of session 0 (epoch > 0) is
    /// FETCH_SESSION_ID_NOT_FOUND, there being no session 0; 2. the epoch moves on when a request arrives, so a
    /// parked fetch's epoch cannot be used again by a second request while the first waits; 3. a request that
    /// forgets every partition ends the session: the answer is sessionless and empty, and the id is gone.
    @Test func sessionEpochsMoveOnArrivalAndForgettingEverythingEndsTheSession() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("t")
            let orphan = try await broker.fetch(H.fetchRequest([.init(topic: "t")], sessionID: 0, sessionEpoch: 5))
            #expect(orphan.errorCode == ErrorCode.fetchSessionIDNotFound.rawValue)

            let created = try await broker.fetch(H.fetchRequest([.init(topic: "t")], sessionEpoch: 0))
            let id = created.sessionID
            #expect(id != 0)
            // Epoch 1 parks (nothing to read, a long wait); the same epoch again is refused meanwhile.
            let parked = try broker.startFetch(
                H.fetchRequest([], maxWaitMs: 30_000, minBytes: 1, sessionID: id, sessionEpoch: 1))
            try await broker.waitUntil("the first fetch of epoch 1 is parked") { broker.parkedFetches == 1 }
            let duplicate = try await broker.fetch(H.fetchRequest([], sessionID: id, sessionEpoch: 1))
            #expect(duplicate.errorCode == ErrorCode.invalidFetchSessionEpoch.rawValue)
            try await broker.append("t", ["x"])
            let woken = try await broker.fetchResponse(of: parked, within: .seconds(30))
            #expect(woken.errorCode == 0 && woken.listed == ["t:0"])

            let forgetAll = try await broker.fetch(
                H.fetchRequest(
                    [], sessionID: id, sessionEpoch: 2, forgotten: [.init(topic: "t", partitions: [0])]
                ))
            #expect(forgetAll.errorCode == 0)
            #expect(forgetAll.sessionID == 0)
            #expect(forgetAll.responses.isEmpty)
            let ended = try await broker.fetch(H.fetchRequest([], sessionID: id, sessionEpoch: 3))
            #expect(ended.errorCode == ErrorCode.fetchSessionIDNotFound.rawValue)
        }
    }

    /// Flow: with max.incremental.fetch.session.cache.slots=1, a second client's session evicts the first (least
    /// recently used), whose next incremental fetch is FETCH_SESSION_ID_NOT_FOUND (it starts over with a full fetch);
    /// with 0 slots a full fetch asking for a session gets its data and session id 0.
    @Test func theSessionCacheIsBounded() async throws {
        try await H.withBroker([("max.incremental.fetch.session.cache.slots", "1")]) { broker in
            try await broker.createTopic("t")
            let first = try await broker.fetch(H.fetchRequest([.init(topic: "t")], sessionEpoch: 0)).sessionID
            let second = try await broker.fetch(H.fetchRequest([.init(topic: "t")], sessionEpoch: 0)).sessionID
            #expect(first != 0)
            #expect(second != 0)
            #expect(
                try await broker.fetch(H.fetchRequest([], sessionID: first, sessionEpoch: 1)).errorCode
                    == ErrorCode.fetchSessionIDNotFound.rawValue)
            #expect(try await broker.fetch(H.fetchRequest([], sessionID: second, sessionEpoch: 1)).errorCode == 0)
        }
        try await H.withBroker([("max.incremental.fetch.session.cache.slots", "0")]) { broker in
            try await broker.createTopic("t")
            try await broker.append("t", ["x"])
            let response = try await broker.fetch(H.fetchRequest([.init(topic: "t")], sessionEpoch: 0))
            #expect(response.errorCode == 0)
            #expect(response.sessionID == 0)
            #expect(try H.records(in: response.data("t")?.records).map(\.description) == ["0:x"])
        }
    }
}
