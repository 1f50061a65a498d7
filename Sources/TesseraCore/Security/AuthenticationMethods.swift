import Foundation

/// The `amr` values (RFC 8176 §2) a browser sign-in records in its session, and so in its ID tokens.
public enum AuthenticationMethods {
    /// A sign-in with the password alone.
    public static let password = ["pwd"]

    /// After the TOTP step: the first step's methods (a password when it recorded none) plus `otp`, exactly once.
    public static func afterSecondFactor(_ first: [String]?) -> [String] {
        (first ?? ["pwd"]).filter { $0 != "otp" } + ["otp"]
    }
}
