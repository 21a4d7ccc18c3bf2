package interop

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/backchannel"
)

// short-id-app is web-app (confidential, without a back-channel logout
// URI) with ID tokens that live 4 s.
const (
	shortIDAppID     = "short-id-app"
	shortIDAppSecret = "short-id-secret"
)

// shortIDConfig is short-id-app: web-app with ID tokens that live 4 s.
func shortIDConfig(t *testing.T) logto.LogtoConfig {
	t.Helper()
	cfg := webConfig(t)
	cfg.AppId = shortIDAppID
	cfg.AppSecret = shortIDAppSecret
	return cfg
}

// TestRemovedKeyRefusedAfterMaxAge (issue 9 item 5): once a key has left
// the provider's JWKS, tokens signed with it are refused as soon as the
// key set a component holds is older than its maximum age (2 s here, set
// with the components' JWKS max age options): a token issued before the
// removal, one verified (and cached) before it, and one signed after it by
// someone who kept the key. LogtoClient meets such a key in a refresh response's ID
// token, apiauth in access tokens, backchannel in logout tokens.
func TestRemovedKeyRefusedAfterMaxAge(t *testing.T) {
	ctx := context.Background()
	const maxAge = 2 * time.Second
	removed := rotateKey(t)

	// Each component fetches the JWKS while the key is published. The
	// client's ID tokens live 4 s: by the time of the refresh below, the
	// session's one is due for renewal, so the refresh response's ID token
	// is verified.
	clientLog := newCountingTransport()
	client := newClient(t, shortIDConfig(t), nil, logto.WithHTTPClient(clientLog.client()), logto.WithJWKSMaxAge(maxAge))
	b := newBrowser(t)
	signIn(t, client, b, logto.SignInOptions{})
	idToken := mustToken(t)(client.GetIdToken(ctx))
	require.Equal(t, removed, jwtKeyID(t, idToken))
	iat, exp := jwtTimes(t, idToken)
	require.Equal(t, int64(4), exp-iat, "short-id-app's ID tokens live 4 s")

	verifierLog := newCountingTransport()
	v := newVerifier(t, apiauth.Config{Endpoint: endpoint(t), Audience: apiResource, HTTPClient: verifierLog.client(), JWKSMaxAge: maxAge})
	verified := m2mAccessToken(t)
	_, err := v.Verify(ctx, verified)
	require.NoError(t, err)
	unseen := m2mAccessToken(t) // issued before the removal, never shown to v

	addr, path := backchannelReceiver(t)
	handlerLog := newCountingTransport()
	rcv := startLogoutReceiver(t, addr, path, acceptAll, func(c *backchannel.Config) {
		c.HTTPClient = handlerLog.client()
		c.JWKSMaxAge = maxAge
	})
	d := providerLogout(t, rcv)
	require.Equalf(t, http.StatusOK, d.status, "logout token signed with the key while published: %s", d.body)

	// The key leaves the JWKS (a new one signs and is published), and
	// someone who kept it signs with it.
	replacement := keyControl(t, "rotate", nil).Signing
	keyControl(t, "unpublish", map[string]any{"kid": removed})
	keyControl(t, "sign", map[string]any{"kid": removed})
	require.Equal(t, []string{replacement}, publishedKeyIDs(t))

	// Past every component's maximum age.
	last := clientLog.lastSent(jwksPath)
	for _, l := range []*countingTransport{verifierLog, handlerLog} {
		if at := l.lastSent(jwksPath); at.After(last) {
			last = at
		}
	}
	sleepUntil(last.Add(maxAge + 200*time.Millisecond))

	t.Run("LogtoClient refuses the ID token of a refresh, and of a sign-in", func(t *testing.T) {
		n := clientLog.count(jwksPath)
		_, err := client.GetAccessToken(ctx, apiResource)
		require.ErrorIs(t, err, logto.ErrInvalidIDToken, "the refresh response's ID token is signed with the removed key")
		assert.GreaterOrEqual(t, clientLog.count(jwksPath), n+1, "the aged key set was fetched again")
		assert.LessOrEqual(t, clientLog.count(jwksPath), n+2)
		got, err := client.GetIdToken(ctx)
		require.NoError(t, err)
		assert.Equal(t, idToken, got, "the session keeps its verified ID token")

		authURL, err := client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
		require.NoError(t, err)
		err = client.HandleCallback(ctx, b.authorize(t, authURL).callback)
		require.ErrorIs(t, err, logto.ErrInvalidIDToken, "the code exchange's ID token is signed with the removed key")
	})

	t.Run("apiauth refuses access tokens signed with the removed key", func(t *testing.T) {
		n := verifierLog.count(jwksPath)
		for _, tc := range []struct{ name, token string }{
			{"issued before the removal", unseen},
			{"signed after the removal", m2mAccessToken(t)},
		} {
			require.Equal(t, removed, jwtKeyID(t, tc.token), tc.name)
			_, err := v.Verify(ctx, tc.token)
			assert.ErrorIs(t, err, apiauth.ErrInvalidToken, tc.name)
		}
		a := getAPI(t, nil, newAPI(t, v.Middleware()(echoClaims)).URL, unseen)
		assert.Equal(t, http.StatusUnauthorized, a.status, "the middleware refuses it too")
		assert.GreaterOrEqual(t, verifierLog.count(jwksPath), n+1, "the aged key set was fetched again")
		assert.LessOrEqual(t, verifierLog.count(jwksPath), n+2)
	})

	t.Run("apiauth refuses a token it verified before the removal", func(t *testing.T) {
		// Its verified-token cache must not outlive the keys it verified
		// with: the token's own exp can be far ahead.
		_, err := v.Verify(ctx, verified)
		assert.ErrorIs(t, err, apiauth.ErrInvalidToken)
	})

	t.Run("backchannel refuses a logout token signed with the removed key", func(t *testing.T) {
		n := handlerLog.count(jwksPath)
		events := len(rcv.events())
		d := providerLogout(t, rcv)
		require.Equal(t, removed, jwtKeyID(t, d.token))
		assert.Equalf(t, http.StatusBadRequest, d.status, "refused: %s", d.body)
		assert.Len(t, rcv.events(), events, "no OnLogout")
		assert.GreaterOrEqual(t, handlerLog.count(jwksPath), n+1, "the aged key set was fetched again")
		assert.LessOrEqual(t, handlerLog.count(jwksPath), n+2)
	})

	t.Run("the published key still works everywhere", func(t *testing.T) {
		keyControl(t, "sign", map[string]any{"kid": replacement})
		c := newClient(t, webConfig(t), nil, logto.WithJWKSMaxAge(maxAge))
		signIn(t, c, newBrowser(t), logto.SignInOptions{})
		_, err := c.GetAccessToken(ctx, apiResource)
		assert.NoError(t, err)
		_, err = v.Verify(ctx, m2mAccessToken(t))
		assert.NoError(t, err)
		d := providerLogout(t, rcv)
		assert.Equalf(t, http.StatusOK, d.status, "%s", d.body)
	})
}
