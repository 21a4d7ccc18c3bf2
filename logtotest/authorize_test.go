package logtotest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// getAuth performs GET /oidc/auth without following redirects.
func getAuth(t *testing.T, srv *logtotest.Server, p url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.Get(authURL(srv, p))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestAuthorizeRedirectsWithCode(t *testing.T) {
	srv := newFixture(t)
	srv.SetAutoLogin("u-alice")

	p := authParams(webID, "openid profile")
	p.Set("redirect_uri", redirectURI+"?tenant=t1")
	p.Set("interaction_mode", "signUp")
	p.Set("first_screen", "register")
	p.Set("ui_locales", "fr")
	resp, _ := getAuth(t, srv, p)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "app.example", loc.Host)
	assert.Equal(t, "/callback", loc.Path)
	q := loc.Query()
	assert.Equal(t, "t1", q.Get("tenant"), "existing query is kept")
	assert.Len(t, q.Get("code"), 43)
	assert.Equal(t, "st-1", q.Get("state"))
	assert.Equal(t, srv.Issuer(), q.Get("iss"))

	reqs := srv.Requests(logtotest.EndpointAuth)
	require.Len(t, reqs, 1)
	assert.Equal(t, "register", reqs[0].Form.Get("first_screen"))
	assert.Equal(t, "fr", reqs[0].Form.Get("ui_locales"))
}

func TestAuthorizeErrorRedirects(t *testing.T) {
	srv := newFixture(t)
	srv.SetAutoLogin("u-alice")
	_, challenge := newPKCE()

	tests := []struct {
		name     string
		client   string
		edit     func(url.Values)
		wantErr  string
		wantDesc string
	}{
		{"nonce without openid", webID, func(p url.Values) {
			p.Set("scope", "profile")
			p.Set("nonce", "n-1")
		}, "invalid_request", "openid scope must be requested when using the nonce parameter"},
		{"bad max_age", webID, func(p url.Values) { p.Set("max_age", "-1") }, "invalid_request", "invalid max_age parameter value"},
		{"max_age=0 with prompt=none", webID, func(p url.Values) {
			p.Set("prompt", "none")
			p.Set("max_age", "0")
		}, "login_required", "login prompt was not resolved"},
		{"unsupported response_type", webID, func(p url.Values) { p.Set("response_type", "bogus") }, "unsupported_response_type", ""},
		{"response_type not allowed", webID, func(p url.Values) { p.Set("response_type", "none") }, "invalid_request", "requested response_type is not allowed for this client"},
		{"public client without PKCE", spaID, func(url.Values) {}, "invalid_request", "PKCE"},
		{"plain PKCE", spaID, func(p url.Values) {
			p.Set("code_challenge", challenge)
			p.Set("code_challenge_method", "plain")
		}, "invalid_request", "code_challenge_method"},
		{"challenge without method", spaID, func(p url.Values) { p.Set("code_challenge", challenge) }, "invalid_request", "code_challenge_method"},
		{"unknown resource", webID, func(p url.Values) { p["resource"] = []string{apiA, "https://unknown.example"} }, "invalid_target", ""},
		{"unknown resource comma-separated", webID, func(p url.Values) { p.Set("resource", apiA+",https://unknown.example") }, "invalid_target", ""},
		{"bad prompt", webID, func(p url.Values) { p.Set("prompt", "select_account") }, "invalid_request", "prompt"},
		{"prompt none combined", webID, func(p url.Values) { p.Set("prompt", "none consent") }, "invalid_request", "prompt"},
		{"duplicate scope", webID, func(p url.Values) { p.Add("scope", "openid") }, "invalid_request", "'scope'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := authParams(tt.client, "openid")
			tt.edit(p)
			resp, _ := getAuth(t, srv, p)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(loc.String(), redirectURI+"?"), loc.String())
			q := loc.Query()
			assert.Equal(t, tt.wantErr, q.Get("error"))
			assert.Contains(t, q.Get("error_description"), tt.wantDesc)
			assert.Equal(t, "st-1", q.Get("state"))
			assert.Equal(t, srv.Issuer(), q.Get("iss"))
			assert.Empty(t, q.Get("code"))
		})
	}
}

