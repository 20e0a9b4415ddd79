import FjordController
import KafkaProtocol
import Testing

@Suite struct BrokerRegistrationTests {
    @Test func aNewIncarnationGetsTheOffsetOfItsRecordAsEpochAndStartsFenced() {
        // Flow:
        // 1. A controller whose log holds only the bootstrap metadata.version (offset 0).
        // 2. Broker 1 registers: nothing changes before commit; the reply's epoch is the record's offset (1).
        // 3. After commit the image holds its listener, rack, supported features and log dirs, fenced.
        var harness = ControllerHarness()
        let before = harness.image
        let result = ClusterControl(image: harness.image).registerBroker(
            ControllerHarness.registration(1, rack: "r1"), nextOffset: harness.nextOffset, tracker: &harness.tracker,
            now: harness.now)
        #expect(harness.image == before)
        #expect(result.response == .init(result: .ok, brokerEpoch: 1))
        #expect(result.response.response.brokerEpoch == 1)
        harness.commit(result.records)
        let registration = try! #require(harness.image.brokerRegistrations[1])
        #expect(registration.epoch == 1)
        #expect(registration.registrationOffset == 1)
        #expect(registration.isFenced)
        #expect(registration.rack == "r1")
        #expect(registration.endpoints == [.init(name: "PLAINTEXT", host: "broker1", port: 9001)])
        #expect(registration.supportedFeatures == [MetadataVersion.featureName: MetadataVersion.supportedLevels])
        #expect(harness.image.brokers.isEmpty, "a fenced broker is not listed to clients")
    }

    @Test func theSameIncarnationReRegisteringKeepsItsEpochAndFencing() {
        // Flow:
        // 1. Broker 1 registers (epoch 1) and is unfenced by a caught-up heartbeat.
        // 2. It registers again with the same incarnation id and a new rack (a retried request).
        // 3. Same epoch, still unfenced, rack amended; the registration offset moves to the new record.
        var harness = ControllerHarness()
        harness.startBroker(1)
        let amended = harness.register(ControllerHarness.registration(1, rack: "r9"))
        #expect(amended == .init(result: .ok, brokerEpoch: 1))
        let registration = harness.image.brokerRegistrations[1]!
        #expect(registration.epoch == 1)
        #expect(!registration.isFenced)
        #expect(registration.rack == "r9")
        #expect(registration.registrationOffset == harness.nextOffset - 1)
    }

    @Test func anotherIncarnationIsRefusedWhileTheOldSessionLivesAndAcceptedAfter() {
        // Flow:
        // 1. Broker 1 (incarnation A) registers and is unfenced.
        // 2. Incarnation B of broker 1 registers 5 s later: DUPLICATE_BROKER_REGISTRATION, no record.
        // 3. After the session timeout (9 s without heartbeat) B registers: a new epoch, fenced.
        var harness = ControllerHarness()
        harness.startBroker(1)
        harness.now += 5_000
        let refused = harness.register(ControllerHarness.registration(1, incarnation: 77))
        #expect(refused.result.error == .duplicateBrokerRegistration)
        #expect(refused.result.message == "Another broker is registered with that broker id.")
        #expect(refused.response.errorCode == ErrorCode.duplicateBrokerRegistration.rawValue)
        #expect(harness.image.brokerRegistrations[1]?.epoch == 1)
        harness.now += 4_001
        let offset = harness.nextOffset
        let accepted = harness.register(ControllerHarness.registration(1, incarnation: 77))
        #expect(accepted == .init(result: .ok, brokerEpoch: offset))
        #expect(harness.image.brokerRegistrations[1]?.isFenced == true)
        #expect(harness.image.brokerRegistrations[1]?.incarnationID == KafkaUUID(high: 7, low: 77))
    }

    @Test func aFencedOldIncarnationDoesNotBlockANewOne() {
        // Flow:
        // 1. Broker 1 registers and asks to be fenced (wantFence) — its session is no longer valid.
        // 2. A new incarnation registers at once: accepted with a new epoch.
        var harness = ControllerHarness()
        harness.startBroker(1)
        harness.heartbeat(1, wantFence: true)
        #expect(harness.image.brokerRegistrations[1]?.isFenced == true)
        #expect(harness.register(ControllerHarness.registration(1, incarnation: 5)).result == .ok)
    }

