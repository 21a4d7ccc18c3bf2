package reallogto

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/backchannel"
)

// logoutReceiver is a loopback back-channel logout URI: it hands every
// logout token to a backchannel.Handler and records the raw tokens and
// the hook's calls.
type logoutReceiver struct {
	srv     *httptest.Server
	handler *backchannel.Handler

	mu     sync.Mutex
	raw    []string
	logout []logoutCall
	status []int
}

type logoutCall struct{ sub, sid string }

// newLogoutReceiver listens on 127.0.0.1 (a free port) before the app is
// registered; the handler is set by setApp once the app id is known.
func newLogoutReceiver(t *testing.T) *logoutReceiver {
	t.Helper()
	r := &logoutReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_ = req.ParseForm()
		r.mu.Lock()
		r.raw = append(r.raw, req.PostForm.Get("logout_token"))
		h := r.handler
		r.mu.Unlock()
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rw, req)
		r.mu.Lock()
		r.status = append(r.status, rw.status)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *logoutReceiver) uri() string { return r.srv.URL + "/backchannel-logout" }

func (r *logoutReceiver) setApp(t *testing.T, tg target, a app, cfg backchannel.Config) {
	t.Helper()
	cfg.Endpoint, cfg.AppId = tg.endpoint(), a.ID
	cfg.OnLogout = func(_ context.Context, sub, sid string) error {
		r.mu.Lock()
		r.logout = append(r.logout, logoutCall{sub, sid})
		r.mu.Unlock()
		return nil
	}
	h, err := backchannel.NewHandler(cfg)
	require.NoError(t, err)
	r.mu.Lock()
	r.handler = h
	r.mu.Unlock()
}

func (r *logoutReceiver) calls() ([]logoutCall, []string, []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]logoutCall(nil), r.logout...), append([]string(nil), r.raw...), append([]int(nil), r.status...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// TestBackchannelLogout signs a user out through the end-session URL and
// checks that the provider POSTs a logout token to the app's loopback
// back-channel URI, which backchannel verifies, with sid exactly when the
// app requires the logout session. (The real server runs with
// OIDC_PROVIDER_SSRF_PROTECTION_DISABLED=1, or it would drop loopback
// deliveries silently.)
func TestBackchannelLogout(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		for _, sessionRequired := range []bool{true, false} {
			name := "session required"
			if !sessionRequired {
				name = "session not required"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				u := tg.newUser(t, userSpec{})
				recv := newLogoutReceiver(t)
				a := tg.newApp(t, appSpec{BackchannelLogoutURI: recv.uri(), BackchannelSessionRequired: sessionRequired})
				recv.setApp(t, tg, a, backchannel.Config{})
				c := clientFor(t, tg, a, nil, nil, nil)
				b := newBrowser(t)
				signInClient(t, tg, c, b, u, logto.SignInOptions{})
				claims, err := c.GetIdTokenClaims(ctx)
				require.NoError(t, err)
				if sessionRequired {
					assert.NotEmpty(t, claims.SID, "sid in the ID token")
				} else {
					assert.Empty(t, claims.SID, "no sid in the ID token")
				}

				end, err := c.SignOut(ctx, a.PostLogoutRedirectURI)
				require.NoError(t, err)
				assert.Equal(t, a.PostLogoutRedirectURI, b.endSession(t, end))
				require.Eventually(t, func() bool { calls, _, _ := recv.calls(); return len(calls) > 0 },
					10*time.Second, 50*time.Millisecond, "no logout token arrived")
				calls, raw, status := recv.calls()
				require.Len(t, calls, 1)
				assert.Equal(t, []int{http.StatusOK}, status)
				assert.Equal(t, logoutCall{sub: u.ID, sid: claims.SID}, calls[0])

				// The logout token itself.
				h := jwtPart(t, raw[0], 0)
				assert.Equal(t, "logout+jwt", h["typ"])
				lc := jwtClaims(t, raw[0])
				want := []string{"aud", "events", "exp", "iat", "iss", "jti", "sub"}
				if sessionRequired {
					want = []string{"aud", "events", "exp", "iat", "iss", "jti", "sid", "sub"}
				}
				assert.Equal(t, want, keys(lc))
				assert.Equal(t, a.ID, lc["aud"])
				assert.Equal(t, tg.issuer(), lc["iss"])
				assert.Equal(t, map[string]any{backchannel.EventType: map[string]any{}}, lc["events"])
				assert.Equal(t, int64(120), numeric(t, lc, "exp")-numeric(t, lc, "iat"))

				// Delivered again, the same token is refused (jti replay).
				second := newLogoutReceiver(t)
				second.setApp(t, tg, a, backchannel.Config{})
				second.mu.Lock()
				h2 := second.handler
				second.mu.Unlock()
				_, err = h2.Verify(ctx, raw[0])
				require.NoError(t, err, "another handler verifies it")
				recv.mu.Lock()
				h1 := recv.handler
				recv.mu.Unlock()
				assert.ErrorIs(t, h1.Handle(ctx, raw[0]), backchannel.ErrInvalidLogoutToken, "replayed")
			})
		}
	})
}
