package interop

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// Fixed names of the provider's machine-to-machine app (interop/README.md).
const (
	m2mAppID     = "m2m-app"
	m2mAppSecret = "m2m-secret"
)

// m2mConfig is m2m-app asking for read:data of the API.
func m2mConfig(t *testing.T) logto.M2MConfig {
	t.Helper()
	return logto.M2MConfig{
		Endpoint:  endpoint(t),
		AppId:     m2mAppID,
		AppSecret: m2mAppSecret,
		Resource:  apiResource,
		Scopes:    []string{"read:data"},
	}
}

// newM2M returns an M2M client whose requests are counted by the returned
// transport.
func newM2M(t *testing.T, cfg logto.M2MConfig, opts ...logto.Option) (*logto.M2MClient, *countingTransport) {
	t.Helper()
	ct := newCountingTransport()
	opts = append([]logto.Option{logto.WithHTTPClient(ct.client())}, opts...)
	m, err := logto.NewM2MClient(cfg, opts...)
	require.NoError(t, err)
	return m, ct
}

// TestClientCredentials runs logto.M2MClient against the provider's
// client_credentials grant: the token's claims, the cache, scope
// narrowing, and the provider's errors.
func TestClientCredentials(t *testing.T) {
	ctx := context.Background()
	iss := issuer(t)

	t.Run("token claims and cache", func(t *testing.T) {
		clock := &testClock{}
		m, ct := newM2M(t, m2mConfig(t), logto.WithClock(clock.now))

		tok, err := m.AccessToken(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, ct.tokenRequests())

		claims := verifyAccessToken(t, tok) // ES384, typ at+jwt, signed by the JWKS
		assert.Equal(t, apiResource, claims["aud"])
		assert.Equal(t, m2mAppID, claims["sub"], "sub = client_id for client credentials")
		assert.Equal(t, m2mAppID, claims["client_id"])
		assert.Equal(t, "read:data", claims["scope"])
		assert.Equal(t, iss, claims["iss"])
		assert.NotEmpty(t, claims["jti"])
		assert.EqualValues(t, accessTokenTTL(t), claims["exp"].(float64)-claims["iat"].(float64))
		keys := make([]string, 0, len(claims))
		for k := range claims {
			keys = append(keys, k)
		}
		assert.ElementsMatch(t, []string{"jti", "sub", "iat", "exp", "scope", "client_id", "iss", "aud"}, keys)

		// Cached: neither AccessToken, Token nor TokenSource asks again.
		again, err := m.AccessToken(ctx)
		require.NoError(t, err)
		assert.Equal(t, tok, again, "the second call is served from the cache")
		ot, err := m.Token(ctx)
		require.NoError(t, err)
		assert.Equal(t, tok, ot.AccessToken)
		assert.Equal(t, "Bearer", ot.TokenType)
		assert.Equal(t, "read:data", ot.Extra("scope"))
		exp := time.Unix(int64(claims["exp"].(float64)), 0)
		assert.WithinDuration(t, exp.Add(-time.Minute), ot.Expiry, 2*time.Second, "Expiry is moved earlier by the default early-expiry window")
		fromSource, err := m.TokenSource(ctx).Token()
		require.NoError(t, err)
		assert.Equal(t, tok, fromSource.AccessToken)
		assert.Equal(t, 1, ct.tokenRequests(), "one token request in all")

		// Within the early-expiry window the token is fetched again.
		clock.advance(time.Until(ot.Expiry) + time.Second)
		renewed, err := m.AccessToken(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, tok, renewed)
		assert.Equal(t, 2, ct.tokenRequests())
		assert.NotEqual(t, claims["jti"], verifyAccessToken(t, renewed)["jti"])
	})

	t.Run("concurrent callers share one request", func(t *testing.T) {
		m, ct := newM2M(t, m2mConfig(t))
		const n = 8
		tokens := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tokens[i], errs[i] = m.AccessToken(ctx)
			}()
		}
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i])
			assert.Equal(t, tokens[0], tokens[i])
		}
		assert.Equal(t, 1, ct.tokenRequests())
	})

	t.Run("scope not granted is left out", func(t *testing.T) {
		cfg := m2mConfig(t)
		cfg.Scopes = []string{"write:data"}
		m, _ := newM2M(t, cfg)
		tok, err := m.Token(ctx)
		require.NoError(t, err, "an ungranted scope is dropped, not refused")
		claims := verifyAccessToken(t, tok.AccessToken)
		assert.NotContains(t, claims, "scope", "no granted scope left: oidc-provider leaves scope out")
		assert.Equal(t, apiResource, claims["aud"])
		assert.Empty(t, tok.Extra("scope"))

		cfg.Scopes = []string{"read:data", "write:data"}
		m, _ = newM2M(t, cfg)
		tok, err = m.Token(ctx)
		require.NoError(t, err)
		assert.Equal(t, "read:data", verifyAccessToken(t, tok.AccessToken)["scope"], "narrowed to what m2m-app's roles grant")
		assert.Equal(t, "read:data", tok.Extra("scope"))
	})

	t.Run("no scopes requested", func(t *testing.T) {
		// Only requested scopes are granted: without scope the token has
		// none. So does oidc-provider's client_credentials grant (used
		// unchanged here), and so does Logto's fork of it
		// (packages/core/src/oidc/grants/client-credentials.ts), whereas
		// the SDK's M2MConfig.Scopes says "empty means every scope the
		// app's roles grant".
		cfg := m2mConfig(t)
		cfg.Scopes = nil
		m, _ := newM2M(t, cfg)
		tok, err := m.AccessToken(ctx)
		require.NoError(t, err)
		claims := verifyAccessToken(t, tok)
		assert.Equal(t, apiResource, claims["aud"])
		assert.NotContains(t, claims, "scope")
	})

	t.Run("wrong secret", func(t *testing.T) {
		cfg := m2mConfig(t)
		cfg.AppSecret = "not-the-secret"
		m, ct := newM2M(t, cfg)
		_, err := m.AccessToken(ctx)
		oe := oauthError(t, err)
		assert.Equal(t, "invalid_client", oe.Code)
		assert.Equal(t, "client authentication failed", oe.Description)
		assert.Equal(t, http.StatusUnauthorized, oe.StatusCode)
		assert.Equal(t, "token", oe.Endpoint)

		// Failures are not cached: the next call asks again.
		_, err = m.AccessToken(ctx)
		assert.Equal(t, "invalid_client", oauthError(t, err).Code)
		assert.Equal(t, 2, ct.tokenRequests())
	})

	t.Run("organization", func(t *testing.T) {
		// m2m-app belongs to no organization: Logto answers 403
		// access_denied, with or without a resource.
		for _, resource := range []string{apiResource, ""} {
			cfg := m2mConfig(t)
			cfg.Resource = resource
			cfg.OrganizationID = "org-1"
			m, _ := newM2M(t, cfg)
			_, err := m.AccessToken(ctx)
			oe := oauthError(t, err)
			assert.Equal(t, "access_denied", oe.Code, "resource %q", resource)
			assert.Equal(t, "app has not associated with the organization", oe.Description)
			assert.Equal(t, http.StatusForbidden, oe.StatusCode)
			assert.Equal(t, "token", oe.Endpoint)
		}
	})

	t.Run("unknown resource", func(t *testing.T) {
		cfg := m2mConfig(t)
		cfg.Resource = "https://unknown.example.com"
		m, _ := newM2M(t, cfg)
		_, err := m.AccessToken(ctx)
		oe := oauthError(t, err)
		assert.Equal(t, "invalid_target", oe.Code)
		assert.Equal(t, http.StatusBadRequest, oe.StatusCode)
	})

	t.Run("HTTP client adds the bearer token", func(t *testing.T) {
		m, ct := newM2M(t, m2mConfig(t))
		var mu sync.Mutex
		var got []string
		api := newAPI(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got = append(got, r.Header.Get("Authorization"))
			mu.Unlock()
		}))
		for range 2 {
			resp, err := m.HTTPClient(ctx).Get(api.URL + "/data")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		}
		tok, err := m.AccessToken(ctx)
		require.NoError(t, err)
		mu.Lock()
		assert.Equal(t, []string{"Bearer " + tok, "Bearer " + tok}, got)
		mu.Unlock()
		assert.Equal(t, 1, ct.tokenRequests(), "the HTTP client shares the cached token")
		assert.Equal(t, 2, ct.count("/data"), "API calls go through the transport given with WithHTTPClient")
	})

	t.Run("config needs a resource or an organization", func(t *testing.T) {
		cfg := m2mConfig(t)
		cfg.Resource = ""
		_, err := logto.NewM2MClient(cfg)
		assert.ErrorIs(t, err, logto.ErrInvalidConfig)
		assert.True(t, strings.Contains(err.Error(), "Resource"), err.Error())
	})
}
