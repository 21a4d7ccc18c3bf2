package logtotest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
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

	realm := `Bearer realm="` + srv.Issuer() + `"`
	invalid := realm + `, error="invalid_token", error_description="invalid token provided"`
	tests := []struct {
		name          string
		token         string
		advance       time.Duration
		wantStatus    int
		wantErr       string
		wantDesc      string
		wantChallenge string
	}{
		{"JWT access token", str(jwt["access_token"]), 0, 401, "invalid_token", "invalid token provided", invalid},
		{"unknown token", "not-a-token", 0, 401, "invalid_token", "invalid token provided", invalid},
		{"missing token", "", 0, 401, "invalid_token", "no access token provided", realm},
		{"expired token", str(body["access_token"]), time.Hour, 401, "invalid_token", "invalid token provided", invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Advance(tt.advance)
			status, header, e := getJSON(t, srv.Issuer()+"/me", tt.token)
			assert.Equal(t, tt.wantStatus, status)
			assert.Equal(t, tt.wantErr, e["error"])
			assert.Equal(t, tt.wantDesc, e["error_description"])
			assert.Equal(t, "oidc."+tt.wantErr, e["code"])
			assert.Equal(t, tt.wantChallenge, header.Get("WWW-Authenticate"))
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
	t.Run("another client's token is left alone", func(t *testing.T) {
		body := signIn(t, srv, "u-alice", "openid offline_access", nil)
		rt := str(body["refresh_token"])
		status, _ := postForm(t, srv, "/oidc/token/revocation", url.Values{"token": {rt}, "client_id": {spaID}}, "", "")
		assert.Equal(t, http.StatusOK, status, "200, as in oidc-provider")
		assert.True(t, srv.RefreshTokenActive(rt))
		status, _ = refresh(t, srv, false, rt, nil)
		assert.Equal(t, http.StatusOK, status)
	})
	t.Run("empty text/plain answer", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, srv.Issuer()+"/token/revocation", strings.NewReader(url.Values{"token": {"x"}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(webID, webSecret)
		resp, err := noRedirect.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Equal(t, "0", resp.Header.Get("Content-Length"))
		assert.Empty(t, raw)
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
	assert.Equal(t, map[string]any{
		"active": true, "sub": "u-alice", "client_id": webID, "scope": "openid offline_access profile",
		"exp": float64(now + 14*24*3600), "iat": float64(now), "iss": srv.Issuer(),
	}, got, "no token_type for refresh tokens, as in oidc-provider")

	_, got = postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {"nope"}}, webID, webSecret)
	assert.Equal(t, map[string]any{"active": false}, got)

	_, got = postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {str(body["access_token"])}, "client_id": {spaID}}, "", "")
	assert.Equal(t, map[string]any{"active": false}, got, "a public client reads only its own tokens")

	// A confidential client, such as an API server's machine-to-machine
	// app, reads every app's tokens (oidc-provider's default policy).
	_, got = postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {str(body["access_token"])}}, m2mID, m2mSecret)
	assert.Equal(t, map[string]any{
		"active": true, "sub": "u-alice", "client_id": webID, "scope": "openid offline_access profile",
		"exp": float64(now + 3600), "iat": float64(now), "iss": srv.Issuer(), "token_type": "Bearer",
	}, got, "another app's token, read by a confidential app")

	_, jwt := refresh(t, srv, false, str(body["refresh_token"]), url.Values{"resource": {apiA}})
	status, got = postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {str(jwt["access_token"])}}, webID, webSecret)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "unsupported_token_type", got["error"])

	// Tokens of an app that requires the logout session carry the ID
	// tokens' sid; those of an app with only a back-channel logout URI
	// carry none.
	for _, required := range []bool{true, false} {
		id := fmt.Sprintf("bc-app-%t", required)
		srv.AddApp(logtotest.App{ID: id, Secret: "s", RedirectURIs: []string{redirectURI},
			BackchannelLogoutURI: "http://127.0.0.1:1/logout", BackchannelLogoutSessionRequired: required})
		code := authorize(t, srv, "u-alice", authParams(id, "openid offline_access")).Get("code")
		status, tok := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}, id, "s")
		require.Equal(t, http.StatusOK, status, tok)
		_, idClaims := verifyJWT(t, srv, str(tok["id_token"]))
		for _, kind := range []string{"access_token", "refresh_token"} {
			_, got = postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {str(tok[kind])}}, id, "s")
			assert.Equal(t, true, got["active"], kind)
			if required {
				require.Len(t, idClaims["sid"], 43)
				assert.Equal(t, idClaims["sid"], got["sid"], kind)
			} else {
				assert.NotContains(t, idClaims, "sid")
				assert.NotContains(t, got, "sid", kind)
			}
		}
	}
}
