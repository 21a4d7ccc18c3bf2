// Package logtotest provides an in-process fake Logto (an OpenID Connect
// provider) for tests and demos, in the spirit of net/http/httptest and
// miniredis.
//
// [NewServer] starts the fake on a loopback port and registers its shutdown
// with the test. It takes a [TB], the three methods of testing.TB it needs
// (Helper, Fatalf, Cleanup), so that this package does not import package
// testing. Programs that are not tests (a demo app, the quickstart) call
// [Start], which returns an error instead of failing a test, and [Server.Close].
//
// The server speaks the real HTTP protocol (discovery, JWKS, authorization,
// token, userinfo, revocation, introspection and end-session endpoints,
// mounted under /oidc like Logto) and mimics Logto 1.42's wire behaviour:
// its claims, its organization tokens, refresh token rotation with reuse
// detection, its error bodies and messages, its 303 redirects, its
// sign-in experience locations and its sign-out page.
//
// Tests configure it directly ([Server.AddApp], [Server.AddUser],
// [Server.AddResource], ...), sign users in without a browser
// ([Server.SetAutoLogin], [Server.Authorize]) and out ([Server.EndSession]),
// control its clock ([Server.Advance]) and signing keys
// ([Server.RotateKey]), observe requests ([Server.Requests]) and inject
// faults ([Server.FailNext], [Server.Intercept], [Server.MutateIDTokens],
// [Server.MutateTokenResponses], [Server.MutateUserInfo],
// [Server.MutateDiscovery], [Server.MutateJWKS], [Server.Stall],
// [CorruptSignature]): together they play the misbehaving providers of the
// OpenID relying-party certification and of a fault matrix.
//
// The fake keeps everything in memory, has no real authentication and its
// keys are generated at start: it is for tests and demos only, never for
// production use. The real-Logto suite (reallogto/ in this repository) runs
// the same scenarios against the fake and the real server.
//
// # Sign-in page
//
// With [WithLoginPage], /oidc/auth sends a browser that must sign in where
// Logto sends it, with the same location (testdata/experience-redirects.golden
// holds the cases recorded on the real server): /sign-in?app_id=<client> by
// default, /register for first_screen=register or the deprecated
// interaction_mode=signUp, /identifier-sign-in, /identifier-register,
// /single-sign-on and /reset-password for the other first_screen values,
// and /direct/<method>/<target>?...&fallback=<first screen> for
// direct_sign_in (social:<target>, sso:<connector>); organization_id,
// ui_locales, one_time_token, login_hint and identifier are passed on in
// Logto's order. An invalid first_screen or interaction_mode discards all
// of them, as in Logto. The pending sign-in travels in an _interaction
// cookie (path /). Each screen is a small HTML form, titled for the screen
// ("Sign in", "Create account", ...), pre-filled with login_hint, showing
// the text of [WithSignInHint] if any; it posts a username or user ID to
// /sign-in. An empty field is answered "Enter a username.", an unknown name
// names it.
//
// # Magic links (one-time tokens)
//
// [Server.AddOneTimeToken] creates a one-time token for an email address,
// as Logto's Management API does (POST /api/one-time-tokens); an
// authorization request carrying it as one_time_token with the address as
// login_hint signs the user with that email in, and creates the user when
// there is none, as Logto's sign-in page does. With [WithLoginPage] the
// browser lands on /sign-in?app_id=...&one_time_token=...&login_hint=...,
// a page "Continue as <email>" that spends nothing when opened (a mail
// scanner's prefetch); posting it verifies and consumes the token. Without
// the page ([Server.Authorize], or a server without WithLoginPage) the
// token is used at once, whatever [Server.SetAutoLogin] says. A token that
// is unknown (404), for another email, expired, consumed or revoked (400)
// is refused with Logto's code (one_time_token.token_not_found, ...): on
// the page in its error paragraph (data-code), otherwise as a JSON body
// {"code","message"} instead of a redirect. [Server.OneTimeTokenStatus]
// and [Server.RevokeOneTimeToken] read and change a token's status.
//
// # Sessions and sign-out
//
// Like Logto, the fake keeps a sign-in session per browser, behind a
// session cookie (named _session, with path /oidc so that apps on the same
// host do not receive it). An authorization request that carries a live
// session cookie signs in through that session: the sign-in page is
// skipped unless prompt=login or max_age asks for a new authentication,
// and prompt=none succeeds. Without one (a fresh browser), signing in
// starts a new session and prompt=none is redirected to the app with
// login_required, "End-User authentication is required", as by Logto.
// Each app that signed in through a session has its own sid in it; as in
// Logto, it is put in the app's ID tokens, introspection answers and logout
// tokens only when the app requires the logout session
// ([App.BackchannelLogoutSessionRequired] with a BackchannelLogoutURI).
//
// The end-session endpoint (GET or POST /oidc/session/end) answers with
// Logto's logout page: a form with id "op.logoutForm" (a hidden xsrf value
// and logout=yes), submitted on load by an inline script to
// /oidc/session/end/confirm. That step ends the session (every app in it,
// or only the requesting app without logout=yes), revokes its grants
// without offline_access, sends the back-channel logout tokens and answers
// 303 to the post_logout_redirect_uri (with state) or to
// /oidc/session/end/success. A browser does this by itself; a plain HTTP
// client must post the form, or call [Server.EndSession].
//
// # Device flow
//
// A Native app with [App.DeviceFlow] (Logto's customClientMetadata.isDeviceFlow)
// signs users in with the device authorization grant (RFC 8628), as in
// Logto: POST /oidc/device/auth (announced as device_authorization_endpoint)
// answers a device code, a user code in oidc-provider's format (XXXX-XXXX,
// consonants only), verification_uri <URL()>/device (Logto's shorthand of
// /oidc/device), verification_uri_complete with the code, expires_in 600
// ([WithDeviceCodeTTL]) and no interval, so clients poll every five seconds
// ([WithDevicePollInterval] announces one). Such an app may use only the
// device_code and refresh_token grants; another app asking for a device code
// is answered invalid_request, as by oidc-provider. The token endpoint
// answers the device code authorization_pending until the user-code step
// is decided, then the tokens once (a second use is invalid_grant and
// revokes them, as in oidc-provider), access_denied (400) after a denial
// and expired_token once the code has expired.
//
// The user-code step, which a person completes in a browser on Logto, is
// programmable: [Server.ApproveDevice] (as a user), [Server.DenyDevice],
// [Server.SlowDownDevice] (the next polls are answered slow_down, which
// Logto never sends, to test clients for other servers' rate limits),
// [Server.ExpireDevice], [Server.PendingDeviceCodes] (the codes awaiting a
// decision, for a tool under test that shows its code elsewhere) and
// [Server.SetDeviceAutoApprove] (every new code approved at once). A person
// uses the page at /device instead: a form that takes the code and the
// username to continue as, with Approve and Deny buttons; it asks for no
// password and shows no consent step.
//
// # Claims and scopes
//
// Claims follow Logto's rules for a user without a value: name, picture,
// username, email and phone_number are JSON null; address and the profile
// fields (given_name, ..., preferred_username when there is no username)
// are left out, even when their scope was granted. An API token carries
// the requested scopes the user holds through global roles ([Server.AddRole])
// plus those of organization roles ([Server.AddOrganizationRoleResourceScopes]):
// of every organization of the user for a plain token, of the named
// organization only for an organization-scoped API token (resource and
// organization_id), which is therefore not narrowed to the organization's
// role. Client credentials tokens carry only the requested scopes the
// app's roles allow (none when no scope is requested).
//
// # Token exchange and the Management API
//
// Apps with [App.AllowTokenExchange] may use the token exchange grant
// ([GrantTypeTokenExchange], RFC 8693) as in Logto: the subject token is an
// impersonation token ([TokenTypeImpersonationToken], accepted once within
// ten minutes, not spent by a refused exchange), a personal access token
// ([TokenTypePersonalAccessToken], until it expires or is deleted) or an
// access token the fake issued to one of its apps
// ([TokenTypeAccessToken]: an opaque token, or a JWT with typ at+jwt and a
// client_id, never an ID token). An actor token (an opaque access token
// with openid) puts act: {sub: actor} in the issued JWT. The issued token
// is an API token (resource), an organization token (organization_id) or
// an opaque token with the requested OIDC scopes, with the scopes the
// user's roles grant, and no refresh or ID token. Every refused subject or
// actor token is invalid_grant "grant request is invalid"; an app
// without token exchange gets invalid_request "requested grant type is
// not allowed for this client", as from Logto.
//
// The fake serves the Management API routes these need, under /api
// ([EndpointManagement]): POST /api/subject-tokens, GET and POST
// /api/users/{id}/personal-access-tokens, POST
// .../personal-access-tokens/delete and DELETE
// .../personal-access-tokens/{name}, and POST /api/one-time-tokens, with
// Logto's bodies, statuses and error codes. They take a client-credentials
// JWT for [ManagementAPIResource] with the scope all, which an M2M app
// gets with ResourceScopes {ManagementAPIResource: {"all"}}; the resource
// exists from the start, as in Logto.
// As in Logto, the grant made at sign-in holds the requested OIDC scopes,
// the requested API scopes the user has then, and every requested
// organization scope; refresh tokens carry these. A refresh may narrow the
// scope (the scope parameter) to some of them; any other is refused with
// invalid_scope before the refresh token is spent. API tokens never carry
// a scope their grant lacks, so a role given after sign-in adds API scopes
// only after a new sign-in, while a removed role, and organization roles,
// show at the next refresh.
//
// Introspection follows oidc-provider's default policy, which Logto keeps:
// an app with a secret (an API server's machine-to-machine app, say) may
// introspect the tokens of every app, a public app only its own.
//
// # Panics
//
// A few methods panic on programmer errors instead of returning an error:
// [Server.AddApp] and [Server.AddUser] with an empty ID, [Server.UpdateUser]
// for an unknown user, [Server.Sign] with claims that cannot be encoded as
// JSON, and [Server.RotateKey] if no key can be generated. A panic in a
// hook ([Server.Intercept], [Server.MutateIDTokens], ...) aborts the request
// it runs in, as any handler panic does in net/http. A request whose
// claims cannot be encoded as JSON (a [User] Profile, Address or
// CustomData holding a func or a channel) panics too when a Mutate hook
// is set, and gets an error or a truncated body without one. Everything else
// reports failures: [Start] returns an error, [NewServer] calls Fatalf, and
// [Server.Authorize], [Server.EndSession] and [Server.SendBackchannelLogout]
// return errors.
//
// # Differences from Logto
//
// The fake follows Logto (and oidc-provider, on which Logto is built) where
// a test can see the difference, with these deliberate simplifications:
//
//   - Clients without cookies. [Server.Authorize] has no browser: it signs
//     in through the user's most recent session (whichever browser or
//     Authorize call started it), and its prompt=none succeeds once the user
//     has a session anywhere. A sign-out whose requests carry no session
//     cookie ([Server.EndSession], or a client without a cookie jar) ends the
//     sessions of the id_token_hint's subject, else those the client_id
//     signed in through, else every session; Logto would end none. Both keep
//     tests that use no browser meaningful.
//   - User selection. Without [WithLoginPage], /oidc/auth signs the user in
//     at once ([Server.SetAutoLogin], or a login_hint naming a user), where
//     Logto always shows its sign-in experience; tests need no page. The
//     page's screens sign in an existing user by username or ID alone: there
//     are no passwords, no accounts are created on the register screens, and
//     there are no social, single sign-on or MFA connectors, so direct
//     sign-in lands on its fallback screen. After the page, the fake
//     redirects to the app at once, without Logto's consent step and resume
//     URL.
//   - Consent. The scopes are granted at once (Logto's first-party apps
//     auto-consent too); there is no consent_required error, even after a
//     sign-out without logout=yes that only removed the app from the
//     session. Device flow grants keep every requested scope, whatever the
//     user's roles.
//   - Magic links. The fake has no switch-account page: a one-time token
//     for another user than the browser's session signs that user in.
//   - Logout page without a session. oidc-provider answers a browser that
//     has no session with a different auto-submitted form (without the
//     op.logoutForm id); the fake always renders op.logoutForm.
//   - Lifetimes. Sessions, grants and interactions do not expire by
//     themselves (Logto: 14 days, 180 days, 1 hour); refresh tokens,
//     access tokens, ID tokens and authorization codes (60 s) do.
//   - Refresh token reuse. Logto accepts a rotated-away refresh token for
//     3 seconds; the fake accepts it for [WithRefreshTokenReuseInterval]
//     (0 by default, as in oidc-provider), so that a test on the frozen
//     clock sees reuse detection at once. As in Logto, a refresh refused
//     for its resource (invalid_target) has already consumed a rotating
//     refresh token without returning its successor.
//   - Back-channel logout. Logout tokens are sent one after the other
//     (Logto sends them concurrently), and a failed delivery is ignored, as
//     in Logto. A self-hosted Logto drops deliveries to loopback and
//     private addresses unless it runs with
//     OIDC_PROVIDER_SSRF_PROTECTION_DISABLED=1; the fake delivers to any
//     address, since test receivers listen on loopback.
//   - Discovery. The document announces only what the fake implements: no
//     pushed authorization request endpoint, only the authorization_code,
//     refresh_token, client_credentials, device_code and token exchange
//     grants,
//     the code response type, the query response mode and the
//     client_secret_basic, client_secret_post and none authentication
//     methods. It has no field that Logto's lacks.
//   - Tokens. Opaque tokens, codes, jti and sid values have the length of
//     Logto's (43 characters) but not its alphabet; JWT access tokens carry no
//     custom claims (Logto's JWT customizer); only S256 PKCE and the
//     ES384, ES256 and RS256 keys of [WithSigningAlg] are supported.
//   - Errors. Error bodies have Logto's shape and English texts (code,
//     message from Logto's phrases, error, error_description, plus error_uri,
//     scope, state and iss where Logto has them; testdata/auth-errors.golden
//     holds authorization errors recorded on the real server). A few checks
//     happen in a different order than in oidc-provider, which matters only
//     for requests with several errors.
package logtotest
