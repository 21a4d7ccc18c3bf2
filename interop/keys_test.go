package interop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/backchannel"
)

// The tests of this file change the provider's signing keys through its
// test controls (interop/README.md, "Test controls"), in real time. They
// are not parallel: no other test runs while the keys change, and each
// leaves the provider signing with a single published key.

// m2mAccessToken asks the provider for a new client-credentials token for
// the API, signed with whatever key it signs with now.
func m2mAccessToken(t *testing.T) string {
	t.Helper()
	res := postToken(t, m2mAppID, m2mAppSecret, url.Values{
		"grant_type": {"client_credentials"}, "resource": {apiResource}, "scope": {"read:data"},
	})
	require.Equalf(t, http.StatusOK, res.status, "client credentials: %v", res.body)
	tok := res.str("access_token")
	require.NotEmpty(t, tok)
	return tok
}

// providerLogout signs alice in to web-app in a fresh browser, ends her OP
// session and returns the logout token the provider then POSTed to rcv.
// It uses the SDK only to build the authorization URL: no ID token is
// verified on the way, so it works whatever key the provider signs with.
func providerLogout(t *testing.T, rcv *logoutReceiver) logoutDelivery {
	t.Helper()
	rcv.mu.Lock()
	n := len(rcv.deliveries)
	rcv.mu.Unlock()
	client := newClient(t, webConfig(t), nil)
	authURL, err := client.SignIn(context.Background(), logto.SignInOptions{RedirectURI: redirectURI, LoginHint: "alice"})
	require.NoError(t, err)
	b := newBrowser(t)
	require.NotEmpty(t, query(t, b.authorize(t, authURL).callback).Get("code"), "the OP session exists")
	endProviderSession(t, b, issuer(t)+"/session/end?"+url.Values{
		"client_id": {webAppID}, "post_logout_redirect_uri": {postLogoutURI},
	}.Encode())
	return rcv.waitDeliveries(t, n+1)[n]
}

// forgedAccessTokens returns n access tokens for the API that look like
// the provider's but are signed with a key of the test's, each naming a
// random key id.
func forgedAccessTokens(t *testing.T, n int) []string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	now := time.Now().Unix()
	out := make([]string, n)
	for i := range out {
		kid := make([]byte, 12)
		_, _ = rand.Read(kid)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: key},
			(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", base64.RawURLEncoding.EncodeToString(kid)))
		require.NoError(t, err)
		payload, err := json.Marshal(map[string]any{
			"iss": issuer(t), "aud": apiResource, "sub": "forger", "client_id": m2mAppID,
			"scope": "read:data", "iat": now, "exp": now + 3600, "jti": base64.RawURLEncoding.EncodeToString(kid),
		})
		require.NoError(t, err)
		jws, err := signer.Sign(payload)
		require.NoError(t, err)
		out[i], err = jws.CompactSerialize()
		require.NoError(t, err)
	}
	return out
}

// acceptAll is a back-channel logout hook with nothing to end.
func acceptAll(context.Context, string, string) error { return nil }

// TestKeyRotationRightAfterFirstFetch (issue 9 item 4): the provider
// rotates its signing key (a new key first in the JWKS, the old one kept)
// right after a component's first JWKS fetch. The next token, signed with
// the new key, is accepted at once, with one refetch: the first fetch
// starts no cooldown. Forged key ids still cost at most one more fetch.
func TestKeyRotationRightAfterFirstFetch(t *testing.T) {
	ctx := context.Background()
	rotateKey(t)

	t.Run("LogtoClient: the next sign-in", func(t *testing.T) {
		ct := newCountingTransport()
		client := newClient(t, webConfig(t), nil, logto.WithHTTPClient(ct.client()))
		b := newBrowser(t)
		signIn(t, client, b, logto.SignInOptions{})
		before := providerKeys(t).Signing
		require.Equal(t, before, jwtKeyID(t, mustToken(t)(client.GetIdToken(ctx))))
		require.Equal(t, 1, ct.count(jwksPath), "the sign-in fetched the JWKS")

		rotated := keyControl(t, "rotate", nil).Signing
		require.Equal(t, []string{rotated, before}, publishedKeyIDs(t), "the new key first, the old one kept")

		signIn(t, client, b, logto.SignInOptions{}) // at once: no cooldown wait
		assert.Equal(t, rotated, jwtKeyID(t, mustToken(t)(client.GetIdToken(ctx))))
		assert.Equal(t, 2, ct.count(jwksPath), "one refetch for the new key id")

		// A refresh's ID token, signed with the new key, needs no fetch.
		_, err := client.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		assert.Equal(t, 2, ct.count(jwksPath))
	})

	t.Run("apiauth: the next token, and forged key ids", func(t *testing.T) {
		ct := newCountingTransport()
		v := newVerifier(t, apiauth.Config{Endpoint: endpoint(t), Audience: apiResource, HTTPClient: ct.client()})
		_, err := v.Verify(ctx, m2mAccessToken(t))
		require.NoError(t, err)
		require.Equal(t, 1, ct.count(jwksPath))

		rotated := keyControl(t, "rotate", nil).Signing
		tok := m2mAccessToken(t)
		require.Equal(t, rotated, jwtKeyID(t, tok))
		_, err = v.Verify(ctx, tok)
		require.NoError(t, err, "a token signed with the new key is accepted at once")
		assert.Equal(t, 2, ct.count(jwksPath), "one refetch for the new key id")

		// 1000 tokens naming random key ids, from 8 goroutines: refused,
		// and the refetch above already answered for the cooldown.
		forged := forgedAccessTokens(t, 1000)
		errs := make([]error, len(forged))
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(forged); i += 8 {
					_, errs[i] = v.Verify(ctx, forged[i])
				}
			}()
		}
		wg.Wait()
		for i, err := range errs {
			require.ErrorIsf(t, err, apiauth.ErrInvalidToken, "forged token %d", i)
		}
		assert.LessOrEqual(t, ct.count(jwksPath), 3, "1000 forged key ids cost at most one more fetch")
	})

	t.Run("backchannel: the next logout token", func(t *testing.T) {
		addr, path := backchannelReceiver(t)
		ct := newCountingTransport()
		rcv := startLogoutReceiver(t, addr, path, acceptAll, func(c *backchannel.Config) { c.HTTPClient = ct.client() })

		d := providerLogout(t, rcv)
		require.Equalf(t, http.StatusOK, d.status, "first logout token: %s", d.body)
		require.Equal(t, 1, ct.count(jwksPath))

		rotated := keyControl(t, "rotate", nil).Signing
		d = providerLogout(t, rcv)
		require.Equal(t, rotated, jwtKeyID(t, d.token))
		assert.Equalf(t, http.StatusOK, d.status, "a logout token signed with the new key is accepted at once: %s", d.body)
		assert.Equal(t, 2, ct.count(jwksPath), "one refetch for the new key id")
		assert.Len(t, rcv.events(), 2)
	})
}
