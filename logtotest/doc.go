// Package logtotest provides an in-process fake Logto (an OpenID Connect
// provider) for tests and demos, in the spirit of net/http/httptest and
// miniredis.
//
// [NewServer] starts the fake on a loopback port and registers its shutdown
// with the test; [Start] does the same for demo programs. The server speaks
// the real HTTP protocol (discovery, JWKS, authorization, token, userinfo,
// revocation, introspection and end-session endpoints, mounted under /oidc
// like Logto) and mimics Logto's wire behaviour: its claims, its organization
// tokens, refresh token rotation with reuse detection, and its error bodies.
//
// Tests configure it directly ([Server.AddApp], [Server.AddUser],
// [Server.AddResource], ...), sign users in without a browser
// ([Server.SetAutoLogin], [Server.Authorize]), control its clock
// ([Server.Advance]) and signing keys ([Server.RotateKey]), observe requests
// ([Server.Requests]) and inject faults ([Server.FailNext],
// [Server.Intercept], [Server.MutateIDTokens], [Server.MutateTokenResponses],
// [Server.MutateUserInfo], [Server.MutateDiscovery], [Server.MutateJWKS],
// [Server.Stall], [CorruptSignature]): together they play the misbehaving
// providers of the OpenID relying-party certification and of a fault
// matrix.
//
// The fake keeps everything in memory, has no real authentication and its
// keys are generated at start: it is for tests and demos only, never for
// production use.
package logtotest
