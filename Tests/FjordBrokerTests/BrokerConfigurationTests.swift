import Foundation
import Testing

@testable import FjordBroker

@Suite struct BrokerConfigurationTests {
    @Test func defaultsAreKafkasAndASingleLocalNode() throws {
        let configuration = try BrokerConfiguration(properties: [])
        #expect(configuration.nodeID == 1)
        #expect(configuration.listeners == [Listener(host: "127.0.0.1", port: 9092)])
        #expect(configuration.logDirs == ["./fjord-data"])
        #expect(configuration.socketRequestMaxBytes == 104_857_600)
        #expect(configuration.autoCreateTopicsEnable)
    }

    @Test func aKafkaServerPropertiesFileLoads() throws {
        let text = """
            # Kafka's KRaft example, trimmed
            process.roles=broker,controller
            node.id=3
            controller.quorum.voters=3@localhost:9093
            controller.listener.names=CONTROLLER
            listeners=PLAINTEXT://:9092,CONTROLLER://:9093
            advertised.listeners=PLAINTEXT://kafka.local:9092
            log.dirs=/tmp/a,/tmp/b
            num.partitions = 4
            socket.request.max.bytes: 1048576
            log.retention.hours=168
            offsets.topic.replication.factor=1
            auto.create.topics.enable=false
            """
        let configuration = try BrokerConfiguration(properties: try PropertiesFile.parse(text))
        #expect(configuration.nodeID == 3)
        #expect(configuration.listeners.map(\.port) == [9092, 9093])
        #expect(configuration.advertisedListeners == [Listener(host: "kafka.local", port: 9092)])
        #expect(configuration.logDirs == ["/tmp/a", "/tmp/b"])
        #expect(configuration.defaultPartitionCount == 4)
        #expect(configuration.socketRequestMaxBytes == 1_048_576)
        #expect(!configuration.autoCreateTopicsEnable)
    }

    @Test func theAuthorizerIsKafkasStandardAuthorizerByItsClassName() throws {
        #expect(!(try BrokerConfiguration(properties: [])).authorizerEnabled)
        let configured = try BrokerConfiguration(properties: [
            ("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
            ("super.users", "User:admin; User:broker"), ("allow.everyone.if.no.acl.found", "true"),
        ])
        #expect(configured.authorizerEnabled && configured.allowEveryoneIfNoAclFound)
        #expect(configured.superUsers == ["User:admin", "User:broker"])
        #expect(throws: ConfigurationError.self) {
            try BrokerConfiguration(properties: [("authorizer.class.name", "kafka.security.authorizer.AclAuthorizer")])
        }
    }

    @Test func laterPropertiesOverrideEarlierOnes() throws {
        let configuration = try BrokerConfiguration(properties: [("node.id", "2"), ("node.id", "7")])
        #expect(configuration.nodeID == 7)
    }

    @Test(arguments: [
        ("no.such.key", "1", "unknown property"),
        ("node.id", "abc", "not a 32-bit integer"),
        ("num.partitions", "0", "not an integer in 1"),
        ("auto.create.topics.enable", "yes", "not true or false"),
        ("listeners", "localhost:9092", "not of the form"),
        ("listeners", "PLAINTEXT://host:99999", "no valid port"),
        ("process.roles", "broker,zookeeper", "Unknown process role 'zookeeper' (only 'broker' and 'controller'"),
    ])
    func badPropertiesNameTheKey(key: String, value: String, message: String) {
        do {
            _ = try BrokerConfiguration(properties: [(key, value)])
            Issue.record("\(key)=\(value) was accepted")
        } catch {
            #expect(error.key == key)
            #expect(error.description.contains(key))
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func propertiesFileSyntax() throws {
        let text = "a=1\n! comment\n  b : two words \nc three\nlong=one\\\n  two\nesc=tab\\there\\u0041\n"
        let entries = try PropertiesFile.parse(text)
        #expect(entries.map(\.key) == ["a", "b", "c", "long", "esc"])
        #expect(entries.map(\.value) == ["1", "two words ", "three", "onetwo", "tab\there" + "A"])
    }

    @Test func listenerParsing() throws {
        #expect(try Listener(parsing: "PLAINTEXT://[::1]:9092", key: "listeners") == Listener(host: "::1", port: 9092))
        #expect(try Listener(parsing: "plaintext://:0", key: "listeners") == Listener(host: "", port: 0))
    }
}

@Suite struct MetaPropertiesTests {
    private func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("fjord-meta-\(UUID().uuidString)").path
    }

    @Test func clusterIDIsGeneratedOnceAndKept() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try MetaProperties.loadOrCreate(directory: directory, nodeID: 1)
        let second = try MetaProperties.loadOrCreate(directory: directory, nodeID: 1)
        #expect(first.clusterID == second.clusterID)
        #expect(first.clusterID.count == 22)
        let text = try String(contentsOfFile: directory + "/meta.properties", encoding: .utf8)
        #expect(text.contains("cluster.id=\(first.clusterID)\n"))
        #expect(text.contains("node.id=1\n"))
        #expect(text.contains("version=1\n"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/meta.properties.tmp"))
    }

    @Test func aDirectoryOfAnotherNodeIsRefused() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try MetaProperties.loadOrCreate(directory: directory, nodeID: 1)
        #expect(throws: ConfigurationError.self) { try MetaProperties.loadOrCreate(directory: directory, nodeID: 2) }
    }
}
