import FjordGroups
import FjordTestSupport
import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// A simulated client following the classic protocol as librdkafka does (join, sync, heartbeat, rejoin on
/// REBALANCE_IN_PROGRESS, start over on UNKNOWN_MEMBER_ID/ILLEGAL_GENERATION), which may also leave or crash.
struct SimClient {
    var memberID = ""
    var instanceID: String?
    var generation: Int32 = -1
    var waitingJoin: RequestID?
    var waitingSync: RequestID?
    var needsJoin = true
    var joined: JoinGroupResponse?
    var alive = true
}

@Suite struct GroupSimulationTests {
    static let partitions = 6

    /// Flow: 1. five clients (two static) act at random — join, sync, heartbeat, leave, crash, restart — while
    /// the clock moves in random steps; 2. after every step the named invariants hold; 3. at the end the clock
    /// runs far ahead and every request still waiting has been answered.
    @Test(arguments: Self.seeds())
    func randomClientsKeepInvariants(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var configuration = GroupConfiguration()
        configuration.initialRebalanceDelayMs = Bool.random(using: &rng) ? 0 : 500
        var manager = GroupManager(configuration: configuration)
        var clients = (0..<5).map { index in SimClient(instanceID: index < 2 ? "static-\(index)" : nil) }
        var now: Int64 = 0
        var nextID: RequestID = 0
        var answered = Set<RequestID>()

        func deliver(_ outputs: GroupOutputs) {
            for (id, response) in outputs.joinResponses {
                #expect(answered.insert(id).inserted, "invariant: a JoinGroup is answered once (seed \(seed))")
                guard let index = clients.firstIndex(where: { $0.waitingJoin == id }) else { continue }
                clients[index].waitingJoin = nil
                switch ErrorCode(rawValue: response.errorCode) {
                case .none:
                    clients[index].memberID = response.memberID
                    clients[index].generation = response.generationID
                    clients[index].joined = response
                    clients[index].needsJoin = false
                case .memberIDRequired:
                    clients[index].memberID = response.memberID
                default:
                    clients[index].memberID = ""
                    clients[index].generation = -1
                }
            }
            for (id, response) in outputs.syncResponses {
                #expect(answered.insert(id).inserted, "invariant: a SyncGroup is answered once (seed \(seed))")
                guard let index = clients.firstIndex(where: { $0.waitingSync == id }) else { continue }
                clients[index].waitingSync = nil
                if response.errorCode != 0 { clients[index].needsJoin = true }
                if response.errorCode == ErrorCode.unknownMemberID.rawValue
                    || response.errorCode == ErrorCode.illegalGeneration.rawValue
                {
                    clients[index].memberID = ""
                }
            }
        }

        for _ in 0..<400 {
            let index = Int.random(in: 0..<clients.count, using: &rng)
            var client = clients[index]
            let roll = Int.random(in: 0..<100, using: &rng)
            if !client.alive {
                if roll < 10 { clients[index] = SimClient(instanceID: client.instanceID) }  // restart
            } else if roll < 5 {
                clients[index].alive = false  // crash: silent from now on
            } else if roll < 8, !client.memberID.isEmpty {
                let result = manager.leave(
                    groupID: "g", members: [.init(memberID: client.memberID, instanceID: nil)], now: now)
                clients[index] = SimClient(instanceID: client.instanceID)
                deliver(result.outputs)
            } else if client.needsJoin, client.waitingJoin == nil {
                nextID += 1
                client.waitingJoin = nextID
                clients[index] = client
                let request = JoinGroupRequest(
                    groupID: "g", sessionTimeoutMs: 6000, rebalanceTimeoutMs: 10_000, memberID: client.memberID,
                    groupInstanceID: client.instanceID, protocolType: "consumer",
                    protocols: [.init(name: "range", metadata: ByteBuffer(string: "sub"))]
                )
                deliver(
                    manager.join(
                        request,
                        context: JoinContext(
                            requestID: nextID, version: 9, clientID: "c\(index)", clientHost: "/h",
                            newMemberID: "m\(nextID)", now: now
                        )))
            } else if let joined = client.joined, client.waitingSync == nil, !client.needsJoin {
                nextID += 1
                clients[index].waitingSync = nextID
                clients[index].joined = nil
                var request = SyncGroupRequest(
                    groupID: "g", generationID: joined.generationID, memberID: client.memberID,
                    groupInstanceID: client.instanceID)
                if joined.leader == client.memberID, !joined.skipAssignment {
                    let members = joined.members.map(\.memberID)
                    request.assignments = members.enumerated().map { position, memberID in
                        let owned = stride(from: position, to: Self.partitions, by: members.count).map(String.init)
                            .joined(separator: ",")
                        return .init(memberID: memberID, assignment: ByteBuffer(string: owned))
                    }
                }
                deliver(manager.sync(request, requestID: nextID, now: now))
            } else if !client.memberID.isEmpty, client.waitingJoin == nil, client.waitingSync == nil {
                let error = manager.heartbeat(
                    groupID: "g", memberID: client.memberID, instanceID: client.instanceID,
                    generationID: client.generation, now: now)
                if error == .rebalanceInProgress { clients[index].needsJoin = true }
                if error == .unknownMemberID || error == .illegalGeneration || error == .fencedInstanceID {
                    clients[index] = SimClient(instanceID: client.instanceID)
                }
            }
            now += Int64.random(in: 0...1500, using: &rng)
            deliver(manager.tick(now: now))
            checkInvariants(manager, seed: seed)
        }
        // Liveness: with time far ahead, nothing is left waiting.
        now += 120_000
        deliver(manager.tick(now: now))
        for client in clients {
            #expect(
                client.waitingJoin == nil,
                "invariant: every JoinGroup is answered by the rebalance timeout (seed \(seed))")
        }
    }

    /// Stable and completing groups have no member waiting in JoinGroup; a stable group's leader is a member and
    /// no partition is assigned to two members.
    func checkInvariants(_ manager: GroupManager, seed: UInt64) {
        guard let group = manager.groups["g"] else { return }
        if group.state == .stable || group.state == .completingRebalance {
            #expect(
                group.members.values.allSatisfy { $0.pendingJoin == nil },
                "invariant: no waiting join once the join phase ended (seed \(seed))")
            #expect(
                group.leaderID.map { group.members[$0] != nil } ?? false,
                "invariant: the leader is a member (seed \(seed))")
        }
        if group.state == .stable {
            var owners: [String: String] = [:]
            for member in group.members.values {
                for partition in String(buffer: member.assignment).split(separator: ",") {
                    #expect(
                        owners[String(partition)] == nil,
                        "invariant: partition \(partition) has one owner (seed \(seed))")
                    owners[String(partition)] = member.memberID
                }
            }
        }
        if group.state == .empty {
            #expect(group.members.isEmpty, "invariant: an empty group has no members (seed \(seed))")
        }
    }

    static func seeds() -> [UInt64] {
        if let text = ProcessInfo.processInfo.environment["SIM_SEED"], let seed = UInt64(text) { return [seed] }
        return Array(1...40)
    }
}
