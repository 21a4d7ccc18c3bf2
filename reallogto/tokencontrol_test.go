package reallogto

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// scopeOf is the scope claim of a JWT access token.
func scopeOf(t *testing.T, tok string) string {
	t.Helper()
	s, _ := jwtClaims(t, tok)["scope"].(string)
	return s
}

// TestForcedRefreshAfterRoleChange: Logto reads the user's roles again at
// every refresh, within the scopes the grant holds since sign-in. A role
// taken away after sign-in is still in the cached token; GetAccessTokenWith
// with ForceRefresh sends one refresh and returns a token without it, and
// with it again once the role is given back. A scope the user never had at
// sign-in is not in the grant: no refresh adds it, a new sign-in does. For a
// confidential and a public (rotating) client.
func TestForcedRefreshAfterRoleChange(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		for _, a := range webAndNative(tg) {
			t.Run(a.name, func(t *testing.T) {
				ctx := context.Background()
				u := tg.newUser(t, userSpec{APIScopes: []string{readData}})
				revoke := tg.grantAPIScopes(t, u, writeData)
				rec := newRecorder()
				c := clientFor(t, tg, a.app, []string{readData, writeData}, []string{tg.api()}, rec)
				signInClient(t, tg, c, nil, u, logto.SignInOptions{})
				force := logto.AccessTokenRequest{Resource: tg.api(), ForceRefresh: true}
				first, err := c.GetAccessToken(ctx, tg.api())
				require.NoError(t, err)
				assert.Equal(t, readData+" "+writeData, scopeOf(t, first))

				revoke()
				refreshes := rec.refreshes()
				cached, err := c.GetAccessToken(ctx, tg.api())
				require.NoError(t, err)
				assert.Equal(t, first, cached, "the cached token, stale scopes and all")
				assert.Equal(t, refreshes, rec.refreshes())

				fresh, err := c.GetAccessTokenWith(ctx, force)
				require.NoError(t, err)
				assert.Equal(t, refreshes+1, rec.refreshes(), "one refresh")
				assert.Equal(t, readData, scopeOf(t, fresh), "the role taken away")
				again, err := c.GetAccessToken(ctx, tg.api())
				require.NoError(t, err)
				assert.Equal(t, fresh, again, "the forced token replaced the cached one")
				assert.Equal(t, refreshes+1, rec.refreshes())

				// The role given back (a new role with the same scope).
				tg.grantAPIScopes(t, u, writeData)
				fresh, err = c.GetAccessTokenWith(ctx, force)
				require.NoError(t, err)
				assert.Equal(t, readData+" "+writeData, scopeOf(t, fresh), "the role given after sign-in")
				assert.Equal(t, refreshes+2, rec.refreshes())
				rec.requireNoRefreshTokenReuse(t)

				// A user who had only read:data at sign-in: write:data given
				// later is outside the grant.
				v := tg.newUser(t, userSpec{APIScopes: []string{readData}})
				cv := clientFor(t, tg, a.app, []string{readData, writeData}, []string{tg.api()}, nil)
				signInClient(t, tg, cv, nil, v, logto.SignInOptions{})
				tg.grantAPIScopes(t, v, writeData)
				tok, err := cv.GetAccessTokenWith(ctx, force)
				require.NoError(t, err)
				assert.Equal(t, readData, scopeOf(t, tok), "a scope not consented at sign-in")
				signInClient(t, tg, cv, nil, v, logto.SignInOptions{})
				tok, err = cv.GetAccessToken(ctx, tg.api())
				require.NoError(t, err)
				assert.Equal(t, readData+" "+writeData, scopeOf(t, tok), "after a new sign-in")
			})
		}
	})
}

// TestNarrowedScope: a token narrowed to one scope carries exactly it and
// is cached apart from the full token; a scope the grant lacks is
// ErrScopeNotGranted and the session goes on.
func TestNarrowedScope(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		for _, a := range webAndNative(tg) {
			t.Run(a.name, func(t *testing.T) {
				ctx := context.Background()
				u := tg.newUser(t, userSpec{APIScopes: []string{readData, writeData}})
				rec := newRecorder()
				c := clientFor(t, tg, a.app, []string{readData, writeData, orgScope}, []string{tg.api()}, rec)
				signInClient(t, tg, c, nil, u, logto.SignInOptions{})
				narrow := logto.AccessTokenRequest{Resource: tg.api(), Scopes: []string{readData}}

				n1, err := c.GetAccessTokenWith(ctx, narrow)
				require.NoError(t, err)
				assert.Equal(t, readData, scopeOf(t, n1))
				full, err := c.GetAccessToken(ctx, tg.api())
				require.NoError(t, err)
				assert.Equal(t, readData+" "+writeData, scopeOf(t, full))
				refreshes := rec.refreshes()
				n2, err := c.GetAccessTokenWith(ctx, narrow)
				require.NoError(t, err)
				full2, err := c.GetAccessToken(ctx, tg.api())
				require.NoError(t, err)
				assert.Equal(t, []string{n1, full}, []string{n2, full2}, "each cached apart")
				assert.Equal(t, refreshes, rec.refreshes())

				// read:org was requested at sign-in but the user is in no
				// organization: the grant lacks it for this API.
				_, err = c.GetAccessTokenWith(ctx, logto.AccessTokenRequest{Resource: tg.api(), Scopes: []string{orgScope}})
				require.ErrorIs(t, err, logto.ErrScopeNotGranted)
				assert.Equal(t, "invalid_scope", oauthError(t, err).Code)
				fresh, err := c.GetAccessTokenWith(ctx, logto.AccessTokenRequest{Resource: tg.api(), ForceRefresh: true})
				require.NoError(t, err, "the session goes on")
				assert.Equal(t, readData+" "+writeData, scopeOf(t, fresh))
				rec.requireNoRefreshTokenReuse(t)
			})
		}
	})
}

// namedApp is an app of a target with the subtest name it runs under.
type namedApp struct {
	name string
	app  app
}

// webAndNative are a target's confidential and public (rotating) apps.
func webAndNative(tg target) []namedApp {
	return []namedApp{{"web", tg.webApp()}, {"native", tg.nativeApp()}}
}
