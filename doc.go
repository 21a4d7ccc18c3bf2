// Package logto signs users of Go web applications in with Logto, the
// open-source identity provider built on OpenID Connect.
//
// A LogtoClient wraps a LogtoConfig (your Logto endpoint and application)
// and a Storage (one user's session). Its flow is the one every Logto SDK
// follows:
//
//   - SignIn returns the URL to send the browser to;
//   - HandleCallback completes the sign-in from the URL Logto redirects
//     back to, verifying everything (state, issuer, PKCE, ID token);
//   - IsAuthenticated, GetIdTokenClaims and FetchUserInfo tell who the
//     user is;
//   - GetAccessToken and GetOrganizationToken return tokens for your APIs
//     and organizations, cached and refreshed as needed;
//   - SignOut revokes and clears the session and returns Logto's
//     end-session URL.
//
// Every method that may do I/O takes a context. Errors wrap the sentinels
// of errors.go and the typed *OAuthError, for errors.Is and errors.As.
// Package logtohttp plugs all this into net/http; package logtotest is a
// fake Logto for your tests.
package logto
