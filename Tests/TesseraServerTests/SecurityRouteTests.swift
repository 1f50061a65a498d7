import Foundation
import HTTPTypes
import HummingbirdTesting
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

@Suite("Lockout and rate limits at the routes")
struct SecurityRouteTests {
    @Test("five failed password grants lock the account; unlocking (tessera user unlock) lifts it")
    func lockoutThenUnlock() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            for _ in 0..<5 {
                let wrong = try await client.postForm("grant_type=password&username=alice&password=wrong", authorization: harness.basic)
                wrong.expectOAuthError(.badRequest, "invalid_grant")
            }
            let locked = try await client.postForm("grant_type=password&username=alice&password=wonderland", authorization: harness.basic)
            locked.expectOAuthError(.badRequest, "invalid_grant")
            #expect((locked.json["error_description"] as? String)?.contains("temporarily locked") == true)
            #expect(try await harness.store.lockedLogins(at: Date()).map(\.username) == ["alice"])

            #expect(try await harness.store.clearLoginAttempts(username: "alice"))
            let unlocked = try await client.postForm("grant_type=password&username=alice&password=wonderland", authorization: harness.basic)
            #expect(unlocked.status == .ok)
        }
    }

    @Test("/token over the per-client limit is 429 with Retry-After, then recovers in the next window")
    func tokenRateLimit() async throws {
        // A fixed clock at the start of a window: the test does not depend on how fast the machine is.
        let clock = FixedClock(Date(timeIntervalSince1970: 1_800_000_000))
        let harness = try await ServerHarness.make(clock: clock) { $0.tokenRateLimit = 3; $0.rateLimitWindow = 1 }
        try await harness.test { client in
            for _ in 0..<3 {
                let ok = try await client.postForm("grant_type=client_credentials", authorization: harness.basic)
                #expect(ok.status == .ok)
            }
            let limited = try await client.postForm("grant_type=client_credentials", authorization: harness.basic)
            limited.expectOAuthError(.tooManyRequests, "too_many_requests")
            #expect(limited.headers[.retryAfter] == "1")
            clock.advance(by: 1)
            let recovered = try await client.postForm("grant_type=client_credentials", authorization: harness.basic)
            #expect(recovered.status == .ok)
        }
    }

    @Test("failed client authentication counts against the IP address, never against the client's window")
    func wrongSecretCountsPerIP() async throws {
        let clock = FixedClock(Date(timeIntervalSince1970: 1_800_000_000))
        let harness = try await ServerHarness.make(clock: clock) { $0.tokenRateLimit = 3; $0.rateLimitWindow = 10 }
        let forged = "Basic " + Data("svc:wrong-secret".utf8).base64EncodedString()
        try await harness.test { client in
            for _ in 0..<3 {
                let wrong = try await client.postForm("grant_type=client_credentials", authorization: forged)
                #expect(wrong.status == .unauthorized)
            }
            let limited = try await client.postForm("grant_type=client_credentials", authorization: forged)
            limited.expectOAuthError(.tooManyRequests, "too_many_requests")
            #expect(limited.headers[.retryAfter] == "10")
            // A new window: the client's own window was never touched by the forged requests.
            clock.advance(by: 10)
            for _ in 0..<3 {
                let ok = try await client.postForm("grant_type=client_credentials", authorization: harness.basic)
                #expect(ok.status == .ok)
            }
            let clientLimited = try await client.postForm("grant_type=client_credentials", authorization: harness.basic)
            clientLimited.expectOAuthError(.tooManyRequests, "too_many_requests")
        }
    }

    @Test("the login form and the MFA step share one limit per IP address")
    func loginRateLimit() async throws {
        let harness = try await ServerHarness.make(clock: FixedClock()) { $0.loginRateLimit = 2 }
        try await harness.test { client in
            for _ in 0..<2 {
                let response = try await client.postForm("username=alice&password=x", to: "/login")
                #expect(response.status != .tooManyRequests)
            }
            let limited = try await client.postForm("username=alice&password=x", to: "/login")
            limited.expectOAuthError(.tooManyRequests, "too_many_requests")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            let secondFactor = try await client.postForm("otp=123456", to: "/login/mfa")
            secondFactor.expectOAuthError(.tooManyRequests, "too_many_requests")
        }
    }

    @Test("/authorize is limited per IP address (each anonymous request stores a pending interaction), /authorize/ and POST included")
    func authorizeRateLimit() async throws {
        let harness = try await ServerHarness.make(clock: FixedClock()) { $0.authorizeRateLimit = 3 }
        try await harness.test { client in
            let query = "?client_id=nobody&response_type=code"
            for path in ["/authorize", "/authorize/", "//authorize"] {
                #expect(try await client.get(path + query).status == .badRequest, "\(path) reaches the route (unknown client: error page)")
            }
            try await client.get("/authorize" + query).expectOAuthError(.tooManyRequests, "too_many_requests")
            let posted = try await client.postForm("client_id=nobody&response_type=code", to: "/authorize")
            posted.expectOAuthError(.tooManyRequests, "too_many_requests")
        }
    }

    @Test("every spelling of a limited path that reaches its route (/token/, //token, /login/, //login, /register/) is counted")
    func pathVariantsAreCounted() async throws {
        let harness = try await ServerHarness.make(clock: FixedClock()) {
            $0.tokenRateLimit = 2; $0.rateLimitWindow = 60; $0.loginRateLimit = 2; $0.openRegistration = true; $0.registrationRateLimit = 2
        }
        let metadata = #"{"client_name":"mcp","redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}"#
        try await harness.test { client in
            // Unauthenticated token requests count against the IP address: /token/ and //token share /token's window.
            for path in ["/token/", "//token"] {
                let response = try await client.postForm("grant_type=client_credentials", to: path)
                #expect(response.status == .unauthorized, "\(path) reaches the token route")
            }
            try await client.postForm("grant_type=client_credentials", to: "/token").expectOAuthError(.tooManyRequests, "too_many_requests")
            try await client.postForm("grant_type=client_credentials", to: "/token/").expectOAuthError(.tooManyRequests, "too_many_requests")

            for path in ["/login/", "//login"] {
                #expect(try await client.postForm("username=alice&password=x", to: path).status != .tooManyRequests, "\(path)")
            }
            try await client.postForm("username=alice&password=x", to: "/login").expectOAuthError(.tooManyRequests, "too_many_requests")
            try await client.postForm("username=alice&password=x", to: "//login").expectOAuthError(.tooManyRequests, "too_many_requests")

            for path in ["/register/", "//register"] {
                #expect(try await client.sendJSON(metadata, to: path).status == .created, "\(path) reaches the registration route")
            }
            try await client.sendJSON(metadata, to: "/register").expectOAuthError(.tooManyRequests, "too_many_requests")
            try await client.sendJSON(metadata, to: "/register/").expectOAuthError(.tooManyRequests, "too_many_requests")
        }
    }

    @Test("the login limit recovers when its one-minute window ends")
    func loginRateLimitRecovers() async throws {
        let clock = FixedClock(Date(timeIntervalSince1970: 1_800_000_000))
        let harness = try await ServerHarness.make(clock: clock) { $0.loginRateLimit = 2 }
        try await harness.test { client in
            for _ in 0..<2 { _ = try await client.postForm("username=alice&password=x", to: "/login") }
            let limited = try await client.postForm("username=alice&password=x", to: "/login")
            limited.expectOAuthError(.tooManyRequests, "too_many_requests")
            #expect(limited.headers[.retryAfter] == "60")
            clock.advance(by: 60)
            let recovered = try await client.postForm("username=alice&password=x", to: "/login")
            #expect(recovered.status != .tooManyRequests)
        }
    }

    @Test("/introspect over the per-client limit is 429 with Retry-After, then recovers")
    func introspectionRateLimit() async throws {
        let clock = FixedClock(Date(timeIntervalSince1970: 1_800_000_000))
        let harness = try await ServerHarness.make(clock: clock) { $0.tokenRateLimit = 2; $0.rateLimitWindow = 5 }
        try await harness.test { client in
            for _ in 0..<2 {
                let ok = try await client.postForm("token=not-a-token", to: "/introspect", authorization: harness.basic)
                #expect(ok.status == .ok)
            }
            let limited = try await client.postForm("token=not-a-token", to: "/introspect", authorization: harness.basic)
            limited.expectOAuthError(.tooManyRequests, "too_many_requests")
            #expect(limited.headers[.retryAfter] == "5")
            clock.advance(by: 5)
            let recovered = try await client.postForm("token=not-a-token", to: "/introspect", authorization: harness.basic)
            #expect(recovered.status == .ok)
        }
    }

    @Test("open registration is limited per IP address, then recovers")
    func openRegistrationRateLimit() async throws {
        let clock = FixedClock(Date(timeIntervalSince1970: 1_800_000_000))
        let harness = try await ServerHarness.make(clock: clock) { $0.openRegistration = true; $0.registrationRateLimit = 2 }
        let metadata = #"{"client_name":"mcp","redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}"#
        try await harness.test { client in
            for _ in 0..<2 {
                let created = try await client.sendJSON(metadata, to: "/register")
                #expect(created.status == .created)
            }
            let limited = try await client.sendJSON(metadata, to: "/register")
            limited.expectOAuthError(.tooManyRequests, "too_many_requests")
            #expect(limited.headers[.retryAfter] == "60")
            clock.advance(by: 60)
            let recovered = try await client.sendJSON(metadata, to: "/register")
            #expect(recovered.status == .created)
        }
    }
}

