import Foundation
import HummingbirdBcrypt
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
public import NIOPosix

/// Hashes and verifies passwords.
public protocol PasswordHasher: Sendable {
    /// Hashes a password for storage.
    func hash(_ password: String) async throws -> String
    /// Whether `password` matches `hash`. Must take as long for a missing user (see `verifyAgainstNothing`).
    func verify(_ password: String, hash: String) async throws -> Bool
    /// Spends the same time as a real verification, for an unknown user (no user enumeration by timing).
    func verifyAgainstNothing(_ password: String) async throws
    /// Whether a stored hash is weaker than the configured cost and should be upgraded after a good login.
    func needsRehash(_ hash: String) -> Bool
}

/// bcrypt (hummingbird-auth's), run on a thread pool of its own so a burst of logins never stalls
/// the cooperative executor that serves every other request. On Linux its threads run at a lower
/// priority (nice 10): when the CPU is contended, token, introspection and page requests preempt the
/// password hashing instead of queueing behind it, and an idle CPU still goes to bcrypt in full.
public struct BcryptPasswordHasher: PasswordHasher {
    /// log2 of the work factor; 12 by default.
    public let cost: UInt8
    private let threadPool: NIOThreadPool
    /// A well-formed hash of the configured cost that matches no password.
    private let decoyHash: String

    /// A pool of its own, one thread per core: bcrypt never queues ahead of database I/O on NIO's shared pool.
    /// Process-wide and never shut down, like `NIOThreadPool.singleton` (so not a `Service`): its jobs belong to
    /// requests, which the HTTP server drains on graceful shutdown before the process exits.
    public static let sharedThreadPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: System.coreCount)
        pool.start()
        return pool
    }()

    public init(cost: UInt8 = 12, threadPool: NIOThreadPool = BcryptPasswordHasher.sharedThreadPool) {
        precondition((4...31).contains(cost), "bcrypt cost must be between 4 and 31")
        self.cost = cost
        self.threadPool = threadPool
        let alphabet = Array("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        // 22 salt characters + 31 hash characters; the last salt character must encode 2 clean bits.
        var body = (0..<21).map { _ in alphabet.randomElement()! }
        body.append(".")
        body += (0..<31).map { _ in alphabet.randomElement()! }
        self.decoyHash = String(format: "$2b$%02d$", Int(cost)) + String(body)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await threadPool.runIfActive {
            Self.yieldPriority()
            return Bcrypt.hash(password, cost: cost)
        }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await threadPool.runIfActive {
            Self.yieldPriority()
            return Bcrypt.verify(password, hash: hash)
        }
    }

    public func verifyAgainstNothing(_ password: String) async throws {
        let decoy = decoyHash
        _ = try await threadPool.runIfActive {
            Self.yieldPriority()
            return Bcrypt.verify(password, hash: decoy)
        }
    }

    public func needsRehash(_ hash: String) -> Bool {
        guard let storedCost = Self.cost(of: hash) else { return true }
        return storedCost < Int(cost)
    }

    /// Lowers the calling thread's scheduling priority to nice 10 (Linux: the nice value is per thread,
    /// and `who == 0` names the calling thread). One cheap system call against ~250 ms of bcrypt work.
    static func yieldPriority() {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
    }

    /// The cost field of a modular-crypt bcrypt hash (`$2b$12$…`).
    public static func cost(of hash: String) -> Int? {
        let parts = hash.split(separator: "$", omittingEmptySubsequences: true)
        guard parts.count >= 3, parts[0].hasPrefix("2") else { return nil }
        return Int(parts[1])
    }
}
