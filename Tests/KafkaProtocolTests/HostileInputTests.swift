import FjordTestSupport
import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// Flow:
/// 1. Seed a generator (printed; `FUZZ_SEED=n` replays a run).
/// 2. For every request type and version, take the valid encoding of its sample and mutate it: flip bytes,
///    truncate, splice in random bytes, overwrite with huge or negative lengths; also try pure random frames.
/// 3. Decode each frame; the decoder must return a value or throw `DecodeError`, never trap or allocate
///    beyond what the frame backs. At least 100,000 frames in total.
@Suite struct HostileInputTests {
    @Test func randomAndMutatedFramesNeverCrashAnyRequestDecoder() {
        let seed =
            ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("HostileInputTests seed: \(seed) (replay with FUZZ_SEED=\(seed))")
        var random = SeededGenerator(seed: seed)
        let requestTypes = allGeneratedMessageTypes.filter { $0 is any KafkaRequest.Type }
        #expect(requestTypes.count == ApiKey.requestTypes.count)

        var frames = 0
        var rejected = 0
        while frames < 100_000 {
            for type in requestTypes {
                let outcome = fuzz(type, random: &random)
                frames += outcome.frames
                rejected += outcome.rejected
            }
        }
        print("HostileInputTests: \(frames) frames, \(rejected) rejected with DecodeError")
        #expect(frames >= 100_000)
        #expect(rejected > frames / 10)
    }

    private func fuzz<T: SampledMessage>(_ type: T.Type, random: inout SeededGenerator) -> (frames: Int, rejected: Int)
    {
        var frames = 0
        var rejected = 0
        for version in T.validVersions {
            let valid = Array(T.sample(version: version).encoded(version: version).readableBytesView)
            for _ in 0..<4 {
                let frame = mutate(valid, random: &random)
                var buffer = ByteBuffer(bytes: frame)
                do {
                    _ = try T(from: &buffer, version: version)
                } catch {
                    rejected += 1
                }
                frames += 1
            }
        }
        return (frames, rejected)
    }

    private func mutate(_ bytes: [UInt8], random: inout SeededGenerator) -> [UInt8] {
        var bytes = bytes
        switch random.next() % 6 {
        case 0:  // flip a few bytes
            for _ in 0..<(1 + Int(random.next() % 4)) where !bytes.isEmpty {
                bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            }
        case 1:  // truncate
            bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count + 1))))
        case 2:  // splice in random bytes
            let position = Int(random.next() % UInt64(bytes.count + 1))
            let noise = (0..<(1 + Int(random.next() % 16))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            bytes.insert(contentsOf: noise, at: position)
        case 3:  // a huge or negative length/count somewhere
            let lengths: [[UInt8]] = [
                [0x7F, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFE], [0x7F, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
            ]
            let length = lengths[Int(random.next() % UInt64(lengths.count))]
            let position = Int(random.next() % UInt64(bytes.count + 1))
            bytes.replaceSubrange(position..<min(bytes.count, position + length.count), with: length)
        case 4:  // pure garbage of a random size
            bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        default:  // all 0xFF: every length reads as -1 or huge
            bytes = [UInt8](repeating: 0xFF, count: Int(random.next() % 32))
        }
        return bytes
    }
}
