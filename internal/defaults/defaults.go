// Package defaults holds the default of every setting that more than one
// package of the SDK has, each written once, and the checks those settings
// share. The root package's Default* constants, apiauth.Config,
// backchannel.Config, logtohttp and the internal packages refer to it, so
// that a default changed here changes everywhere.
package defaults

import "time"

// Defaults of the shared settings.
const (
	// HTTPTimeout bounds every request made with the SDK's own HTTP
	// client (never http.DefaultClient).
	HTTPTimeout = 30 * time.Second
	// MaxResponseBytes caps every response body read from Logto (1 MiB).
	MaxResponseBytes = 1 << 20
	// Leeway is the clock skew allowed when checking token times (exp,
	// iat, nbf).
	Leeway = time.Minute
	// EarlyExpiry is how long before its expiry a cached access token is
	// renewed.
	EarlyExpiry = time.Minute
	// TransactionTTL is how long a started sign-in may wait for its
	// callback.
	TransactionTTL = 10 * time.Minute
	// MaxPendingSignIns bounds the sign-ins pending in one session
	// (browser tabs); the oldest is dropped beyond it.
	MaxPendingSignIns = 5
	// JWKSRefreshCooldown is the least time between two key set refetches
	// caused by unknown key ids, and between retries after a failure.
	JWKSRefreshCooldown = time.Minute
	// JWKSMaxAge is how long a key set is held when the JWKS response
	// names no shorter Cache-Control max-age. Ten minutes bounds how long
	// a removed key is still trusted at the cost of one small request per
	// ten minutes, the lifetime common JWKS caches use.
	JWKSMaxAge = 10 * time.Minute
	// JWKSMaxAgeCeiling is the longest key set maximum age that may be
	// configured: a key removed from Logto's set is refused within a day
	// at worst.
	JWKSMaxAgeCeiling = 24 * time.Hour
)

// Or returns v, or def when v is the zero value: the "zero means the
// default" rule of the sub-packages' Config structs.
func Or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