@Suite("Security configuration")
struct SecurityConfigurationTests {
    @Test("lockout threshold nil (0 in the environment) turns lockout off")
    func lockoutOff() async throws {
        let harness = try await ServerHarness.make { $0.lockoutThreshold = nil }
        try await harness.test { client in
            for _ in 0..<6 {
                _ = try await client.postForm("grant_type=password&username=alice&password=wrong", authorization: harness.basic)
            }
            let ok = try await client.postForm("grant_type=password&username=alice&password=wonderland", authorization: harness.basic)
            #expect(ok.status == .ok)
        }
    }
}

@Suite("LocalRateLimiter (node-local fixed windows)")
struct LocalRateLimiterTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let limit = RateLimit(limit: 2, window: 10)

    @Test("hits within the limit pass, the next one gets Retry-After until the window ends; check() never counts")
    func fixedWindow() {
        let limiter = LocalRateLimiter()
        #expect(limiter.check("k", limit: limit, at: start) == nil)
        #expect(limiter.hit("k", limit: limit, at: start) == nil)
        #expect(limiter.hit("k", limit: limit, at: start.addingTimeInterval(1)) == nil)
        #expect(limiter.check("k", limit: limit, at: start.addingTimeInterval(3)) == 7)
        #expect(limiter.hit("k", limit: limit, at: start.addingTimeInterval(3)) == 7)
        #expect(limiter.hit("other", limit: limit, at: start.addingTimeInterval(3)) == nil, "counted per key")
        #expect(limiter.hit("k", limit: limit, at: start.addingTimeInterval(10)) == nil, "a new window restarts")
    }

    @Test("a key's window starts at its first hit: a burst straddling a wall-clock boundary is still one window")
    func windowAnchoredAtFirstHit() {
        let limiter = LocalRateLimiter()
        let nearBoundary = start.addingTimeInterval(9) // one second before a multiple of 10 s
        #expect(limiter.hit("k", limit: limit, at: nearBoundary) == nil)
        #expect(limiter.hit("k", limit: limit, at: nearBoundary.addingTimeInterval(0.5)) == nil)
        #expect(limiter.hit("k", limit: limit, at: nearBoundary.addingTimeInterval(2)) == 8, "the boundary at +1 s resets nothing")
        #expect(limiter.check("k", limit: limit, at: nearBoundary.addingTimeInterval(9.5)) == 1)
        #expect(limiter.hit("k", limit: limit, at: nearBoundary.addingTimeInterval(10)) == nil, "ten seconds after the first hit")
    }

    @Test("ended windows are purged, and the table never holds more than its capacity")
    func bounded() {
        let limiter = LocalRateLimiter(capacity: 3)
        for key in ["a", "b", "c", "d", "e"] { limiter.hit(key, limit: limit, at: start) }
        #expect(limiter.trackedKeys == 3)
        #expect(limiter.overflowCount == 2, "keys beyond capacity are not tracked (allowed), never failing closed")
        limiter.hit("f", limit: limit, at: start.addingTimeInterval(10))
        #expect(limiter.trackedKeys == 1, "the ended window was purged")
        limiter.purge(at: start.addingTimeInterval(20))
        #expect(limiter.trackedKeys == 0)
    }
}
