/// What happened in a run: printed with a failure and used by the named scenarios to prove that the path they
/// target (an election, a snapshot transfer) was really taken.
struct SimulationStatistics: CustomStringConvertible {
    var events = 0
    var messagesSent = 0
    var messagesDelivered = 0
    var crashes = 0
    var restarts = 0
    var proposalsAccepted = 0
    var batchesApplied = 0
    var snapshotsTaken = 0
    var snapshotsInstalled = 0
    var truncations = 0
    /// Epochs in which some node became leader.
    var leaderEpochs = 0

    var description: String {
        "\(events) events, \(messagesDelivered)/\(messagesSent) messages delivered, \(leaderEpochs) leader epochs, "
            + "\(proposalsAccepted) proposals accepted, \(batchesApplied) batches applied, \(crashes) crashes, "
            + "\(truncations) truncations, \(snapshotsTaken) snapshots taken, \(snapshotsInstalled) installed"
    }
}
