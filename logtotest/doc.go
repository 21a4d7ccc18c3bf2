// Package logtotest provides an in-process fake Logto (an OpenID Connect
// provider) for tests and demos, in the spirit of net/http/httptest and
// miniredis.
//
// [NewServer] starts the fake on a loopback port and registers its shutdown
// with the test; [Start] does the same for demo programs. The server speaks
// the real HTTP protocol (discovery, JWKS, authorization, token, userinfo,
// revocation, introspection and end-session endpoints, mounted under /oidc
// like Logto) and mimics Logto's wire behaviour: its claims, its organization
// tokens, refresh token rotation with reuse detection, its error bodies, its
// 303 redirects and its sign-out page.
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
// production use.
//
// # Sessions and sign-out
//
// Like Logto, the fake keeps a sign-in session per browser, behind a
// session cookie (named _session, with path /oidc so that apps on the same
// host do not receive it). An authorization request that carries a live
// session cookie signs in through that session: the sign-in page (see
// [WithLoginPage]) is skipped unless prompt=login or max_age asks for a new
// authentication, and prompt=none succeeds. Without one (a fresh browser),
// signing in starts a new session and prompt=none answers login_required.
// Each app that signed in through a session has its
// own sid in it; it is put in ID tokens (and introspection answers) of apps
// with a back-channel logout URI.
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
//   - Consent. Every requested scope is granted at once (Logto's
//     first-party apps auto-consent too); there is no consent_required
//     error, even after a sign-out without logout=yes that only removed the
//     app from the session.
//   - User selection. The user is named by [Server.SetAutoLogin],
//     [Server.Authorize], login_hint or the minimal sign-in page; there are
//     no passwords, no sign-up, social or MFA flows, and the sign-in
//     experience parameters (first_screen, direct_sign_in, ...) are only
//     recorded.
//   - Logout page without a session. oidc-provider answers a browser that
//     has no session with a different auto-submitted form (without the
//     op.logoutForm id); the fake always renders op.logoutForm.
//   - Lifetimes. Sessions, grants and interactions do not expire by
//     themselves (Logto: 14 days, 180 days, 1 hour); refresh tokens,
//     access tokens, ID tokens and authorization codes (60 s) do.
//   - Refresh token reuse. Logto accepts a rotated-away refresh token for
//     3 seconds; the fake accepts it for [WithRefreshTokenReuseInterval]
//     (0 by default, as in oidc-provider). A refresh request refused for
//     its resource does not consume a rotating refresh token (in Logto it
//     does, so that its next use counts as a reuse).
//   - Back-channel logout. An app with a BackchannelLogoutURI is treated as
//     requiring the logout session (Logto's "session required" option), so
//     its ID tokens always carry sid. Logout tokens are sent one after the
//     other, and a failed delivery is ignored, as in Logto.
//   - Discovery. The document announces only what the fake implements: no
//     device authorization or pushed authorization request endpoints, only
//     the authorization_code, refresh_token and client_credentials grants,
//     the code response type, the query response mode and the
//     client_secret_basic, client_secret_post and none authentication
//     methods. It has no field that Logto's lacks.
//   - Tokens. Opaque tokens, codes, jti and sid values have the length of
//     Logto's (43 characters) but not its alphabet; JWT access tokens carry no
//     custom claims (Logto's JWT customizer); only S256 PKCE and the
//     ES384, ES256 and RS256 keys of [WithSigningAlg] are supported.
//   - Errors. Error bodies have Logto's shape (code, message, error,
//     error_description, plus error_uri, scope, state and iss where Logto
//     has them); messages are the English descriptions, and a few checks
//     happen in a different order than in oidc-provider, which matters only
//     for requests with several errors.
package logtotest
