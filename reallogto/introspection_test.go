package reallogto

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
)

// TestAPIAuthIntrospection verifies opaque access tokens (the default
// token, issued for no API resource) in a resource server through the
// provider's introspection endpoint, authenticated as the M2M app: the
// web app's token is accepted with its user and scopes, another app's is
// accepted only when listed, a refresh token never, and after sign-out
// the token is refused. JWTs are still verified without introspection.
func TestAPIAuthIntrospection(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		u := tg.newUser(t, userSpec{APIScopes: []string{readData}})
		web, native, m2m := tg.webApp(), tg.nativeApp(), tg.m2mApp()
		cw := clientFor(t, tg, web, []string{readData}, []string{tg.api()}, nil)
		signInClient(t, tg, cw, nil, u, logto.SignInOptions{})
		cn := clientFor(t, tg, native, nil, nil, nil)
		signInClient(t, tg, cn, nil, u, logto.SignInOptions{})
		webTok, err := cw.GetAccessToken(ctx, "")
		require.NoError(t, err)
		nativeTok, err := cn.GetAccessToken(ctx, "")
		require.NoError(t, err)
		require.NotContains(t, webTok, ".", "the default token is opaque")

		rec := newRecorder()
		introspected := func() int { return rec.count("/token/introspection") }
		newV := func(clients []string, secret string) *apiauth.Verifier {
			return verifier(t, tg, apiauth.Config{HTTPClient: rec.client(), Introspection: &apiauth.Introspection{
				ClientID: m2m.ID, ClientSecret: secret, Clients: clients, MaxCacheAge: -1,
			}})
		}
		v := newV([]string{web.ID}, m2m.Secret)

		c, err := v.Verify(ctx, webTok)
		require.NoError(t, err)
		assert.True(t, c.Introspected())
		assert.Equal(t, u.ID, c.Subject)
		assert.Equal(t, web.ID, c.ClientID)
		assert.Equal(t, tg.issuer(), c.Issuer)
		for _, s := range []string{logto.ScopeOpenID, logto.ScopeProfile} {
			assert.True(t, c.HasScope(s), "scope %q in %q", s, c.Scope)
		}
		assert.False(t, c.HasScope(readData), "the default token carries no API scope")
		assert.Greater(t, c.Expiry.Time().Unix(), c.IssuedAt.Time().Unix())
		assert.Equal(t, 1, introspected())
		var answer map[string]any
		require.NoError(t, c.Claims(&answer))
		t.Logf("%s: introspection answer members %v", tg.name(), keys(answer))

		// Requirements apply as to JWTs.
		_, err = v.Verify(ctx, webTok, apiauth.RequireScopes(readData))
		requireAPIError(t, err, "insufficient_scope")

		// Another app's token: refused unless listed; the M2M app may
		// introspect it either way (an app with a secret reads every app's
		// tokens).
		_, err = v.Verify(ctx, nativeTok)
		requireAPIError(t, err, "invalid_token")
		c, err = newV([]string{web.ID, native.ID}, m2m.Secret).Verify(ctx, nativeTok)
		require.NoError(t, err)
		assert.Equal(t, native.ID, c.ClientID)

		// A refresh token introspects as active, but is no access token.
		rt, err := cw.GetRefreshToken(ctx)
		require.NoError(t, err)
		_, err = v.Verify(ctx, rt)
		requireAPIError(t, err, "invalid_token")

		// The API's credentials refused: unavailable, no verdict.
		_, err = newV([]string{web.ID}, "wrong-secret").Verify(ctx, webTok)
		require.ErrorIs(t, err, apiauth.ErrUnavailable)
		assert.Contains(t, err.Error(), "invalid_client")

		// A JWT is verified locally.
		before := introspected()
		jwt, err := cw.GetAccessToken(ctx, tg.api())
		require.NoError(t, err)
		c, err = v.Verify(ctx, jwt, apiauth.RequireScopes(readData))
		require.NoError(t, err)
		assert.False(t, c.Introspected())
		assert.Equal(t, before, introspected())

		// Sign-out revokes the grant: the opaque token is refused.
		_, err = cw.SignOut(ctx, web.PostLogoutRedirectURI)
		require.NoError(t, err)
		_, err = v.Verify(ctx, webTok)
		requireAPIError(t, err, "invalid_token")
	})
}