    @Test func aBrokerThatCannotRunTheFinalizedMetadataVersionIsRefused() {
        // Flow:
        // 1. The cluster runs metadata.version 25 (4.0-IV3).
        // 2. A broker supporting 7...21 registers: UNSUPPORTED_VERSION with Kafka's message.
        // 3. A broker naming no metadata.version range is taken to support only level 1: refused too.
        var harness = ControllerHarness()
        let old = harness.register(ControllerHarness.registration(1, metadataVersions: 7...21))
        #expect(old.result.error == .unsupportedVersion)
        #expect(
            old.result.message
                == "Unable to register because the broker does not support finalized version 25 of metadata.version. "
                + "The broker wants a version between 7 and 21, inclusive.")
        let silent = harness.register(ControllerHarness.registration(2, metadataVersions: nil))
        #expect(silent.result.error == .unsupportedVersion)
        #expect(harness.image.brokerRegistrations.isEmpty)
    }

    @Test func aFinalizedFeatureTheBrokerDoesNotNameMustBeOff() {
        // Flow:
        // 1. transaction.version is finalized at 2 (a FeatureLevelRecord committed).
        // 2. A broker that names only metadata.version registers: it supports transaction.version at 0 only,
        //    so it is refused; naming 0...2 it is accepted.
        var harness = ControllerHarness()
        harness.commit([.featureLevel(FeatureLevelRecord(name: "transaction.version", featureLevel: 2))])
        #expect(harness.register(ControllerHarness.registration(1)).result.error == .unsupportedVersion)
        var request = ControllerHarness.registration(1)
        request.features.append(.init(name: "transaction.version", minSupportedVersion: 0, maxSupportedVersion: 2))
        #expect(harness.register(request).result == .ok)
        #expect(harness.image.brokerRegistrations[1]?.supportedFeatures["transaction.version"] == 0...2)
    }

    @Test func clusterIDAndLogDirectoriesAreChecked() {
        // Flow:
        // 1. A request for another cluster: INCONSISTENT_CLUSTER_ID with both ids.
        // 2. At metadata.version 25 a broker must name its log dirs: none, a reserved id, a duplicate, or another
        //    broker's directory are INVALID_REGISTRATION.
        var harness = ControllerHarness()
        var foreign = ControllerHarness.registration(1)
        foreign.clusterID = "other"
        #expect(
            harness.register(foreign).result
                == ItemResult(
                    .inconsistentClusterID,
                    "Expected cluster ID \(ControllerHarness.clusterID), but got cluster ID other"))
        harness.startBroker(2)
        let taken = harness.image.brokerRegistrations[2]!.logDirs[0]
        let cases: [([KafkaUUID], String)] = [
            ([], "No directories specified in request"),
            ([KafkaUUID(high: 0, low: 1)], "Reserved directory ID in request"),
            ([KafkaUUID(high: 5, low: 5), KafkaUUID(high: 5, low: 5)], "Duplicate directory ID in request"),
            ([taken], "Broker 2 is already registered with directory \(taken)"),
        ]
        for (dirs, message) in cases {
            var request = ControllerHarness.registration(1)
            request.logDirs = dirs
            #expect(harness.register(request).result == ItemResult(.invalidRegistration, message))
        }
        #expect(harness.image.brokerRegistrations[1] == nil)
    }

    @Test func aControllerRegistersFrom37IV0() {
        // Flow:
        // 1. At 3.6-IV2 (14) a ControllerRegistration is UNSUPPORTED_VERSION.
        // 2. At 4.0-IV3 it writes a RegisterControllerRecord; replayed, the image lists the controller.
        let request = ControllerRegistrationRequest(
            controllerID: 3000, incarnationID: KafkaUUID(high: 1, low: 1),
            listeners: [.init(name: "CONTROLLER", host: "c", port: 9093, securityProtocol: 0)],
            features: [.init(name: MetadataVersion.featureName, minSupportedVersion: 7, maxSupportedVersion: 25)])
        let old = ControllerHarness(metadataVersion: 14)
        #expect(ClusterControl(image: old.image).registerController(request).response.error == .unsupportedVersion)
        var harness = ControllerHarness()
        let result = ClusterControl(image: harness.image).registerController(request)
        #expect(result.response == .ok)
        harness.commit(result.records)
        #expect(harness.image.controllerRegistrations[3000]?.endpoints.first?.port == 9093)
        #expect(harness.image.controllerRegistrations[3000]?.supportedFeatures[MetadataVersion.featureName] == 7...25)
    }

    @Test func unregisteringRemovesTheBrokerFromEveryPartition() {
        // Flow:
        // 1. Brokers 1 and 2, a partition on [1, 2] led by 1.
        // 2. UnregisterBroker 1: the partition moves to 2 with ISR [2]; the registration is gone.
        // 3. Unregistering an unknown broker is BROKER_ID_NOT_REGISTERED.
        var harness = ControllerHarness()
        harness.startBroker(1)
        harness.startBroker(2)
        harness.createTopic("t", assignments: [[1, 2]])
        let result = ClusterControl(image: harness.image).unregisterBroker(1, tracker: &harness.tracker)
        #expect(result.response == .ok)
        harness.commit(result.records)
        #expect(harness.image.brokerRegistrations[1] == nil)
        #expect(harness.partition("t", 0).leader == 2)
        #expect(harness.partition("t", 0).inSyncReplicas == [2])
        let missing = ClusterControl(image: harness.image).unregisterBroker(1, tracker: &harness.tracker)
        #expect(missing.response == ItemResult(.brokerIDNotRegistered, "Broker ID 1 is not currently registered"))
    }
}
