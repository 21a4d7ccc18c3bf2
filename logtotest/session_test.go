package logtotest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

func endSession(t *testing.T, srv *logtotest.Server, p url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.Get(srv.Issuer() + "/session/end?" + p.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestEndSession(t *testing.T) {
	srv := newFixture(t)
	body := signIn(t, srv, "u-alice", "openid offline_access", nil)
	idToken := str(body["id_token"])
	spaToken := str(signInSPA(t, srv, "u-alice", "openid", nil)["id_token"])

	tests := []struct {
		name       string
		params     url.Values
		wantStatus int
		wantLoc    string
		wantBody   string
	}{
		{"redirect with state", url.Values{"client_id": {webID}, "post_logout_redirect_uri": {logoutURI}, "state": {"bye"}}, 302, logoutURI + "?state=bye", ""},
		{"id_token_hint only", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {logoutURI}}, 302, logoutURI, ""},
		{"no redirect", url.Values{"client_id": {webID}}, 200, "", "You have successfully signed out."},
		{"unregistered redirect", url.Values{"client_id": {webID}, "post_logout_redirect_uri": {"http://evil.example/"}}, 400, "", "post_logout_redirect_uri"},
		{"redirect without client", url.Values{"post_logout_redirect_uri": {logoutURI}}, 400, "", "post_logout_redirect_uri"},
		{"hint of another client", url.Values{"client_id": {webID}, "id_token_hint": {spaToken}}, 400, "", "id_token_hint"},
		{"forged hint", url.Values{"id_token_hint": {"eyJhbGciOiJub25lIn0.e30."}}, 400, "", "id_token_hint"},
		{"unknown client", url.Values{"client_id": {"ghost"}}, 400, "", "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := endSession(t, srv, tt.params)
			assert.Equal(t, tt.wantStatus, resp.StatusCode, b)
			assert.Equal(t, tt.wantLoc, resp.Header.Get("Location"))
			assert.Contains(t, b, tt.wantBody)
		})
	}
	// Offline refresh tokens survive the logout, as in Logto.
	assert.True(t, srv.RefreshTokenActive(str(body["refresh_token"])))
	// Online access tokens die with the session.
	status, _, _ := getJSON(t, srv.Issuer()+"/me", str(body["access_token"]))
	assert.Equal(t, http.StatusOK, status, "offline grant keeps its access token")
}

// logoutReceiver records logout tokens.
type logoutReceiver struct {
	mu     sync.Mutex
	tokens []string
}

func (l *logoutReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "bad content type", http.StatusBadRequest)
		return
	}
	l.mu.Lock()
	l.tokens = append(l.tokens, r.FormValue("logout_token"))
	l.mu.Unlock()
}

func (l *logoutReceiver) received() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.tokens...)
}

func TestSendBackchannelLogout(t *testing.T) {
	srv := newFixture(t)
	rec := &logoutReceiver{}
	rp := httptest.NewServer(rec)
	t.Cleanup(rp.Close)
	srv.AddApp(logtotest.App{ID: "bc-app", Secret: "s", RedirectURIs: []string{redirectURI}, BackchannelLogoutURI: rp.URL + "/logout"})

	require.NoError(t, srv.SendBackchannelLogout("bc-app", "u-alice", "sid-1"))
	require.Len(t, rec.received(), 1)
	h, claims := verifyJWT(t, srv, rec.received()[0])
	assert.Equal(t, "logout+jwt", h["typ"])
	now := srv.Now().Unix()
	assert.Equal(t, srv.Issuer(), claims["iss"])
	assert.Equal(t, "bc-app", claims["aud"])
	assert.Equal(t, "u-alice", claims["sub"])
	assert.Equal(t, "sid-1", claims["sid"])
	assert.EqualValues(t, now, claims["iat"])
	assert.EqualValues(t, now+120, claims["exp"])
	assert.NotEmpty(t, claims["jti"])
	assert.Equal(t, map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}, claims["events"])
	assert.NotContains(t, claims, "nonce")

	require.NoError(t, srv.SendBackchannelLogout("bc-app", "u-alice", ""))
	_, claims = verifyJWT(t, srv, rec.received()[1])
	assert.NotContains(t, claims, "sid")

	assert.Error(t, srv.SendBackchannelLogout(webID, "u-alice", ""), "no BackchannelLogoutURI")

	// Ending the session notifies the apps that signed in through it.
	p := authParams("bc-app", "openid")
	code := authorize(t, srv, "u-bob", p).Get("code")
	status, tok := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}, "bc-app", "s")
	require.Equal(t, http.StatusOK, status)
	_, idClaims := verifyJWT(t, srv, str(tok["id_token"]))
	resp, _ := endSession(t, srv, url.Values{"id_token_hint": {str(tok["id_token"])}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, rec.received(), 3)
	_, claims = verifyJWT(t, srv, rec.received()[2])
	assert.Equal(t, "u-bob", claims["sub"])
	assert.Equal(t, idClaims["sid"], claims["sid"])

	// The online (no offline_access) access token ended with the session.
	status, _, _ = getJSON(t, srv.Issuer()+"/me", str(tok["access_token"]))
	assert.Equal(t, http.StatusUnauthorized, status)
}
