import KafkaProtocol
import Testing

@testable import FjordBroker

/// The broker's side of membership as a pure value: what it sends when, and how answers move it between
/// unregistered, registered (fenced or not) and shut down.
@Suite struct BrokerLifecycleStateTests {
    static let interval: Int64 = 2000

    func registered(epoch: Int64 = 7, at now: Int64 = 0) -> BrokerLifecycleState {
        var state = BrokerLifecycleState(heartbeatIntervalMs: Self.interval)
        #expect(state.due(now: now) == .register)
        state.registrationAnswered(BrokerRegistrationResponse(errorCode: 0, brokerEpoch: epoch), now: now)
        return state
    }

    @Test func registersFirstThenHeartbeatsAtOnceWithItsEpoch() {
        let state = registered(epoch: 7, at: 100)
        #expect(state.phase == .registered(brokerEpoch: 7))
        #expect(state.isFenced)
        #expect(!state.isUnfenced)
        #expect(state.due(now: 100) == .heartbeat(brokerEpoch: 7, wantShutDown: false))
    }

    @Test func fencedHeartbeatsQuicklyThenAtTheIntervalOnceUnfenced() {
        var state = registered(at: 0)
        state.heartbeatAnswered(BrokerHeartbeatResponse(isCaughtUp: false, isFenced: true), now: 0)
        #expect(state.due(now: state.fastIntervalMs - 1) == nil)
        #expect(state.due(now: state.fastIntervalMs) != nil)
        state.heartbeatAnswered(BrokerHeartbeatResponse(isCaughtUp: true, isFenced: false), now: 1000)
        #expect(state.isUnfenced)
        #expect(state.due(now: 1000 + Self.interval - 1) == nil)
        #expect(state.due(now: 1000 + Self.interval) == .heartbeat(brokerEpoch: 7, wantShutDown: false))
    }

    @Test func refusedOrUnansweredRegistrationIsRetriedAfterTheBackoff() {
        var state = BrokerLifecycleState(heartbeatIntervalMs: Self.interval, retryBackoffMs: 100)
        state.registrationAnswered(
            BrokerRegistrationResponse(errorCode: ErrorCode.duplicateBrokerRegistration.rawValue), now: 0)
        #expect(state.phase == .unregistered)
        #expect(state.lastError == .duplicateBrokerRegistration)
        #expect(state.due(now: 99) == nil)
        #expect(state.due(now: 100) == .register)
        state.registrationAnswered(nil, now: 100)
        #expect(state.due(now: 150) == nil)
        #expect(state.due(now: 200) == .register)
    }

    @Test func staleEpochRegistersAgain() {
        var state = registered(at: 0)
        state.heartbeatAnswered(BrokerHeartbeatResponse(isFenced: false), now: 0)
        state.heartbeatAnswered(BrokerHeartbeatResponse(errorCode: ErrorCode.staleBrokerEpoch.rawValue), now: 10)
        #expect(state.phase == .unregistered)
        #expect(state.isFenced)
        #expect(state.due(now: 10 + state.retryBackoffMs) == .register)
    }

    @Test func notControllerKeepsTheRegistrationAndRetries() {
        var state = registered(at: 0)
        state.heartbeatAnswered(BrokerHeartbeatResponse(errorCode: ErrorCode.notController.rawValue), now: 10)
        #expect(state.phase == .registered(brokerEpoch: 7))
        #expect(state.due(now: 10 + state.retryBackoffMs) == .heartbeat(brokerEpoch: 7, wantShutDown: false))
    }

    @Test func controlledShutdownAsksAtOnceAndEndsWhenAllowed() {
        var state = registered(at: 0)
        state.heartbeatAnswered(BrokerHeartbeatResponse(isFenced: false), now: 0)
        state.beginControlledShutdown()
        #expect(state.due(now: 1) == .heartbeat(brokerEpoch: 7, wantShutDown: true))
        // Still leading partitions: keep asking, quickly.
        state.heartbeatAnswered(BrokerHeartbeatResponse(isFenced: false, shouldShutDown: false), now: 1)
        #expect(state.due(now: 1 + state.fastIntervalMs) == .heartbeat(brokerEpoch: 7, wantShutDown: true))
        state.heartbeatAnswered(BrokerHeartbeatResponse(isFenced: true, shouldShutDown: true), now: 200)
        #expect(state.phase == .shutDown)
        #expect(state.due(now: 10_000) == nil)
    }
}
