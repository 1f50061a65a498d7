import Foundation
public import TesseraCore

extension Provisioning {
    /// Sets a user's OpenID Connect profile claims (`name`, `email`; OIDC Core §5.1), served by `/userinfo`.
    /// A `nil` argument keeps the current value; an empty string clears it.
    @discardableResult
    public func setProfile(username: String, name: String?, email: String?) async throws -> UserProfile {
        let user = try await requireUser(username)
        var profile = try await storage.userProfile(userID: user.id)
        if let name {
            guard name.count <= 200, !name.contains(where: \.isNewline) else { throw Invalid("name must be at most 200 characters on one line") }
            profile.name = name.isEmpty ? nil : name
        }
        if let email {
            guard email.isEmpty || (email.count <= 254 && email.split(separator: "@").count == 2 && !email.contains(where: \.isWhitespace)) else {
                throw Invalid("email must look like name@domain")
            }
            profile.email = email.isEmpty ? nil : email
        }
        try await storage.setUserProfile(userID: user.id, profile: profile)
        return profile
    }
}
