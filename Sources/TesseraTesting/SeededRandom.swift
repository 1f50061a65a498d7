/// SplitMix64: a tiny deterministic random number generator, so a property test sees the same cases on
/// every run and a failure reproduces from its seed. Test files add their own generators (URIs, tokens,
/// form text) as extensions.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func int(in range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    public mutating func bool() -> Bool { Bool.random(using: &self) }
    public mutating func byte() -> UInt8 { UInt8.random(in: 0...255, using: &self) }
    public mutating func bytes(maxCount: Int) -> [UInt8] { (0..<int(in: 0...maxCount)).map { _ in byte() } }
    public mutating func pick<T>(_ values: [T]) -> T { values[int(in: 0...(values.count - 1))] }
    /// `nil` about one time in three, else `make(&self)`.
    public mutating func maybe<T>(_ make: (inout SeededRandom) -> T) -> T? { int(in: 0...2) == 0 ? nil : make(&self) }
}
