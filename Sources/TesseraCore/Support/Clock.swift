public import Foundation

/// The source of "now" for every time-dependent decision. Inject a fixed clock in tests.
public protocol TimeSource: Sendable {
    var now: Date { get }
}

/// The wall clock.
public struct SystemTimeSource: TimeSource {
    public init() {}
    public var now: Date { Date() }
}
