package backchannel_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
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
