package reallogto

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtohttp"
)

// TestLogtoHTTP runs a real net/http application with logtohttp, once with
// cookie sessions and once with server sessions, and a browser with a
// cookie jar that signs in through the provider: RequireAuth redirects to
// sign-in, the callback lands on the protected page, the user info and an
// API token come from the session, and sign-out ends it.
func TestLogtoHTTP(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		for _, kind := range []string{"cookie sessions", "server sessions"} {
			t.Run(kind, func(t *testing.T) {
				u := tg.newUser(t, userSpec{Email: true, APIScopes: []string{readData}})
				// The app's URL must be known before it is registered.
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				base := "http://" + ln.Addr().String()
				a := tg.newApp(t, appSpec{RedirectURI: base + "/callback", PostLogoutRedirectURI: base + "/"})
				client, err := logto.NewLogtoClient(logto.LogtoConfig{
					Endpoint: tg.endpoint(), AppId: a.ID, AppSecret: a.Secret,
					Scopes: []string{logto.ScopeEmail, readData}, Resources: []string{tg.api()},
				}, nil)
				require.NoError(t, err)
				var sessions logtohttp.SessionManager
				if kind == "cookie sessions" {
					sessions, err = logtohttp.NewCookieSessions(logtohttp.CookieOptions{Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}})
				} else {
					sessions, err = logtohttp.NewServerSessions(logtohttp.NewMemorySessionStore(time.Hour, 100), logtohttp.CookieOptions{})
				}
				require.NoError(t, err)
				auth, err := logtohttp.New(logtohttp.Config{Client: client, Sessions: sessions, BaseURL: base})
				require.NoError(t, err)

				mux := http.NewServeMux()
				auth.Routes(mux)
				mux.Handle("/", auth.Sessions(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = w.Write([]byte("home"))
				})))
				mux.Handle("/protected", auth.RequireAuth(logtohttp.AuthOptions{Redirect: true, FetchUserInfo: true})(
					http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						info, _ := logtohttp.UserInfo(r.Context())
						claims, _ := logtohttp.IdTokenClaims(r.Context())
						_ = json.NewEncoder(w).Encode(map[string]string{"sub": info.Subject, "email": info.Email.Get(), "id_sub": claims.Subject})
					})))
				mux.Handle("/api-token", auth.RequireAuth(logtohttp.AuthOptions{})(
					http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						tok, err := auth.Client(r).GetAccessToken(r.Context(), tg.api())
						if err != nil {
							http.Error(w, err.Error(), http.StatusBadGateway)
							return
						}
						_, _ = w.Write([]byte(tok))
					})))
				srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
				srv.Start()
				t.Cleanup(srv.Close)

				b := newBrowser(t)
				// Signed out: the protected page sends the browser to sign-in,
				// which sends it to the provider.
				p := b.get(base + "/protected")
				require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "%s", p)
				assert.True(t, strings.HasPrefix(p.location, base+"/sign-in"), p.location)
				p = b.get(p.location)
				require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "%s", p)
				assert.True(t, strings.HasPrefix(p.location, tg.issuer()+"/auth?"), p.location)
				cb := tg.signIn(t, b, p.location, u)
				assert.True(t, strings.HasPrefix(cb, base+"/callback?"), cb)
				p = b.get(cb)
				require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "%s", p)
				assert.Equal(t, base+"/protected", p.location, "back where the user wanted to go")

				p = b.get(base + "/protected")
				require.Equal(t, http.StatusOK, p.status, "%s", p)
				assert.JSONEq(t, mustJSON(map[string]string{"sub": u.ID, "email": u.Email, "id_sub": u.ID}), string(p.body))
				p = b.get(base + "/api-token")
				require.Equal(t, http.StatusOK, p.status, "%s", p)
				assert.Equal(t, tg.api(), jwtClaims(t, string(p.body))["aud"])
				assert.Equal(t, readData, jwtClaims(t, string(p.body))["scope"])
				p = b.get(base + "/api-token")
				require.Equal(t, http.StatusOK, p.status, "%s", p)
				assert.Empty(t, p.header.Values("Set-Cookie"), "a cached token changes nothing")

				// Sign-out: the provider's end-session page, then home.
				p = b.get(base + "/sign-out")
				require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "%s", p)
				eu, err := url.Parse(p.location)
				require.NoError(t, err)
				assert.Equal(t, tg.issuer()+"/session/end", eu.Scheme+"://"+eu.Host+eu.Path)
				assert.Equal(t, base+"/", b.endSession(t, p.location))
				p = b.get(base + "/protected")
				assert.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "signed out: %s", p)
				p = b.get(base + "/api-token")
				assert.Equal(t, http.StatusUnauthorized, p.status)
				assert.JSONEq(t, `{"error":"Not authenticated"}`, string(p.body))
			})
		}
	})
}
