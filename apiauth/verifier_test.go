package apiauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/logtotest"
)

const api = "https://api.example.com"

func newVerifier(t testing.TB, srv *logtotest.Server, mutate func(*apiauth.Config)) *apiauth.Verifier {
	t.Helper()
	cfg := apiauth.Config{Endpoint: srv.URL(), Audience: api, Now: srv.Now}
	if mutate != nil {
		mutate(&cfg)
	}
	v, err := apiauth.NewVerifier(cfg)
	require.NoError(t, err)
	return v
}

// accessToken signs an access token like Logto's with the fake's key.
func accessToken(srv *logtotest.Server, edit func(h, c map[string]any)) string {
	now := srv.Now().Unix()
	h := map[string]any{"typ": "at+jwt"}
	c := map[string]any{
		"jti": "j1", "sub": "user-1", "iat": now, "exp": now + 3600,
		"scope": "read:data write:data", "client_id": "app", "iss": srv.Issuer(), "aud": api,
	}
	if edit != nil {
		edit(h, c)
	}
	return srv.Sign(h, c)
}

// protected serves the middleware around a handler that echoes the subject.
func protected(v *apiauth.Verifier, reqs ...apiauth.Requirement) http.Handler {
	return v.Middleware(reqs...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := apiauth.FromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", 500)
			return
		}
		_, _ = io.WriteString(w, "hello "+c.Subject)
	}))
}

