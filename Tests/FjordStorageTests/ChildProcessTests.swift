import FjordTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The launcher every test's child process goes through (brokers, Python clients, the crash writer).
@Suite struct ChildProcessTests {
    /// Runs `script` with /bin/sh and returns what it wrote to stdout, and the child.
    static func shell(_ script: String, directory: String? = nil) throws -> (output: String, process: ChildProcess) {
        let output = Pipe()
        let process = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", script], directory: directory,
            standardOutput: .descriptor(output.fileHandleForWriting.fileDescriptor))
        try output.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (text.trimmingCharacters(in: .whitespacesAndNewlines), process)
    }

    @Test func theChildInheritsNoDescriptorButItsStandardStreams() throws {
        // Flow: 1. the parent holds 1,500 more open descriptors (the test process holds thousands when every suite
        // runs at once, which is what broke Foundation's launcher); 2. a child lists its own descriptors: only 0, 1
        // and 2 (and the listing's own directory handle), so no broker child keeps a test's sockets or files open.
        var extra: [Int32] = []
        defer { for fd in extra { close(fd) } }
        for _ in 0..<1_500 {
            let fd = dup(1)
            guard fd >= 0 else { break }
            extra.append(fd)
        }
        let (listing, process) = try Self.shell("ls /proc/$$/fd")
        #expect(process.terminationStatus == 0)
        let descriptors = Set(listing.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) })
        #expect(descriptors.isSubset(of: [0, 1, 2, 3]), "the child inherited \(descriptors.sorted())")
        #expect(descriptors.isSuperset(of: [0, 1, 2]))
    }

    @Test func exitCodesSignalsAndWorkingDirectory() throws {
        // Flow: 1. an exit code comes back as is; 2. a child killed by SIGKILL reports 9 and is not running;
        // 3. the working directory given is the child's.
        #expect(try Self.shell("exit 7").process.terminationStatus == 7)

        let sleeper = try ChildProcess(executable: "/bin/sleep", arguments: ["30"])
        #expect(sleeper.isRunning)
        sleeper.send(SIGKILL)
        #expect(sleeper.waitUntilExit() == SIGKILL)
        #expect(!sleeper.isRunning)

        let directory = FileManager.default.temporaryDirectory.resolvingSymlinksInPath().path
        #expect(try Self.shell("pwd -P", directory: directory).output == directory)
    }

    @Test func aMissingExecutableIsAnErrorNotACrash() {
        #expect(throws: TestBrokerError.self) {
            try ChildProcess(executable: "/nonexistent/fjord", arguments: [])
        }
    }
}
