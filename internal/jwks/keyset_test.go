package jwks

import "time"

// newKeySet is the one place the tests build a KeySet; maxAge 0 means the
// default.
func newKeySet(srv *jwksServer, cooldown, maxAge time.Duration, now func() time.Time) *KeySet {
	return New(Config{URL: srv.URL, Client: srv.Client(), MaxBody: 1 << 20, Cooldown: cooldown, MaxAge: maxAge, Now: now})
}
