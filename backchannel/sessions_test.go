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

// TestEndsServerSessions wires the handler to logtohttp's server-side
// sessions: after Logto's logout token arrives, the user's browser session
// in the app is signed out.
func TestEndsServerSessions(t *testing.T) {
	srv := logtotest.NewServer(t)
	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	srv.AddApp(logtotest.App{
		ID: "web-app", Secret: "s", Type: logtotest.AppTraditional,
		RedirectURIs: []string{base + "/callback"}, BackchannelLogoutURI: base + "/backchannel-logout",
	})
	srv.AddUser(logtotest.User{ID: "u1", Name: "Ada"})
	srv.SetAutoLogin("u1")

	client, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: "web-app", AppSecret: "s"}, nil)
	require.NoError(t, err)
	sessions, err := logtohttp.NewServerSessions(logtohttp.NewMemorySessionStore(0, 0), logtohttp.CookieOptions{})
	require.NoError(t, err)
	auth, err := logtohttp.New(logtohttp.Config{Client: client, Sessions: sessions, BaseURL: base})
	require.NoError(t, err)
	logout, err := backchannel.NewHandler(backchannel.Config{Endpoint: srv.URL(), AppId: "web-app", OnLogout: sessions.EndUserSessions})
	require.NoError(t, err)

	mux := http.NewServeMux()
	auth.Routes(mux)
	mux.Handle("POST /backchannel-logout", logout)
	mux.Handle("GET /{$}", auth.RequireAuth(logtohttp.AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := logtohttp.IdTokenClaims(r.Context())
		_, _ = io.WriteString(w, "hello "+c.Subject)
	})))
	app.Config.Handler = mux
	app.Start()
	t.Cleanup(app.Close)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(base + "/sign-in")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "hello u1", string(body))

	require.NoError(t, srv.SendBackchannelLogout("web-app", "u1", ""))

	resp, err = browser.Get(base + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the app session ended with Logto's")
}

// TestSignOutElsewhereEndsServerSessions: the user signs in to the app and,
// in the same browser, to another app; signing out of the other app ends
// the provider session, whose logout token (with the app's own sid) ends
// the app's session too.
func TestSignOutElsewhereEndsServerSessions(t *testing.T) {
	srv := logtotest.NewServer(t)
	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	srv.AddApp(logtotest.App{
		ID: "web-app", Secret: "s", Type: logtotest.AppTraditional,
		RedirectURIs: []string{base + "/callback"}, BackchannelLogoutURI: base + "/backchannel-logout",
	})
	srv.AddApp(logtotest.App{ID: "other-app", Secret: "o", RedirectURIs: []string{"http://other.example/cb"},
		PostLogoutRedirectURIs: []string{base + "/signed-out"}})
	srv.AddUser(logtotest.User{ID: "u1", Name: "Ada"})
	srv.SetAutoLogin("u1")

	client, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: "web-app", AppSecret: "s"}, nil)
	require.NoError(t, err)
	sessions, err := logtohttp.NewServerSessions(logtohttp.NewMemorySessionStore(0, 0), logtohttp.CookieOptions{})
	require.NoError(t, err)
	auth, err := logtohttp.New(logtohttp.Config{Client: client, Sessions: sessions, BaseURL: base})
	require.NoError(t, err)
	var (
		mu   sync.Mutex
		sids []string
	)
	logout, err := backchannel.NewHandler(backchannel.Config{Endpoint: srv.URL(), AppId: "web-app",
		OnLogout: func(ctx context.Context, sub, sid string) error {
			mu.Lock()
			sids = append(sids, sid)
			mu.Unlock()
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

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := browser.Get(u)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	_, body := get(base + "/sign-in")
	require.True(t, strings.HasPrefix(body, "hello u1 "), body)
	appSid := strings.TrimPrefix(body, "hello u1 ")
	require.NotEmpty(t, appSid, "web-app's ID token carries its sid")

	// The other app signs in through the same provider session (the
	// browser's session cookie), then signs out of it.
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
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

	mu.Lock()
	assert.Equal(t, []string{appSid}, sids, "one logout token, with web-app's sid")
	mu.Unlock()
	resp, _ = get(base + "/")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the app session ended with Logto's")
}
