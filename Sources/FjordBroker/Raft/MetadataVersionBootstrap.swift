import FjordController
import KafkaProtocol
import Logging
import NIOPosix

/// The active controller's first write to a new cluster's metadata log: the bootstrap `metadata.version`
/// (`bootstrap.checkpoint`'s level, which `fjord storage format` wrote from `--release-version`, else the latest
/// production one), as Kafka's controller appends its bootstrap records when it finds the log without them. Until
/// then the log reads as the oldest version (3.3-IV3), which knows no controller registration.
struct MetadataVersionBootstrap: Sendable {
    let metadata: MetadataService
    /// The level to finalize.
    let level: Int16
    /// The other records of `bootstrap.checkpoint` (SCRAM credentials from `fjord storage format --add-scram`),
    /// written with the level, once: only in the command that finds the log without a metadata.version.
    var records: [MetadataRecord] = []
    let threadPool: NIOThreadPool
    let logger: Logger

    /// Commits the bootstrap level unless the image has one already (a no-op then). Runs the command on the thread
    /// pool (it blocks until committed); refusals (not the leader any more) are left for the next attempt.
    func writeIfMissing() async {
        let (metadata, level, extra) = (self.metadata, self.level, self.records)
        do {
            let written = try await threadPool.runIfActive {
                try metadata.execute { image in
                    let records = FeatureControl.bootstrapRecords(image: image, level: level)
                    return ControllerResult(records: records.isEmpty ? [] : records + extra, response: !records.isEmpty)
                }
            }
            if written {
                logger.info(
                    "bootstrapped the metadata log",
                    metadata: [
                        "metadata.version": "\(MetadataVersion(level: level)?.name ?? "\(level)")",
                        "records": "\(extra.count) more from bootstrap.checkpoint",
                    ])
            }
        } catch {
            logger.debug("metadata.version bootstrap not written", metadata: ["error": "\(error)"])
        }
    }
}
