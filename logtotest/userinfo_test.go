package logtotest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUserInfo(t *testing.T) {
	srv := newFixture(t)
	body := signIn(t, srv, "u-alice", fullScope, url.Values{"resource": {apiA}})
	at := str(body["access_token"])

	status, _, claims := getJSON(t, srv.Issuer()+"/me", at)
	require.Equal(t, http.StatusOK, status, claims)
	want := map[string]any{
		"sub": "u-alice", "name": "Alice Liddell", "username": "alice", "email": "alice@example.com",
		"email_verified": true, "phone_number": "+15550100", "given_name": "Alice",
		"created_at": float64(1_700_000_000_123), "custom_data": map[string]any{"plan": "pro"},
		"identities":         map[string]any{"google": map[string]any{"userId": "g-1", "details": map[string]any{"email": "alice@gmail.com"}}},
		"sso_identities":     []any{},
		"roles":              []any{"reader"},
		"organizations":      []any{"org1"},
		"organization_roles": []any{"org1:member"},
		"organization_data":  []any{map[string]any{"id": "org1", "name": "Acme", "description": "The Acme org"}},
		"address":            map[string]any{"country": "UK"},
		"tier":               "gold",
	}
	for k, v := range want {
		assert.Equal(t, v, claims[k], k)
	}

	// POST with the token in the body.
	status, post := postForm(t, srv, "/oidc/me", url.Values{"access_token": {at}}, "", "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, claims, post)

	// Minimal scope: sub only (plus Extra).
	min := signIn(t, srv, "u-bob", "openid", nil)
	_, _, claims = getJSON(t, srv.Issuer()+"/me", str(min["access_token"]))
	assert.Equal(t, map[string]any{"sub": "u-bob"}, claims)
}

func TestUserInfoErrors(t *testing.T) {
	srv := newFixture(t)
	body := signIn(t, srv, "u-alice", "openid offline_access", url.Values{"resource": {apiA}})
	rt := str(body["refresh_token"])
	_, jwt := refresh(t, srv, false, rt, url.Values{"resource": {apiA}})

	tests := []struct {
		name       string
		token      string
		advance    time.Duration
		wantStatus int
		wantErr    string
	}{
		{"JWT access token", str(jwt["access_token"]), 0, 401, "invalid_token"},
		{"unknown token", "not-a-token", 0, 401, "invalid_token"},
		{"missing token", "", 0, 400, "invalid_request"},
		{"expired token", str(body["access_token"]), time.Hour, 401, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Advance(tt.advance)
			status, header, e := getJSON(t, srv.Issuer()+"/me", tt.token)
			assert.Equal(t, tt.wantStatus, status)
			assert.Equal(t, tt.wantErr, e["error"])
			assert.Equal(t, "oidc."+tt.wantErr, e["code"])
			assert.True(t, strings.HasPrefix(header.Get("WWW-Authenticate"), `Bearer error="`+tt.wantErr+`"`), header.Get("WWW-Authenticate"))
		})
	}
}

func TestRevocation(t *testing.T) {
	srv := newFixture(t)

	t.Run("refresh token", func(t *testing.T) {
		body := signIn(t, srv, "u-alice", "openid offline_access", nil)
		rt := str(body["refresh_token"])
		status, _ := postForm(t, srv, "/oidc/token/revocation", url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}}, webID, webSecret)
		require.Equal(t, http.StatusOK, status)
		assert.False(t, srv.RefreshTokenActive(rt))
		status, _ = refresh(t, srv, false, rt, nil)
		assert.Equal(t, http.StatusBadRequest, status)
	})
	t.Run("opaque access token revokes the grant", func(t *testing.T) {
		body := signInSPA(t, srv, "u-alice", "openid offline_access", nil)
		status, _ := postForm(t, srv, "/oidc/token/revocation", url.Values{"token": {str(body["access_token"])}, "client_id": {spaID}}, "", "")
		require.Equal(t, http.StatusOK, status)
		status, _, _ = getJSON(t, srv.Issuer()+"/me", str(body["access_token"]))
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.False(t, srv.RefreshTokenActive(str(body["refresh_token"])))
	})
	t.Run("unknown token", func(t *testing.T) {
		status, _ := postForm(t, srv, "/oidc/token/revocation", url.Values{"token": {"unknown"}}, webID, webSecret)
		assert.Equal(t, http.StatusOK, status)
	})
	t.Run("JWT", func(t *testing.T) {
		status, e := postForm(t, srv, "/oidc/token/revocation", url.Values{"token": {srv.Sign(nil, map[string]any{"sub": "x"})}}, webID, webSecret)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "unsupported_token_type", e["error"])
	})
	t.Run("bad client", func(t *testing.T) {
		status, e := postForm(t, srv, "/oidc/token/revocation", url.Values{"token": {"x"}}, webID, "wrong")
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "invalid_client", e["error"])
	})
}

func TestIntrospection(t *testing.T) {
	srv := newFixture(t)
	body := signIn(t, srv, "u-alice", "openid offline_access profile", url.Values{"resource": {apiA}})
	now := srv.Now().Unix()

	status, got := postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {str(body["access_token"])}}, webID, webSecret)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]any{
		"active": true, "sub": "u-alice", "client_id": webID, "scope": "openid offline_access profile",
		"exp": float64(now + 3600), "iat": float64(now), "iss": srv.Issuer(), "token_type": "Bearer",
	}, got)

	_, got = postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {str(body["refresh_token"])}}, webID, webSecret)
	assert.Equal(t, true, got["active"])
	assert.Equal(t, "refresh_token", got["token_type"])

	_, got = postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {"nope"}}, webID, webSecret)
	assert.Equal(t, map[string]any{"active": false}, got)

	_, got = postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {str(body["access_token"])}, "client_id": {spaID}}, "", "")
	assert.Equal(t, map[string]any{"active": false}, got, "another client's token")

	_, jwt := refresh(t, srv, false, str(body["refresh_token"]), url.Values{"resource": {apiA}})
	status, got = postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {str(jwt["access_token"])}}, webID, webSecret)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "unsupported_token_type", got["error"])
}