func call(h http.Handler, authz string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/data", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddlewareRules(t *testing.T) {
	srv := logtotest.NewServer(t)
	other := logtotest.NewServer(t) // another tenant
	realm := `Bearer realm="` + api + `"`
	invalidTok := func(desc string) string {
		return realm + `, error="invalid_token", error_description="` + desc + `"`
	}
	tests := []struct {
		name    string
		authz   func() string
		reqs    []apiauth.Requirement
		status  int
		wwwAuth string
		bodyHas string
	}{
		{"valid", func() string { return "Bearer " + accessToken(srv, nil) }, nil, 200, "", "hello user-1"},
		{"scheme is case-insensitive", func() string { return "bearer " + accessToken(srv, nil) }, nil, 200, "", "hello user-1"},
		{"no header", func() string { return "" }, nil, 401, realm, `"error":"unauthorized"`},
		{"basic scheme", func() string { return "Basic dTpw" }, nil, 401, realm, ""},
		{"empty bearer", func() string { return "Bearer " }, nil, 401, realm, ""},
		{"garbage", func() string { return "Bearer not-a-jwt" }, nil, 401, invalidTok("malformed token or unsupported algorithm"), `"error":"invalid_token"`},
		{"another API", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["aud"] = "https://other.example.com" })
		}, nil, 401, invalidTok("token is meant for another audience"), ""},
		{"audience array containing the API", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["aud"] = []string{"x", api} })
		}, nil, 200, "", ""},
		{"another tenant", func() string { return "Bearer " + accessToken(other, nil) }, nil, 401, invalidTok("signature verification failed"), ""},
		{"another tenant's issuer, our key", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["iss"] = other.Issuer() })
		}, nil, 401, invalidTok("token issued by another issuer"), ""},
		{"expired", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["exp"] = srv.Now().Add(-2 * time.Minute).Unix() })
		}, nil, 401, invalidTok("token expired"), ""},
		{"expired within leeway", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["exp"] = srv.Now().Add(-30 * time.Second).Unix() })
		}, nil, 200, "", ""},
		{"no exp", func() string { return "Bearer " + accessToken(srv, func(h, c map[string]any) { delete(c, "exp") }) }, nil, 401, invalidTok("exp is missing"), ""},
		{"not valid yet", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["nbf"] = srv.Now().Add(time.Hour).Unix() })
		}, nil, 401, invalidTok("token not valid yet"), ""},
		{"issued in the future", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["iat"] = srv.Now().Add(time.Hour).Unix() })
		}, nil, 401, invalidTok("token issued in the future"), ""},
		{"no sub", func() string { return "Bearer " + accessToken(srv, func(h, c map[string]any) { delete(c, "sub") }) }, nil, 401, invalidTok("sub is missing"), ""},
		{"typ JWT (an ID token)", func() string { return "Bearer " + accessToken(srv, func(h, c map[string]any) { h["typ"] = "JWT" }) }, nil, 401, invalidTok("token type is not at+jwt"), ""},
		{"typ application/at+jwt", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { h["typ"] = "application/at+jwt" })
		}, nil, 200, "", ""},
		{"alg none", func() string { return "Bearer " + accessToken(srv, func(h, c map[string]any) { h["alg"] = "none" }) }, nil, 401, invalidTok("malformed token or unsupported algorithm"), ""},
		{"HMAC keyed with the public key", func() string { return "Bearer " + accessToken(srv, func(h, c map[string]any) { h["alg"] = "HS256" }) }, nil, 401, invalidTok("malformed token or unsupported algorithm"), ""},
		{"tampered payload", func() string {
			tok := accessToken(srv, nil)
			parts := strings.Split(tok, ".")
			forged := strings.Split(accessToken(srv, func(h, c map[string]any) { c["scope"] = "admin" }), ".")
			return "Bearer " + parts[0] + "." + forged[1] + "." + parts[2]
		}, nil, 401, invalidTok("signature verification failed"), ""},
		{"missing scope", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["scope"] = "read:data" })
		}, []apiauth.Requirement{apiauth.RequireScopes("read:data", "write:data")}, 403,
			realm + `, error="insufficient_scope", error_description="the token lacks a required scope", scope="read:data write:data"`, `"scope":"read:data write:data"`},
		{"all scopes present", func() string { return "Bearer " + accessToken(srv, nil) }, []apiauth.Requirement{apiauth.RequireScopes("read:data", "write:data")}, 200, "", ""},
		{"any scope", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["scope"] = "write:data" })
		}, []apiauth.Requirement{apiauth.RequireAnyScope("read:data", "write:data")}, 200, "", ""},
		{"none of the scopes", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { delete(c, "scope") })
		}, []apiauth.Requirement{apiauth.RequireAnyScope("read:data")}, 403,
			realm + `, error="insufficient_scope", error_description="the token has none of the accepted scopes", scope="read:data"`, ""},
		{"organization match", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["organization_id"] = "org-1" })
		}, []apiauth.Requirement{apiauth.RequireOrganization("org-1")}, 200, "", ""},
		{"organization mismatch", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["organization_id"] = "org-2" })
		}, []apiauth.Requirement{apiauth.RequireOrganization("org-1")}, 403,
			realm + `, error="insufficient_scope", error_description="the token is not bound to the required organization"`, ""},
		{"organization token refused without opt-in", func() string {
			return "Bearer " + accessToken(srv, func(h, c map[string]any) { c["aud"] = logto.OrganizationURNPrefix + "org-1" })
		}, nil, 401, invalidTok("token is meant for another audience"), ""},
	}
	v := newVerifier(t, srv, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := call(protected(v, tt.reqs...), tt.authz())
			assert.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Equal(t, tt.wwwAuth, w.Header().Get("WWW-Authenticate"))
			if tt.bodyHas != "" {
				assert.Contains(t, w.Body.String(), tt.bodyHas)
			}
		})
	}
}

func TestOrganizationTokens(t *testing.T) {
	srv := logtotest.NewServer(t)
	v := newVerifier(t, srv, func(c *apiauth.Config) { c.AcceptOrganizationTokens = true })
	org1 := "Bearer " + accessToken(srv, func(h, c map[string]any) { c["aud"] = logto.OrganizationURNPrefix + "org-1" })
	assert.Equal(t, 200, call(protected(v, apiauth.RequireOrganization("org-1")), org1).Code)
	assert.Equal(t, 403, call(protected(v, apiauth.RequireOrganization("org-2")), org1).Code)
}

