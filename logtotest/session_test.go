package logtotest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// endSession performs GET /oidc/session/end with c (noRedirect when nil).
func endSession(t *testing.T, srv *logtotest.Server, c *http.Client, p url.Values) (*http.Response, string) {
	t.Helper()
	if c == nil {
		c = noRedirect
	}
	resp, err := c.Get(srv.Issuer() + "/session/end?" + p.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var (
	logoutFormRE = regexp.MustCompile(`<form id="op\.logoutForm" method="post" action="([^"]+)"><input type="hidden" name="xsrf" value="([0-9a-f]{48})"/><input type="hidden" name="logout" value="yes"/></form>`)
)

// logoutForm returns the action and xsrf of the logout page.
func logoutForm(t *testing.T, page string) (action, xsrf string) {
	t.Helper()
	m := logoutFormRE.FindStringSubmatch(page)
	require.NotNil(t, m, page)
	return m[1], m[2]
}

// confirm posts the logout form with c (noRedirect when nil).
func confirm(t *testing.T, srv *logtotest.Server, c *http.Client, form url.Values) (*http.Response, string) {
	t.Helper()
	if c == nil {
		c = noRedirect
	}
	resp, err := c.PostForm(srv.Issuer()+"/session/end/confirm", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signOut completes a sign-out the way a browser does: the logout page,
// then its form.
func signOut(t *testing.T, srv *logtotest.Server, c *http.Client, p url.Values) *http.Response {
	t.Helper()
	resp, page := endSession(t, srv, c, p)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	_, xsrf := logoutForm(t, page)
	resp, body := confirm(t, srv, c, url.Values{"xsrf": {xsrf}, "logout": {"yes"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	return resp
}

func TestEndSessionPage(t *testing.T) {
	srv := newFixture(t)
	resp, page := endSession(t, srv, nil, url.Values{"client_id": {webID}, "post_logout_redirect_uri": {logoutURI}, "state": {"bye"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	action, _ := logoutForm(t, page)
	assert.Equal(t, srv.Issuer()+"/session/end/confirm", action)
	assert.Contains(t, page, `<script>document.forms['op.logoutForm'].submit();</script>`, "submitted on load")

	// POST renders the same form.
	resp, err := noRedirect.PostForm(srv.Issuer()+"/session/end", url.Values{"client_id": {webID}})
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	logoutForm(t, string(b))
	assert.Equal(t, 2, srv.RequestCount(logtotest.EndpointEndSession))
	assert.Zero(t, srv.RequestCount(logtotest.EndpointEndSessionConfirm))
}

func TestEndSession(t *testing.T) {
	srv := newFixture(t)
	body := signIn(t, srv, "u-alice", "openid offline_access", nil)
	idToken := str(body["id_token"])
	spaToken := str(signInSPA(t, srv, "u-alice", "openid", nil)["id_token"])
	success := srv.Issuer() + "/session/end/success"

	tests := []struct {
		name       string
		params     url.Values
		wantStatus int    // of the page
		wantBody   string // of the page, when not 200
		wantLoc    string // after the form
	}{
		{"redirect with state", url.Values{"client_id": {webID}, "post_logout_redirect_uri": {logoutURI}, "state": {"bye"}}, 200, "", logoutURI + "?state=bye"},
		{"id_token_hint only", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {logoutURI}}, 200, "", logoutURI},
		{"no redirect", url.Values{"client_id": {webID}}, 200, "", success},
		{"nothing", url.Values{}, 200, "", success},
		{"redirect without client is ignored", url.Values{"post_logout_redirect_uri": {logoutURI}}, 200, "", success},
		{"unregistered redirect", url.Values{"client_id": {webID}, "post_logout_redirect_uri": {"http://evil.example/"}}, 400, "post_logout_redirect_uri not registered", ""},
		{"hint of another client", url.Values{"client_id": {webID}, "id_token_hint": {spaToken}}, 400, "client_id does not match the provided id_token_hint", ""},
		{"undecodable hint", url.Values{"id_token_hint": {"abc"}}, 400, "could not decode id_token_hint", ""},
		{"hint without audience", url.Values{"id_token_hint": {"eyJhbGciOiJub25lIn0.e30."}}, 400, "unrecognized id_token_hint audience", ""},
		{"forged hint", url.Values{"id_token_hint": {logtotest.CorruptSignature(idToken)}}, 400, "could not validate id_token_hint", ""},
		{"unknown client", url.Values{"client_id": {"ghost"}}, 400, "invalid_client", ""},
		{"duplicate parameter", url.Values{"client_id": {webID, webID}}, 400, "'client_id' parameter must not be provided twice", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, page := endSession(t, srv, nil, tt.params)
			require.Equal(t, tt.wantStatus, resp.StatusCode, page)
			if tt.wantStatus != http.StatusOK {
				assert.Contains(t, page, tt.wantBody)
				return
			}
			_, xsrf := logoutForm(t, page)
			resp, b := confirm(t, srv, nil, url.Values{"xsrf": {xsrf}, "logout": {"yes"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, b)
			assert.Equal(t, tt.wantLoc, resp.Header.Get("Location"))
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		})
	}
	// Offline refresh tokens survive the logout, as in Logto.
	assert.True(t, srv.RefreshTokenActive(str(body["refresh_token"])))
	status, _, _ := getJSON(t, srv.Issuer()+"/me", str(body["access_token"]))
	assert.Equal(t, http.StatusOK, status, "offline grant keeps its access token")

	// The success page.
	resp, page := browserGet(t, noRedirect, success)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, "You have successfully signed out.")
	resp, _ = browserGet(t, noRedirect, success+"?client_id="+webID)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, page = browserGet(t, noRedirect, success+"?client_id=ghost")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, page, "invalid_client")
}

func TestEndSessionConfirmErrors(t *testing.T) {
	srv := newFixture(t)
	_, page := endSession(t, srv, nil, url.Values{"client_id": {webID}})
	_, xsrf := logoutForm(t, page)
	for name, form := range map[string]url.Values{
		"missing xsrf": {"logout": {"yes"}},
		"wrong xsrf":   {"xsrf": {strings.Repeat("0", 48)}, "logout": {"yes"}},
	} {
		t.Run(name, func(t *testing.T) {
			resp, b := confirm(t, srv, nil, form)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, b, `"error":"invalid_request"`)
			assert.Contains(t, b, "xsrf token invalid")
		})
	}
	resp, _ := confirm(t, srv, nil, url.Values{"xsrf": {xsrf}, "logout": {"yes"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = confirm(t, srv, nil, url.Values{"xsrf": {xsrf}, "logout": {"yes"}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "the form is used up")
	resp, err := noRedirect.Get(srv.Issuer() + "/session/end/confirm")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestServerEndSession(t *testing.T) {
	srv := newFixture(t)
	body := signIn(t, srv, "u-alice", "openid", nil)

	loc, err := srv.EndSession(srv.Issuer() + "/session/end?" + url.Values{
		"id_token_hint": {str(body["id_token"])}, "post_logout_redirect_uri": {logoutURI}, "state": {"s1"},
	}.Encode())
	require.NoError(t, err)
	assert.Equal(t, logoutURI+"?state=s1", loc)
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointEndSession))
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointEndSessionConfirm))
	status, _, _ := getJSON(t, srv.Issuer()+"/me", str(body["access_token"]))
	assert.Equal(t, http.StatusUnauthorized, status, "the session ended with its online grant")

	loc, err = srv.EndSession(srv.Issuer() + "/session/end?client_id=" + webID)
	require.NoError(t, err)
	assert.Equal(t, srv.Issuer()+"/session/end/success", loc)

	_, err = srv.EndSession(srv.Issuer() + "/session/end?client_id=ghost")
	assert.ErrorContains(t, err, "400")
	assert.ErrorContains(t, err, "invalid_client")
	_, err = srv.EndSession(srv.Issuer() + "/auth")
	assert.ErrorContains(t, err, "not an end-session URL")
	srv.FailNext(logtotest.EndpointEndSessionConfirm, http.StatusInternalServerError, "boom")
	_, err = srv.EndSession(srv.Issuer() + "/session/end")
	assert.ErrorContains(t, err, "500 boom")
}

func TestBrowserSessions(t *testing.T) {
	srv := newFixture(t)
	srv.SetAutoLogin("u-alice")
	silent := authParams(webID, "openid")
	silent.Set("prompt", "none")
	a, b := browser(t), browser(t)

	// A fresh browser has no session.
	resp, _ := browserGet(t, a, authURL(srv, silent))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	q := callbackQuery(t, resp)
	assert.Equal(t, "login_required", q.Get("error"))
	assert.Equal(t, "End-User authentication is required", q.Get("error_description"))

	// Browser A signs in: it gets a session cookie, scoped to /oidc.
	resp, _ = browserGet(t, a, authURL(srv, authParams(webID, "openid")))
	require.NotEmpty(t, callbackQuery(t, resp).Get("code"))
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "_session" {
			cookie = c
		}
	}
	require.NotNil(t, cookie)
	assert.Equal(t, "/oidc", cookie.Path)
	assert.True(t, cookie.HttpOnly)

	// prompt=none works in A only, and ignores SetAutoLogin.
	srv.SetAutoLogin("u-bob")
	resp, _ = browserGet(t, a, authURL(srv, silent))
	tok := exchange(t, srv, callbackQuery(t, resp).Get("code"))
	_, claims := verifyJWT(t, srv, str(tok["id_token"]))
	assert.Equal(t, "u-alice", claims["sub"])
	resp, _ = browserGet(t, b, authURL(srv, silent))
	assert.Equal(t, "login_required", callbackQuery(t, resp).Get("error"))

	// B signs in bob; A signs out: only A's session ends.
	resp, _ = browserGet(t, b, authURL(srv, authParams(webID, "openid")))
	require.NotEmpty(t, callbackQuery(t, resp).Get("code"))
	_, page := endSession(t, srv, a, url.Values{"client_id": {webID}})
	_, xsrf := logoutForm(t, page)
	resp, body := confirm(t, srv, nil, url.Values{"xsrf": {xsrf}, "logout": {"yes"}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "A's form needs A's session cookie")
	assert.Contains(t, body, "could not find logout details")
	resp = signOut(t, srv, a, url.Values{"client_id": {webID}})
	assert.Contains(t, strings.Join(resp.Header.Values("Set-Cookie"), "\n"), "_session=;", "the cookie is cleared")
	resp, _ = browserGet(t, a, authURL(srv, silent))
	assert.Equal(t, "login_required", callbackQuery(t, resp).Get("error"))
	resp, _ = browserGet(t, b, authURL(srv, silent))
	assert.NotEmpty(t, callbackQuery(t, resp).Get("code"), "B keeps its session")
}

// TestSidOnlyWhenSessionRequired: as in Logto, ID tokens carry the app's
// sid only for an app with a back-channel logout URI that requires the
// logout session; the sid is one per session and client.
func TestSidOnlyWhenSessionRequired(t *testing.T) {
	srv := newFixture(t)
	rp := httptest.NewServer(&logoutReceiver{})
	t.Cleanup(rp.Close)
	apps := []struct {
		id      string
		uri     string
		require bool
		sid     bool
	}{
		{"bc-1", rp.URL, true, true},
		{"bc-2", rp.URL, true, true},
		{"bc-no-session", rp.URL, false, false},
		{"session-no-uri", "", true, false},
	}
	for _, a := range apps {
		srv.AddApp(logtotest.App{ID: a.id, Secret: "s", RedirectURIs: []string{redirectURI},
			BackchannelLogoutURI: a.uri, BackchannelLogoutSessionRequired: a.require})
	}
	idClaims := func(client, secret string) map[string]any {
		t.Helper()
		code := authorize(t, srv, "u-alice", authParams(client, "openid")).Get("code")
		status, tok := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}, client, secret)
		require.Equal(t, http.StatusOK, status, tok)
		_, claims := verifyJWT(t, srv, str(tok["id_token"]))
		return claims
	}
	for _, a := range apps {
		claims := idClaims(a.id, "s")
		if a.sid {
			assert.Len(t, claims["sid"], 43, a.id)
		} else {
			assert.NotContains(t, claims, "sid", a.id)
		}
	}
	first, second, other := idClaims("bc-1", "s"), idClaims("bc-1", "s"), idClaims("bc-2", "s")
	assert.Equal(t, first["sid"], second["sid"], "one sid per session and client")
	assert.NotEqual(t, first["sid"], other["sid"], "each client has its own sid")
	assert.NotContains(t, idClaims(webID, webSecret), "sid", "no back-channel logout URI, no sid")
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
	assert.Len(t, claims["jti"], 43)
	assert.Equal(t, map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}, claims["events"])
	assert.NotContains(t, claims, "nonce")

	require.NoError(t, srv.SendBackchannelLogout("bc-app", "u-alice", ""))
	_, claims = verifyJWT(t, srv, rec.received()[1])
	assert.NotContains(t, claims, "sid")

	assert.Error(t, srv.SendBackchannelLogout(webID, "u-alice", ""), "no BackchannelLogoutURI")

	// Ending the session notifies the apps that signed in through it, at
	// the confirm step; the token has the app's sid only if the app
	// requires the logout session (bc-session), as in Logto.
	srv.AddApp(logtotest.App{ID: "bc-session", Secret: "s", RedirectURIs: []string{redirectURI},
		BackchannelLogoutURI: rp.URL + "/logout", BackchannelLogoutSessionRequired: true})
	srv.SetAutoLogin("u-bob")
	b := browser(t)
	tokens := map[string]map[string]any{}
	for _, id := range []string{"bc-app", "bc-session"} {
		resp, _ := browserGet(t, b, authURL(srv, authParams(id, "openid")))
		status, tok := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"},
			"code": {callbackQuery(t, resp).Get("code")}, "redirect_uri": {redirectURI}}, id, "s")
		require.Equal(t, http.StatusOK, status, tok)
		tokens[id] = tok
	}
	_, sessionIDClaims := verifyJWT(t, srv, str(tokens["bc-session"]["id_token"]))
	require.Len(t, sessionIDClaims["sid"], 43)
	_, page := endSession(t, srv, b, url.Values{"client_id": {"bc-app"}})
	require.Len(t, rec.received(), 2, "nothing before the form is posted")
	_, xsrf := logoutForm(t, page)
	resp, _ := confirm(t, srv, b, url.Values{"xsrf": {xsrf}, "logout": {"yes"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got := rec.received()[2:]
	require.Len(t, got, 2)
	byApp := map[string]map[string]any{}
	for _, tok := range got {
		_, c := verifyJWT(t, srv, tok)
		byApp[str(c["aud"])] = c
	}
	require.Contains(t, byApp, "bc-app")
	require.Contains(t, byApp, "bc-session")
	assert.Equal(t, "u-bob", byApp["bc-app"]["sub"])
	assert.NotContains(t, byApp["bc-app"], "sid", "session not required: sub alone")
	assert.Equal(t, "u-bob", byApp["bc-session"]["sub"])
	assert.Equal(t, sessionIDClaims["sid"], byApp["bc-session"]["sid"])

	// The online (no offline_access) access token ended with the session.
	status, _, _ := getJSON(t, srv.Issuer()+"/me", str(tokens["bc-app"]["access_token"]))
	assert.Equal(t, http.StatusUnauthorized, status)
}

func TestConfirmWithoutLogoutEndsOnlyTheClient(t *testing.T) {
	srv := newFixture(t)
	rec := &logoutReceiver{}
	rp := httptest.NewServer(rec)
	t.Cleanup(rp.Close)
	for _, id := range []string{"bc-1", "bc-2"} {
		srv.AddApp(logtotest.App{ID: id, Secret: "s", RedirectURIs: []string{redirectURI}, BackchannelLogoutURI: rp.URL})
	}
	srv.SetAutoLogin("u-alice")
	b := browser(t)
	tokens := map[string]map[string]any{}
	for _, id := range []string{"bc-1", "bc-2"} {
		resp, _ := browserGet(t, b, authURL(srv, authParams(id, "openid")))
		status, tok := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"},
			"code": {callbackQuery(t, resp).Get("code")}, "redirect_uri": {redirectURI}}, id, "s")
		require.Equal(t, http.StatusOK, status, tok)
		tokens[id] = tok
	}

	_, page := endSession(t, srv, b, url.Values{"client_id": {"bc-1"}})
	_, xsrf := logoutForm(t, page)
	resp, _ := confirm(t, srv, b, url.Values{"xsrf": {xsrf}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, srv.Issuer()+"/session/end/success?client_id=bc-1", resp.Header.Get("Location"))
	require.Len(t, rec.received(), 1, "only bc-1 is notified")
	_, claims := verifyJWT(t, srv, rec.received()[0])
	assert.Equal(t, "bc-1", claims["aud"])

	status, _, _ := getJSON(t, srv.Issuer()+"/me", str(tokens["bc-1"]["access_token"]))
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _, _ = getJSON(t, srv.Issuer()+"/me", str(tokens["bc-2"]["access_token"]))
	assert.Equal(t, http.StatusOK, status, "bc-2 keeps its part of the session")
	silent := authParams("bc-2", "openid")
	silent.Set("prompt", "none")
	resp, _ = browserGet(t, b, authURL(srv, silent))
	assert.NotEmpty(t, callbackQuery(t, resp).Get("code"), "the session lives on")
}
