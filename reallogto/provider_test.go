package reallogto

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// TestRefreshTokenReuseLeeway checks the provider behaviour the SDK's
// refresh coordination is built around: a rotated-away refresh token is
// still accepted for 3 seconds (Logto's refreshTokenReuseInterval,
// core/src/queries/oidc-model-instance.ts); used after that, it revokes
// the whole grant.
func TestRefreshTokenReuseLeeway(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		u := tg.newUser(t, userSpec{APIScopes: []string{readData}, Organizations: []string{tg.org()}})
		nat := tg.nativeApp()
		c := clientFor(t, tg, nat, []string{logto.ScopeOrganizations, readData}, []string{tg.api()}, nil)
		signInClient(t, tg, c, nil, u, logto.SignInOptions{})
		rt0, err := c.GetRefreshToken(ctx)
		require.NoError(t, err)
		_, err = c.GetAccessToken(ctx, tg.api())
		require.NoError(t, err)
		rt1, _ := c.GetRefreshToken(ctx)
		require.NotEqual(t, rt0, rt1, "rotated")

		status, body := rawRefresh(t, tg, nat, rt0)
		assert.Equal(t, http.StatusOK, status, "within the leeway the spent token still works: %v", body)
		if status == http.StatusOK {
			assert.NotEmpty(t, body["refresh_token"])
		}
		time.Sleep(3500 * time.Millisecond)
		status, body = rawRefresh(t, tg, nat, rt0)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", body["error"])
		_, err = c.GetOrganizationToken(ctx, tg.org())
		assert.ErrorIs(t, err, logto.ErrSessionExpired, "reuse after the leeway revoked the grant")
	})
}

// TestJWKSCacheControl records how the key set is served: Logto forbids
// caching it (koa-jwks-cache-control.ts), so clients must bound its
// lifetime themselves (WithJWKSMaxAge).
func TestJWKSCacheControl(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(tg.issuer() + "/jwks")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "no-cache, max-age=0, must-revalidate", resp.Header.Get("Cache-Control"))
		assert.Equal(t, "application/jwk-set+json; charset=utf-8", resp.Header.Get("Content-Type"))
	})
}
