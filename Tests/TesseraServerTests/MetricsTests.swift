import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TesseraServer
import Testing

@Suite("Prometheus /metrics")
struct MetricsTests {
    @Test("Requests, tokens per grant type and token errors are counted with bounded labels")
    func countsWithBoundedLabels() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            #expect(try await client.postForm("grant_type=client_credentials&scope=read", authorization: harness.basic).status == .ok)
            _ = try await client.postForm("grant_type=client_credentials", authorization: "Basic " + Data("svc:wrong".utf8).base64EncodedString())
            #expect(try await client.execute(uri: "/no/such/path/\(UUID().uuidString)", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/another-unknown-\(UUID().uuidString)", method: .get).status == .notFound)

            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            let text = String(buffer: metrics.body)
            #expect(text.contains(#"tessera_tokens_issued_total{grant_type="client_credentials"} 1"#), "\(text)")
            #expect(text.contains(#"tessera_token_errors_total{error="invalid_client"} 1"#))
            #expect(text.contains(#"tessera_http_requests_total{route="/token",method="POST",status="200"} 1"#))
            #expect(text.contains(#"tessera_http_requests_total{route="unmatched",method="GET",status="404"} 2"#))
            #expect(text.contains("tessera_http_request_duration_seconds_bucket{"))
            #expect(!text.contains("no/such/path") && !text.contains("another-unknown"), "raw paths never become labels")
            #expect(text.contains("tessera_logins_total"))
        }
    }

    @Test("Password grant counts a login success and a token; metrics can be turned off")
    func passwordAndOff() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            #expect(try await client.postForm("grant_type=password&username=alice&password=wonderland", authorization: harness.basic).status == .ok)
            let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(text.contains(#"tessera_tokens_issued_total{grant_type="password"} 1"#))
            #expect(text.contains(#"tessera_logins_total{outcome="success"} 1"#))
        }
        let off = try await ServerHarness.make { $0.metrics = false }
        #expect(off.runtime.metrics == nil)
        try await off.test { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .notFound)
        }
    }

    @Test("With metricsToken, /metrics answers only its bearer; others get 401 with WWW-Authenticate: Bearer (RFC 6750 §3)")
    func bearerToken() async throws {
        let token = "metrics-secret-0123456789"
        let harness = try await ServerHarness.make { $0.metricsToken = token }
        try await harness.test { client in
            let anonymous = try await client.execute(uri: "/metrics", method: .get)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate] == #"Bearer realm="tessera-metrics""#)
            #expect(!String(buffer: anonymous.body).contains("tessera_"))
            for wrong in ["Bearer metrics-secret-0123456788", "Bearer \(token)x", "Basic \(token)", "Bearer"] {
                let response = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: wrong])
                #expect(response.status == .unauthorized, "\(wrong)")
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true, "\(wrong)")
                #expect(!String(buffer: response.body).contains("tessera_"), "\(wrong)")
            }
            let scrape = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "bearer \(token)"])
            #expect(scrape.status == .ok)
            #expect(String(buffer: scrape.body).contains("tessera_http_requests_total"))
        }
    }

    @Test("Label values per metric are capped")
    func labelCap() {
        let metrics = TesseraMetrics()
        for index in 0..<200 { metrics.tokenError(code: "code_\(index)") }
        let text = String(decoding: metrics.exposition(auditPending: 0), as: UTF8.self)
        #expect(text.contains(#"tessera_token_errors_total{error="other"}"#))
        #expect(!text.contains("code_199"))
        #expect(text.contains("tessera_audit_buffer_events 0"))
    }
}
