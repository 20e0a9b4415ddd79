/// The simulation's agenda: events ordered by (time, sequence number), so events due at the same millisecond run in
/// the order they were scheduled and a seed replays the same run. A binary min-heap of small keys; the events (some
/// carry records) stay put in a slot array, which keeps the debug build (what `swift test` runs) fast.
struct EventQueue {
    private struct Key {
        var time: Int64
        var sequence: UInt64
        var slot: Int

        func precedes(_ other: Key) -> Bool {
            time != other.time ? time < other.time : sequence < other.sequence
        }
    }

    private var heap: [Key] = []
    private var slots: [SimulationEvent?] = []
    private var freeSlots: [Int] = []
    private var nextSequence: UInt64 = 0

    var nextTime: Int64? { heap.first?.time }

    mutating func schedule(_ event: SimulationEvent, at time: Int64) {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            slots[slot] = event
        } else {
            slot = slots.count
            slots.append(event)
        }
        heap.append(Key(time: time, sequence: nextSequence, slot: slot))
        nextSequence += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: Int64, event: SimulationEvent)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let key = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { break }
            var smallest = left
            if left + 1 < heap.count, heap[left + 1].precedes(heap[left]) { smallest = left + 1 }
            guard heap[smallest].precedes(heap[parent]) else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        let event = slots[key.slot].take()!
        freeSlots.append(key.slot)
        return (key.time, event)
    }
}
