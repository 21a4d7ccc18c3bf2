package reallogto

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// TestNativeApp signs in with a public client (PKCE, no secret), whose
// refresh token Logto rotates on every refresh, and hammers one expired
// token from 20 goroutines: one refresh, and the grant survives.
func TestNativeApp(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		u := tg.newUser(t, userSpec{Email: true, APIScopes: []string{readData, writeData}, Organizations: []string{tg.org()}})
		short := tg.newResource(t, resourceSpec{TTL: time.Second, Scopes: []string{"short:read"}, GrantTo: []user{u}})
		nat := tg.nativeApp()
		rec := newRecorder()
		c := clientFor(t, tg, nat, []string{logto.ScopeEmail, logto.ScopeOrganizations, readData, writeData, orgScope, "short:read"},
			[]string{tg.api(), short}, rec)

		signInClient(t, tg, c, nil, u, logto.SignInOptions{})
		code := rec.tokenRequests()
		require.Len(t, code, 1)
		assert.Equal(t, "authorization_code", code[0].grantType)
		assert.Equal(t, 200, code[0].status, "code exchange without a secret, with PKCE")
		claims, err := c.GetIdTokenClaims(ctx)
		require.NoError(t, err)
		assert.Equal(t, u.ID, claims.Subject)
		assert.Equal(t, u.Email, claims.Email.Get())

		// Every refresh rotates the refresh token, whatever it asks for.
		rt0, err := c.GetRefreshToken(ctx)
		require.NoError(t, err)
		_, err = c.GetAccessToken(ctx, tg.api())
		require.NoError(t, err)
		rt1, _ := c.GetRefreshToken(ctx)
		_, err = c.GetOrganizationToken(ctx, tg.org())
		require.NoError(t, err)
		rt2, _ := c.GetRefreshToken(ctx)
		first, err := c.GetAccessToken(ctx, short)
		require.NoError(t, err)
		rt3, _ := c.GetRefreshToken(ctx)
		assert.Len(t, map[string]bool{rt0: true, rt1: true, rt2: true, rt3: true}, 4, "four distinct refresh tokens")
		assert.Equal(t, 3, rec.refreshes())
		assert.Equal(t, 3, rec.rotations(), "each refresh rotated")

		// 20 goroutines ask at once for the expired 1-second token.
		sleepUntil(time.Unix(numeric(t, jwtClaims(t, first), "exp"), 0).Add(100 * time.Millisecond))
		before := rec.refreshes()
		start := make(chan struct{})
		var wg sync.WaitGroup
		tokens := make([]string, 20)
		errs := make([]error, 20)
		for i := range tokens {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tokens[i], errs[i] = c.GetAccessToken(ctx, short)
			}()
		}
		called := time.Now()
		close(start)
		wg.Wait()
		for i := range tokens {
			require.NoError(t, errs[i], "caller %d", i)
			assert.Equal(t, tokens[0], tokens[i], "caller %d got another token", i)
		}
		assert.NotEqual(t, first, tokens[0])
		assert.Greater(t, numeric(t, jwtClaims(t, tokens[0]), "exp"), called.Unix(), "never an expired token")
		assert.Equal(t, 1, rec.refreshes()-before, "one refresh request for 20 callers")
		rec.requireNoRefreshTokenReuse(t)

		// Past Logto's 3-second reuse leeway the grant is still alive: the
		// refresh token was never spent twice.
		time.Sleep(3500 * time.Millisecond)
		orgAPI, err := c.GetOrganizationAccessToken(ctx, tg.org(), tg.api())
		require.NoError(t, err, "the grant survived")
		assert.Equal(t, tg.org(), jwtClaims(t, orgAPI)["organization_id"])
		rec.requireNoRefreshTokenReuse(t)
		assert.Equal(t, rec.refreshes(), rec.rotations())

		// The first refresh token is spent: using it again is theft, and
		// Logto revokes the whole grant (the SDK's current token dies too).
		status, body := rawRefresh(t, tg, nat, rt0)
		assert.Equal(t, 400, status)
		assert.Equal(t, "invalid_grant", body["error"])
		_, err = c.GetOrganizationToken(ctx, tg.newOrganization(t, u))
		assert.ErrorIs(t, err, logto.ErrSessionExpired, "the grant was revoked")
		assert.False(t, c.IsAuthenticated(ctx))
	})
}
