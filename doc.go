// Package logto signs users of Go web applications in with Logto, the
// open-source identity provider built on OpenID Connect.
//
// A [LogtoClient] wraps a [LogtoConfig] (your Logto endpoint and
// application) and a [Storage] (one user's session); [NewLogtoClient]
// makes one. Every method that may do I/O takes a context. The sections
// below are a map of the package.
//
// # Sign-in
//
// The flow is the one every Logto SDK follows:
//
//   - [LogtoClient.SignIn] stores a pending sign-in and returns the URL to
//     send the browser to; [SignInOptions] choose the redirect URI, the
//     [FirstScreen], [Identifier] types, a [DirectSignIn] connector, a
//     [Prompt] and extra parameters;
//   - [LogtoClient.HandleCallback] completes the sign-in from the URL
//     Logto redirects back to, verifying the state, the issuer, PKCE and
//     the ID token;
//   - [LogtoClient.IsAuthenticated], [LogtoClient.GetIdTokenClaims] and
//     [LogtoClient.FetchUserInfo] tell who the user is ([IdTokenClaims],
//     [UserInfo], their [UserClaims] and each optional [Claim]);
//   - [LogtoClient.SignOut] revokes and clears the session and returns
//     Logto's end-session URL.
//
// The claims a sign-in asks for follow the scopes of [LogtoConfig.Scopes]:
// [ScopeEmail], [ScopePhone], [ScopeCustomData], [ScopeIdentities],
// [ScopeRoles], [ScopeOrganizations] and the others of scopes.go;
// [ScopeOpenID], [ScopeProfile] and [ScopeOfflineAccess] are always
// requested.
//
// Tools without a browser of their own (command-line tools, TVs, devices)
// sign in with the device authorization grant instead:
// [LogtoClient.StartDeviceSignIn] returns the [DeviceAuthorization] to show
// the user, and [LogtoClient.WaitDeviceSignIn] polls until the user
// approved it elsewhere, then stores the tokens like HandleCallback.
//
// # Tokens
//
// [LogtoClient.GetAccessToken] returns an access token for an API resource
// listed in [LogtoConfig.Resources], cached in the session and refreshed
// shortly before it expires; [LogtoClient.GetAccessTokenClaims] decodes it
// ([AccessTokenClaims]). [LogtoClient.TokenSource] adapts it to
// golang.org/x/oauth2. [LogtoClient.GetIdToken] and
// [LogtoClient.GetRefreshToken] return the raw tokens.
//
// # Organizations
//
// With [ScopeOrganizations], [LogtoClient.GetOrganizationToken] returns a
// token for one organization (audience [OrganizationURNPrefix] + its id)
// and [LogtoClient.GetOrganizationAccessToken] an organization-scoped
// token for an API; their Claims variants decode them, and
// [LogtoClient.OrganizationTokenSource] and
// [LogtoClient.OrganizationAccessTokenSource] adapt them to oauth2.
//
// # Machine-to-machine
//
// [NewM2MClient] makes an [M2MClient] from an [M2MConfig]: a Logto
// machine-to-machine application's tokens from the client credentials
// grant, cached and shared among concurrent callers
// ([M2MClient.AccessToken], [M2MClient.Token], [M2MClient.TokenSource],
// [M2MClient.HTTPClient]). [DefaultManagementAPIResource] and
// [ManagementAPIResource] name Logto's Management API.
//
// # Token exchange and impersonation
//
// [LogtoClient.ExchangeToken] and [M2MClient.ExchangeToken] exchange a
// subject token of a [TokenType] for a user's access token (RFC 8693), as
// a [TokenExchangeRequest] says, and return an [ExchangedToken]; with an
// actor token its claims name the [Actor] ([AccessTokenClaims.Act]). An
// M2MClient of the Management API creates what they exchange:
// [M2MClient.CreateSubjectToken] for impersonation,
// [M2MClient.CreatePersonalAccessToken] (with
// [M2MClient.ListPersonalAccessTokens] and
// [M2MClient.DeletePersonalAccessToken]) for scripts, and
// [M2MClient.CreateOneTimeToken] for magic links. Their refusals are a
// [*ManagementError].
//
// # Options
//
// Tuning is by [Option]: [WithHTTPClient], [WithClock], [WithLeeway],
// [WithEarlyExpiry], [WithTransactionTTL], [WithJWKSRefreshCooldown],
// [WithJWKSMaxAge], [WithMaxResponseBytes], [WithLogger] and
// [InsecureAllowHTTP]. An option given a value it cannot take makes the
// constructor fail with an error naming it. The defaults are
// [DefaultLeeway], [DefaultJWKSMaxAge] and the other Default constants;
// packages apiauth and backchannel use the same ones.
//
// # Storage
//
// A [Storage] keeps one user's session under the keys [StorageKeyIDToken],
// [StorageKeyRefreshToken], [StorageKeyAccessTokens] and
// [StorageKeySignInSession]. [MemoryStorage] ([NewMemoryStorage]) suits
// tests and one-user programs; a web application gives each browser
// session its own, as package logtohttp does, and
// [LogtoClient.WithStorage] binds the shared client to it.
//
// # Errors
//
// Errors wrap the sentinels of errors.go, for errors.Is:
// [ErrInvalidConfig], [ErrNotAuthenticated], [ErrSessionExpired],
// [ErrSignInSessionNotFound], [ErrInvalidIDToken], [ErrDiscovery],
// [ErrInvalidResponse], [ErrStorage] and the others. What Logto itself
// refused is an [*OAuthError], for errors.As, with Logto's error code.
//
// # Testing
//
// Package [github.com/gologto/logto/logtotest] is a fake Logto in the
// test's process: point
// [LogtoConfig.Endpoint] at it, sign users in without a browser and
// inject faults. [WithClock] lets a test control token times.
//
// # Sub-packages
//
//   - [github.com/gologto/logto/logtohttp] plugs the client into
//     net/http: sign-in, callback and sign-out handlers, cookie or
//     server-side sessions, and a RequireAuth middleware.
//   - [github.com/gologto/logto/apiauth] verifies Logto access tokens in
//     an API: a bearer-token middleware with scope and organization
//     checks.
//   - [github.com/gologto/logto/backchannel] receives Logto's back-channel
//     logout requests.
//   - [github.com/gologto/logto/logtotest] is the fake Logto for tests and
//     demos.
package logto