func TestAuthorizeRejectsBadClientOrRedirectURI(t *testing.T) {
	srv := newFixture(t)
	srv.SetAutoLogin("u-alice")

	tests := []struct {
		name    string
		edit    func(url.Values)
		wantErr string
	}{
		{"unknown client", func(p url.Values) { p.Set("client_id", "nope") }, "invalid_client"},
		{"missing client", func(p url.Values) { p.Del("client_id") }, "invalid_request"},
		{"m2m client", func(p url.Values) { p.Set("client_id", m2mID) }, "unauthorized_client"},
		{"unregistered redirect", func(p url.Values) { p.Set("redirect_uri", "http://evil.example/cb") }, "invalid_redirect_uri"},
		{"redirect prefix only", func(p url.Values) { p.Set("redirect_uri", redirectURI+"/more") }, "invalid_redirect_uri"},
		{"missing redirect", func(p url.Values) { p.Del("redirect_uri") }, "invalid_request"},
		{"duplicate client_id", func(p url.Values) { p.Add("client_id", webID) }, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := authParams(webID, "openid")
			tt.edit(p)
			resp, body := getAuth(t, srv, p)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Empty(t, resp.Header.Get("Location"))
			var e map[string]any
			require.NoError(t, json.Unmarshal([]byte(body), &e))
			assert.Equal(t, tt.wantErr, e["error"])
			assert.Equal(t, "oidc."+tt.wantErr, e["code"])
			assert.Equal(t, "st-1", e["state"], "rendered errors carry state, like oidc-provider's")
			assert.Equal(t, srv.Issuer(), e["iss"])

			_, err := srv.Authorize(authURL(srv, p), "u-alice")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "400")
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestAuthorizeUserSelection(t *testing.T) {
	srv := newFixture(t)
	p := authParams(webID, "openid")

	// No auto user, no login page, no hint.
	resp, body := getAuth(t, srv, p)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, body, "no user")
	_, err := srv.Authorize(authURL(srv, p), "")
	assert.ErrorContains(t, err, "no user")

	// login_hint naming a username or an ID.
	for _, hint := range []string{"bob", "u-bob"} {
		p.Set("login_hint", hint)
		resp, _ = getAuth(t, srv, p)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		code, _ := url.Parse(resp.Header.Get("Location"))
		tok := exchange(t, srv, code.Query().Get("code"))
		_, claims := verifyJWT(t, srv, str(tok["id_token"]))
		assert.Equal(t, "u-bob", claims["sub"])
	}

	// Authorize's user wins over auto-login and hint.
	srv.SetAutoLogin("u-bob")
	q := authorize(t, srv, "u-alice", p)
	_, claims := verifyJWT(t, srv, str(exchange(t, srv, q.Get("code"))["id_token"]))
	assert.Equal(t, "u-alice", claims["sub"])

	// Unknown user in Authorize.
	_, err = srv.Authorize(authURL(srv, p), "u-nobody")
	assert.ErrorContains(t, err, "u-nobody")
}

// exchange redeems a web-app code.
func exchange(t *testing.T, srv *logtotest.Server, code string) map[string]any {
	t.Helper()
	status, body := postForm(t, srv, "/oidc/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
	}, webID, webSecret)
	require.Equal(t, http.StatusOK, status, body)
	return body
}

func TestAuthorizeSuspendedAndDenied(t *testing.T) {
	srv := newFixture(t)
	srv.UpdateUser("u-bob", func(u *logtotest.User) { u.Suspended = true })
	q := authorize(t, srv, "u-bob", authParams(webID, "openid"))
	assert.Equal(t, "access_denied", q.Get("error"))

	srv.DenyNextAuthorization("access_denied", "User cancelled the sign-in")
	q = authorize(t, srv, "u-alice", authParams(webID, "openid"))
	assert.Equal(t, "access_denied", q.Get("error"))
	assert.Equal(t, "User cancelled the sign-in", q.Get("error_description"))
	assert.Equal(t, "st-1", q.Get("state"))
	assert.Equal(t, srv.Issuer(), q.Get("iss"))

	q = authorize(t, srv, "u-alice", authParams(webID, "openid"))
	assert.NotEmpty(t, q.Get("code"), "the denial is used once")
}

func TestAuthorizePromptNone(t *testing.T) {
	srv := newFixture(t)
	p := authParams(webID, "openid")
	p.Set("prompt", "none")
	q := authorize(t, srv, "u-alice", p)
	assert.Equal(t, "login_required", q.Get("error"))

	authorize(t, srv, "u-alice", authParams(webID, "openid")) // creates a session
	q = authorize(t, srv, "u-alice", p)
	assert.NotEmpty(t, q.Get("code"))
}

func TestAuthorizePOSTWithJSON(t *testing.T) {
	srv := newFixture(t)
	srv.SetAutoLogin("u-alice")
	body, _ := json.Marshal(map[string]any{
		"client_id": webID, "redirect_uri": redirectURI, "response_type": "code",
		"scope": "openid", "state": "js", "resource": []string{apiA, apiB},
	})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.Issuer()+"/auth", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	assert.NotEmpty(t, loc.Query().Get("code"))
	assert.Equal(t, "js", loc.Query().Get("state"))
}
