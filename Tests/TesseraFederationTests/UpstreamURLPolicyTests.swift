import Foundation
import TesseraCore
import TesseraFederation
import TesseraTesting
import Testing

@Suite("Upstream URL policy")
struct UpstreamURLPolicyTests {
    @Test("https anywhere, http only on loopback hosts")
    func policy() {
        #expect(UpstreamURLPolicy.isAcceptable("https://accounts.example.com/auth"))
        #expect(UpstreamURLPolicy.isAcceptable("http://127.0.0.1:8080/auth"))
        #expect(UpstreamURLPolicy.isAcceptable("http://localhost/auth"))
        #expect(UpstreamURLPolicy.isAcceptable("http://[::1]:9000/auth"))
        #expect(!UpstreamURLPolicy.isAcceptable("http://accounts.example.com/auth"))
        #expect(!UpstreamURLPolicy.isAcceptable("http://127.0.0.2/auth"))
        #expect(!UpstreamURLPolicy.isAcceptable("ftp://127.0.0.1/auth"))
        #expect(!UpstreamURLPolicy.isAcceptable("https://example.com/auth#fragment"))
        #expect(!UpstreamURLPolicy.isAcceptable("/relative"))
    }
}

@Suite("Upstream clients' descriptions")
struct ClientDescriptionTests {
    @Test("neither description nor dump shows the client secret")
    func noSecret() {
        let clients: [any UpstreamProviderClient] = [
            UpstreamProviderClients.make(oidcSettings(issuer: "https://accounts.example.com"), clock: FixedClock(testNow)),
            UpstreamProviderClients.make(oauth2Settings(base: "https://github.example"), clock: FixedClock(testNow)),
        ]
        for client in clients {
            var dumped = ""
            dump(client, to: &dumped)
            #expect(!String(describing: client).contains("s3cret"))
            #expect(!String(reflecting: client).contains("s3cret"))
            #expect(!dumped.contains("s3cret"))
        }
    }
}
