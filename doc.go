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
// Tools without a browser of their own (command-line tools, TVs, devices)
// sign in with the device authorization grant instead of SignIn and
// HandleCallback: StartDeviceSignIn returns the code to show the user, and
// WaitDeviceSignIn polls until the user approved it elsewhere, then stores
// the tokens like HandleCallback.
//
// Every method that may do I/O takes a context. Errors wrap the sentinels
// of errors.go and the typed *OAuthError, for errors.Is and errors.As.
// Package logtohttp plugs all this into net/http; package logtotest is a
// fake Logto for your tests.
package logto