// TestRealTokensFromTheSDK verifies tokens the fake issued through a real
// sign-in, fetched with the SDK: an API token, an organization-scoped API
// token and an organization token.
func TestRealTokensFromTheSDK(t *testing.T) {
	ctx := context.Background()
	srv := logtotest.NewServer(t)
	srv.AddApp(logtotest.App{ID: "app", Secret: "s", Type: logtotest.AppTraditional, RedirectURIs: []string{"https://app.example/cb"}})
	srv.AddResource(logtotest.Resource{Indicator: api, Scopes: []string{"read:data"}})
	srv.AddRole("reader", api, "read:data")
	srv.AddOrganization(logtotest.Organization{ID: "org-1", Name: "One"})
	srv.AddOrganizationRole("member", "read:org")
	srv.AddOrganizationRoleResourceScopes("member", api, "read:data")
	srv.AddUser(logtotest.User{ID: "u1", Roles: []string{"reader"}, Organizations: []logtotest.Membership{{OrganizationID: "org-1", Roles: []string{"member"}}}})
	client, err := logto.NewLogtoClient(logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: "app", AppSecret: "s",
		Scopes: []string{logto.ScopeOrganizations, "read:data", "read:org"}, Resources: []string{api},
	}, nil, logto.WithClock(srv.Now))
	require.NoError(t, err)
	u, err := client.SignIn(ctx, logto.SignInOptions{RedirectURI: "https://app.example/cb"})
	require.NoError(t, err)
	cb, err := srv.Authorize(u, "u1")
	require.NoError(t, err)
	require.NoError(t, client.HandleCallback(ctx, cb))

	v := newVerifier(t, srv, func(c *apiauth.Config) { c.AcceptOrganizationTokens = true })
	apiTok, err := client.GetAccessToken(ctx, api)
	require.NoError(t, err)
	c, err := v.Verify(ctx, apiTok, apiauth.RequireScopes("read:data"))
	require.NoError(t, err)
	assert.Equal(t, "u1", c.Subject)
	assert.Equal(t, "app", c.ClientID)

	orgAPI, err := client.GetOrganizationAccessToken(ctx, "org-1", api)
	require.NoError(t, err)
	_, err = v.Verify(ctx, orgAPI, apiauth.RequireOrganization("org-1"), apiauth.RequireScopes("read:data"))
	require.NoError(t, err)

	orgTok, err := client.GetOrganizationToken(ctx, "org-1")
	require.NoError(t, err)
	c, err = v.Verify(ctx, orgTok, apiauth.RequireOrganization("org-1"), apiauth.RequireScopes("read:org"))
	require.NoError(t, err)
	id, ok := c.IsOrganizationToken()
	assert.True(t, ok)
	assert.Equal(t, "org-1", id)

	// The opaque user-info token is no API token.
	opaque, err := client.GetAccessToken(ctx, "")
	require.NoError(t, err)
	_, err = v.Verify(ctx, opaque)
	assert.ErrorIs(t, err, apiauth.ErrInvalidToken)
}

func TestCacheAndKeyFetches(t *testing.T) {
	ctx := context.Background()
	srv := logtotest.NewServer(t)
	v := newVerifier(t, srv, nil)
	tok := accessToken(srv, nil)
	for i := 0; i < 5; i++ {
		_, err := v.Verify(ctx, tok)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, v.CacheLen())
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointDiscovery))
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointJWKS))

	// A cached token still expires. Two hours on, the key set is past its
	// maximum age: verifying refetches it once.
	srv.Advance(2 * time.Hour)
	_, err := v.Verify(ctx, tok)
	assert.ErrorIs(t, err, apiauth.ErrInvalidToken)
	assert.Equal(t, 2, srv.RequestCount(logtotest.EndpointJWKS))

	// Key rotation: a token with the new kid triggers one refetch, the
	// cooldown stops a flood of unknown kids from refetching again.
	srv.RotateKey()
	_, err = v.Verify(ctx, accessToken(srv, nil))
	require.NoError(t, err)
	assert.Equal(t, 3, srv.RequestCount(logtotest.EndpointJWKS))
	for i := 0; i < 5; i++ {
		_, err = v.Verify(ctx, accessToken(srv, func(h, c map[string]any) { h["kid"] = "unknown-kid"; c["jti"] = fmt.Sprint(i) }))
		assert.ErrorIs(t, err, apiauth.ErrInvalidToken)
	}
	assert.Equal(t, 3, srv.RequestCount(logtotest.EndpointJWKS), "no refetch within the cooldown")
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointDiscovery))
}

