package backchannel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/backchannel"
	"github.com/gologto/logto/logtohttp"
	"github.com/gologto/logto/logtotest"
)

// sessionApp is a web app with logtohttp server sessions whose
// back-channel logout handler ends the user's sessions, signed in to a
// fake Logto by a cookie-jar browser.
type sessionApp struct {
	srv     *logtotest.Server
	base    string
	jar     http.CookieJar
	browser *http.Client

	mu   sync.Mutex
	sids []string // sid of every logout token handled
}

// newSessionApp starts the app and its provider.
func newSessionApp(t *testing.T) *sessionApp {
	t.Helper()
	a := &sessionApp{srv: logtotest.NewServer(t)}
	app := httptest.NewUnstartedServer(nil)
	a.base = "http://" + app.Listener.Addr().String()
	a.srv.AddApp(logtotest.App{
		ID: "web-app", Secret: "s", Type: logtotest.AppTraditional,
		RedirectURIs: []string{a.base + "/callback"}, BackchannelLogoutURI: a.base + "/backchannel-logout",
		// sid is in ID and logout tokens only when the app requires the
		// logout session, as in Logto.
		BackchannelLogoutSessionRequired: true,
	})
	a.srv.AddUser(logtotest.User{ID: "u1", Name: "Ada"})
	a.srv.SetAutoLogin("u1")

	client, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: a.srv.URL(), AppId: "web-app", AppSecret: "s"}, nil)
	require.NoError(t, err)
	sessions, err := logtohttp.NewServerSessions(logtohttp.NewMemorySessionStore(0, 0), logtohttp.CookieOptions{})
	require.NoError(t, err)
	auth, err := logtohttp.New(logtohttp.Config{Client: client, Sessions: sessions, BaseURL: a.base})
	require.NoError(t, err)
	logout, err := backchannel.NewHandler(backchannel.Config{Endpoint: a.srv.URL(), AppId: "web-app",
		OnLogout: func(ctx context.Context, sub, sid string) error {
			a.mu.Lock()
			a.sids = append(a.sids, sid)
			a.mu.Unlock()
			return sessions.EndUserSessions(ctx, sub, sid)
		}})
	require.NoError(t, err)

	mux := http.NewServeMux()
	auth.Routes(mux)
	mux.Handle("POST /backchannel-logout", logout)
	mux.Handle("GET /{$}", auth.RequireAuth(logtohttp.AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := logtohttp.IdTokenClaims(r.Context())
		_, _ = io.WriteString(w, "hello "+c.Subject+" "+c.SID)
	})))
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "bye") })
	app.Config.Handler = mux
	app.Start()
	t.Cleanup(app.Close)

	a.jar, err = cookiejar.New(nil)
	require.NoError(t, err)
	a.browser = &http.Client{Jar: a.jar}
	return a
}

// get fetches u with the browser and returns the response and its body.
func (a *sessionApp) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := a.browser.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn signs u1 in to the app and returns the sid of its ID token.
func (a *sessionApp) signIn(t *testing.T) string {
	t.Helper()
	_, body := a.get(t, a.base+"/sign-in")
	require.True(t, strings.HasPrefix(body, "hello u1 "), body)
	return strings.TrimPrefix(body, "hello u1 ")
}

// TestEndsServerSessions wires the handler to logtohttp's server-side
// sessions: after Logto's logout token arrives, the user's browser session
// in the app is signed out.
func TestEndsServerSessions(t *testing.T) {
	a := newSessionApp(t)
	a.signIn(t)
	require.NoError(t, a.srv.SendBackchannelLogout("web-app", "u1", ""))
	resp, _ := a.get(t, a.base+"/")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the app session ended with Logto's")
}

// TestSignOutElsewhereEndsServerSessions: the user signs in to the app and,
// in the same browser, to another app; signing out of the other app ends
// the provider session, whose logout token (with the app's own sid) ends
// the app's session too.
func TestSignOutElsewhereEndsServerSessions(t *testing.T) {
	a := newSessionApp(t)
	base := a.base
	a.srv.AddApp(logtotest.App{ID: "other-app", Secret: "o", RedirectURIs: []string{"http://other.example/cb"},
		PostLogoutRedirectURIs: []string{base + "/signed-out"}})
	srv, browser, get := a.srv, a.browser, func(u string) (*http.Response, string) { return a.get(t, u) }
	appSid := a.signIn(t)
	require.NotEmpty(t, appSid, "web-app's ID token carries its sid")

	// The other app signs in through the same provider session (the
	// browser's session cookie), then signs out of it.
	noFollow := &http.Client{Jar: a.jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.Issuer() + "/auth?" + url.Values{"client_id": {"other-app"}, "redirect_uri": {"http://other.example/cb"},
		"response_type": {"code"}, "scope": {"openid"}, "prompt": {"none"}}.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	require.Contains(t, resp.Header.Get("Location"), "code=", "prompt=none succeeds in the browser's session")

	_, page := get(srv.Issuer() + "/session/end?" + url.Values{"client_id": {"other-app"}, "post_logout_redirect_uri": {base + "/signed-out"}}.Encode())
	m := regexp.MustCompile(`<form id="op\.logoutForm"[^>]* action="([^"]+)"><input type="hidden" name="xsrf" value="([^"]+)"/><input type="hidden" name="logout" value="yes"/>`).FindStringSubmatch(page)
	require.NotNil(t, m, page)
	resp, err = browser.PostForm(m[1], url.Values{"xsrf": {m[2]}, "logout": {"yes"}})
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "bye", string(b))

	a.mu.Lock()
	assert.Equal(t, []string{appSid}, a.sids, "one logout token, with web-app's sid")
	a.mu.Unlock()
	resp, _ = get(base + "/")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the app session ended with Logto's")
}
