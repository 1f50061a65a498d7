/// A dictionary bounded to ``capacity`` entries that, when full, evicts the oldest-inserted entry
/// (FIFO: for token caches the oldest are also the first to expire), amortised O(1) per insert.
/// The order log is lazy, so a key removed and inserted again may be evicted at its earlier place.
///
/// A value type without locking: the caches of verified tokens (the toolkit's `VerifiedTokenCache`, the
/// core's `IntrospectionCache`) keep one inside their `Mutex` and add their own freshness rules.
public struct BoundedFIFOCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private var entries: [Key: Value] = [:]
    /// Insertion order, for eviction; may hold keys already removed.
    private var order: [Key] = []
    private var head = 0

    /// The most entries kept (at least 1).
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// How many entries are kept now.
    public var count: Int { entries.count }

    /// The value for `key`, if kept.
    public subscript(key: Key) -> Value? { entries[key] }

    /// Stores `value` for `key`; a new key first evicts the oldest entries while the cache is full
    /// (replacing an existing key's value keeps its place in the order).
    public mutating func insert(_ value: Value, for key: Key) {
        if entries[key] == nil {
            while entries.count >= capacity { evictOne() }
            order.append(key)
        }
        entries[key] = value
        // Compact the order log once half of it is dead weight.
        if head > 1024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    /// Forgets `key`.
    @discardableResult
    public mutating func removeValue(for key: Key) -> Value? {
        entries.removeValue(forKey: key)
    }

    /// Forgets everything.
    public mutating func removeAll() {
        self = BoundedFIFOCache(capacity: capacity)
    }

    private mutating func evictOne() {
        while head < order.count {
            let key = order[head]
            head += 1
            if entries.removeValue(forKey: key) != nil { return }
        }
        entries.removeAll()
    }
}