func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	srv := logtotest.NewServer(t)
	v := newVerifier(t, srv, func(c *apiauth.Config) { c.CacheSize = 3 })
	for i := 0; i < 10; i++ {
		_, err := v.Verify(ctx, accessToken(srv, func(h, c map[string]any) { c["jti"] = fmt.Sprint(i) }))
		require.NoError(t, err)
		assert.LessOrEqual(t, v.CacheLen(), 3)
	}
}

// TestKeysUnavailableIs503: a failed discovery answers 503; until the
// cooldown has passed every request is answered so without asking Logto
// again (no amplification of forged tokens), then discovery is retried.
func TestKeysUnavailableIs503(t *testing.T) {
	srv := logtotest.NewServer(t)
	v := newVerifier(t, srv, nil)
	srv.FailNext(logtotest.EndpointDiscovery, http.StatusBadGateway, "down")
	w := call(protected(v), "Bearer "+accessToken(srv, nil))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	for i := 0; i < 10; i++ {
		_, err := v.Verify(context.Background(), accessToken(srv, func(h, c map[string]any) { c["jti"] = fmt.Sprint(i) }))
		require.ErrorIs(t, err, apiauth.ErrUnavailable)
	}
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointDiscovery), "no retry within the cooldown")
	srv.Advance(time.Minute)
	_, err := v.Verify(context.Background(), accessToken(srv, nil))
	require.NoError(t, err, "retried after the cooldown")
	assert.Equal(t, 2, srv.RequestCount(logtotest.EndpointDiscovery))
}

func TestNewVerifierValidates(t *testing.T) {
	for _, cfg := range []apiauth.Config{
		{Audience: api},
		{Endpoint: "http://logto.example.com", Audience: api},
		{Endpoint: "https://t.logto.app"},
		{Endpoint: "https://t.logto.app?x", Audience: api},
	} {
		_, err := apiauth.NewVerifier(cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	_, err := apiauth.NewVerifier(apiauth.Config{Endpoint: "http://logto.internal", Audience: api, InsecureAllowHTTP: true})
	assert.NoError(t, err)
}

func TestErrorTypes(t *testing.T) {
	srv := logtotest.NewServer(t)
	v := newVerifier(t, srv, nil)
	_, err := v.Verify(context.Background(), accessToken(srv, func(h, c map[string]any) { c["scope"] = "" }), apiauth.RequireScopes("read:data"))
	var e *apiauth.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "insufficient_scope", e.Code)
	assert.Equal(t, []string{"read:data"}, e.Scope)
	assert.ErrorIs(t, err, apiauth.ErrInsufficientScope)
	assert.NotErrorIs(t, err, apiauth.ErrInvalidToken)
	_, err = v.Verify(context.Background(), strings.Repeat("a", apiauth.MaxTokenBytes+1))
	assert.ErrorIs(t, err, apiauth.ErrInvalidToken)
}

// TestJSONSerializationRefused: an access token is a compact JWS (RFC
// 9068). The same signed content in the JWS JSON serialization is refused
// even though its signature is genuine.
func TestJSONSerializationRefused(t *testing.T) {
	srv := logtotest.NewServer(t)
	v := newVerifier(t, srv, nil)
	parts := strings.Split(accessToken(srv, nil), ".")
	asJSON := `{"protected":"` + parts[0] + `","payload":"` + parts[1] + `","signature":"` + parts[2] + `"}`
	_, err := v.Verify(context.Background(), asJSON)
	assert.ErrorIs(t, err, apiauth.ErrInvalidToken)
	_, err = v.Verify(context.Background(), strings.Join(parts, "."))
	assert.NoError(t, err, "the compact form of the same token is fine")
}
