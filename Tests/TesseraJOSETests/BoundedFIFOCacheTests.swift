import TesseraJOSE
import TesseraTesting
import Testing

/// The bounded FIFO cache behind the verified-token caches: never more than `capacity` entries, oldest
/// inserted evicted first, removals and replacements honoured. Checked against a model. Seeded.
@Suite("Bounded FIFO cache")
struct BoundedFIFOCacheTests {
    @Test("evicts the oldest inserted; a replaced value keeps its place; removed keys are skipped")
    func order() {
        var cache = BoundedFIFOCache<Int, String>(capacity: 2)
        cache.insert("a", for: 1)
        cache.insert("b", for: 2)
        cache.insert("a2", for: 1)  // replacement: 1 is still the oldest
        cache.insert("c", for: 3)
        #expect(cache[1] == nil && cache[2] == "b" && cache[3] == "c" && cache.count == 2)
        #expect(cache.removeValue(for: 2) == "b")
        cache.insert("d", for: 4)  // room after the removal: nothing evicted
        #expect(cache[3] == "c" && cache[4] == "d")
        cache.removeAll()
        #expect(cache.count == 0 && cache.capacity == 2)
        #expect(BoundedFIFOCache<Int, Int>(capacity: 0).capacity == 1)
    }

    @Test("property: under random inserts and removals it never exceeds capacity, never returns a stale value, keeps what was just inserted, forgets what was removed")
    func model() {
        var random = SeededRandom(seed: 0xF1F0)
        for _ in 0..<20 {
            let capacity = random.int(in: 1...8)
            var cache = BoundedFIFOCache<Int, Int>(capacity: capacity)
            var latest: [Int: Int] = [:]  // the last value inserted per key, unless removed since
            var insertsOnly = true
            var fifo: [Int] = []  // exact FIFO model while no key was removed
            for step in 0..<1_000 {
                let key = random.int(in: 0...20)
                if random.int(in: 0...3) == 0 {
                    let removed = cache.removeValue(for: key)
                    #expect(removed == nil || removed == latest[key])
                    latest[key] = nil
                    #expect(cache[key] == nil)
                    insertsOnly = false
                } else {
                    if insertsOnly, !fifo.contains(key) {
                        if fifo.count >= capacity { fifo.removeFirst() }
                        fifo.append(key)
                    }
                    cache.insert(step, for: key)
                    latest[key] = step
                    #expect(cache[key] == step)
                }
                #expect(cache.count <= capacity)
                for probe in 0...20 {
                    let value = cache[probe]
                    #expect(value == nil || value == latest[probe], "never stale")
                    if insertsOnly { #expect((value != nil) == fifo.contains(probe), "exact FIFO without removals") }
                }
            }
        }
    }
}
