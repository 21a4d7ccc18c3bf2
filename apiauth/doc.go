// Package apiauth protects an API (a resource server) with access tokens
// issued by Logto.
//
// A Verifier checks a Logto JWT access token completely: signature against
// the tenant's JWKS (refetched when past its maximum age, so that a key
// Logto removed is refused, and on an unknown key id at most once per
// cooldown), header typ "at+jwt", issuer, audience (the API's resource
// indicator, or an organization), expiry and not-before with leeway, and
// the scopes and organization the route needs. Verified tokens are cached
// (bounded, keyed by a SHA-256 of the token, dropped at the token's expiry
// or the keys' maximum age, whichever comes first, evicted in constant
// time), so a client repeating its token costs microseconds instead of one
// ES384 verification.
//
// With Config.Introspection, opaque access tokens (the ones Logto issues
// when a client asks for no API resource) are accepted too, checked at
// Logto's introspection endpoint (RFC 7662) with the API's own app
// credentials: one request for concurrent callers with the same token, the
// answer reused for at most a minute and never past the token's expiry,
// only for the apps the API lists. JWTs are still verified locally.
//
// Middleware wraps an http.Handler: it reads "Authorization: Bearer",
// answers RFC 6750 errors (401 invalid_token, 403 insufficient_scope with
// WWW-Authenticate) and puts the verified Claims in the request context.
package apiauth
