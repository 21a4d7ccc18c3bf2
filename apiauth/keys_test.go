package apiauth_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/logtotest"
)

// TestRemovedKeyRefused (issue 9 item 5): after Logto drops a signing key,
// tokens it signed are refused once the held key set passes its maximum
// age, and are accepted until then without a key request.
func TestRemovedKeyRefused(t *testing.T) {
	for _, tt := range []struct {
		name   string
		maxAge time.Duration // configured, 0 for the default
		held   time.Duration
		cache  int
	}{
		{"default maximum age", 0, logto.DefaultJWKSMaxAge, -1},
		{"configured maximum age", 2 * time.Minute, 2 * time.Minute, -1},
		// The verified-token cache does not outlive the keys that
		// verified a token.
		{"token in the verified-token cache", 0, logto.DefaultJWKSMaxAge, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			srv := logtotest.NewServer(t)
			v := newVerifier(t, srv, func(c *apiauth.Config) { c.CacheSize = tt.cache; c.JWKSMaxAge = tt.maxAge })
			old := accessToken(srv, nil)
			_, err := v.Verify(ctx, old)
			require.NoError(t, err)

			srv.RotateKey()
			srv.RemoveOldKeys()
			srv.Advance(tt.held - time.Second)
			_, err = v.Verify(ctx, old)
			require.NoError(t, err, "held keys verify until the maximum age")
			assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointJWKS))

			srv.Advance(time.Second)
			_, err = v.Verify(ctx, old)
			require.ErrorIs(t, err, apiauth.ErrInvalidToken, "the removed key is refused")
			_, err = v.Verify(ctx, accessToken(srv, nil))
			require.NoError(t, err, "the current key verifies")
			assert.LessOrEqual(t, srv.RequestCount(logtotest.EndpointJWKS), 3)
		})
	}
}

func TestJWKSMaxAgeValidated(t *testing.T) {
	srv := logtotest.NewServer(t)
	for _, d := range []time.Duration{-time.Second, 25 * time.Hour} {
		_, err := apiauth.NewVerifier(apiauth.Config{Endpoint: srv.URL(), Audience: api, JWKSMaxAge: d})
		assert.Error(t, err, "%s", d)
	}
}
