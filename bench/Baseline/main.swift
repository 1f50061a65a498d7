// The benchmark baseline: the bare framework on the same machine at the same moment.
//   GET /hello  — no work at all
//   GET /sign   — signs one ES256 JWT with jwt-kit (over swift-crypto, as Tessera's own signer is)
//   POST /form  — reads a form body (up to 4 KiB) and answers a fixed small JSON object: what any POST endpoint
//                 (/token, /introspect) pays the framework before doing anything of its own
// `tessera-bench-baseline --bcrypt-verify-ms COST` prints the time of one bcrypt verification instead.
import Crypto
import Foundation
import Hummingbird
import HummingbirdBcrypt
import JWTKit

struct Claims: JWTPayload {
    var sub: SubjectClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var jti: IDClaim
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

let arguments = CommandLine.arguments
if let index = arguments.firstIndex(of: "--bcrypt-verify-ms"), index + 1 < arguments.count, let cost = UInt8(arguments[index + 1]) {
    let hash = Bcrypt.hash("correct horse battery staple", cost: cost)
    let rounds = 8
    let start = ContinuousClock.now
    for _ in 0..<rounds { precondition(Bcrypt.verify("correct horse battery staple", hash: hash)) }
    let elapsed = ContinuousClock.now - start
    let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    print(String(format: "%.3f", ms / Double(rounds)))
    exit(0)
}

let port = Int(ProcessInfo.processInfo.environment["BASELINE_PORT"] ?? "") ?? 8090
let keys = JWTKeyCollection()
await keys.add(ecdsa: try ES256PrivateKey(backing: P256.Signing.PrivateKey()), kid: "bench")
let router = Router()
router.get("hello") { _, _ in "hello" }
router.get("sign") { _, _ -> String in
    let now = Date()
    let claims = Claims(sub: "bench", exp: .init(value: now.addingTimeInterval(900)), iat: .init(value: now), jti: .init(value: UUID().uuidString))
    return try await keys.sign(claims, kid: "bench", header: ["typ": .string("at+jwt")])
}
router.post("form") { request, _ -> Response in
    let body = try await request.body.collect(upTo: 4096)
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body.readableBytes > 0 ? #"{"active":true}"# : "{}")))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "baseline"))
try await app.runService()
