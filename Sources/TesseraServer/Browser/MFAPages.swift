/// The MFA pages (swift-mustache), merged into `Pages.library`. Stable element ids for tests.
extension Pages {
    static let mfaSources: [String: String] = [
        // Included by the account page.
        "account-mfa": """
        <h2>Two-factor authentication</h2>
        {{#mfaError}}<p class="error" id="mfa-error">{{mfaError}}</p>{{/mfaError}}
        {{#mfaEnabled}}<p id="mfa-status" data-mfa="on">Two-factor authentication is on.</p>
        <form method="post" action="/account/mfa/disable" id="disable-totp-form"><input type="hidden" name="csrf_token" value="{{csrf}}">
        <label for="disable-otp">A current code or a recovery code</label><input type="text" id="disable-otp" name="otp" autocomplete="one-time-code" required>
        <button type="submit" id="disable-totp" class="secondary">Turn off two-factor authentication</button></form>{{/mfaEnabled}}
        {{^mfaEnabled}}<p id="mfa-status" data-mfa="off">Two-factor authentication is off.</p>
        <form method="post" action="/account/mfa/setup" id="setup-totp-form"><input type="hidden" name="csrf_token" value="{{csrf}}">
        <button type="submit" id="setup-totp">Set up two-factor authentication</button></form>{{/mfaEnabled}}
        """,
        "mfa-setup": """
        <main class="wide"><h1>Set up two-factor authentication</h1>
        <p>Add this key to your authenticator app (or open the link on your phone), then enter the 6-digit code it shows.</p>
        {{#error}}<p class="error" id="mfa-error">{{error}}</p>{{/error}}
        <p>Key: <code id="totp-secret">{{secret}}</code></p>
        <p>Link: <code id="totp-uri">{{uri}}</code></p>
        <form method="post" action="/account/mfa/confirm"><input type="hidden" name="csrf_token" value="{{csrf}}">
        <label for="otp">Code from the app</label><input type="text" id="otp" name="otp" autocomplete="one-time-code" inputmode="numeric" required autofocus>
        <button type="submit" id="confirm-totp">Turn on two-factor authentication</button></form>
        <p><a href="/account" id="account-link">Cancel</a></p></main>
        """,
        // Step-up before a factor change (StepUpPolicy): the password again, and a code when MFA is on.
        "reauthenticate": """
        <main><h1>Confirm it is you</h1>
        <p id="reauth-purpose">{{purpose}}</p>
        {{#error}}<p class="error" id="reauth-error">{{error}}</p>{{/error}}
        <form method="post" action="/account/reauthenticate" id="reauth-form"><input type="hidden" name="csrf_token" value="{{csrf}}">
        <input type="hidden" name="intent" value="{{intent}}">
        {{#password}}<input type="text" name="username" value="{{username}}" autocomplete="username" hidden readonly>
        <label for="reauth-password">Password</label><input type="password" id="reauth-password" name="password" autocomplete="current-password" required autofocus>
        {{#otpLabel}}<label for="reauth-otp">{{otpLabel}}</label><input type="text" id="reauth-otp" name="otp" autocomplete="one-time-code" required>{{/otpLabel}}
        <button type="submit" id="reauth-submit">Continue</button>{{/password}}
        {{#signInAgain}}<p id="reauth-sign-in-again">Your account signs in through another provider: sign in again (within five minutes of the change).</p>
        <button type="submit" id="reauth-submit">Sign in again</button>{{/signInAgain}}
        </form>
        <p><a href="/account" id="account-link">Cancel</a></p></main>
        """,
        "mfa-recovery": """
        <main><h1>Two-factor authentication is on</h1>
        <p>Save these recovery codes somewhere safe: each one works once, if you lose your device. They are shown only now.</p>
        <ul id="recovery-codes">{{#codes}}<li><code class="recovery-code">{{.}}</code></li>{{/codes}}</ul>
        <p><a href="/account" id="account-link">Back to your account</a></p></main>
        """,
        "mfa": """
        <main><h1>Two-factor authentication</h1>
        <p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
        {{#error}}<p class="error" id="mfa-error">{{error}}</p>{{/error}}
        <form method="post" action="/login/mfa">
        <input type="hidden" name="csrf_token" value="{{csrf}}">
        <input type="hidden" name="return_to" value="{{returnTo}}">
        <label for="otp">Code</label><input type="text" id="otp" name="otp" autocomplete="one-time-code" required autofocus>
        <button type="submit" id="verify-otp">Verify</button>
        </form></main>
        """,
    ]
}
