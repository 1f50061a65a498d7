import Foundation
public import TesseraCore

extension MFAEnrollment {
    /// The TOTP secret in clear (tests compute codes with it): the stored value opened with the KEK that sealed it.
    public func plaintextSecret(_ encryption: KeyEncryption?) throws -> String {
        try encryption.open(secret, for: .totp(userID: userID))
    }
}
