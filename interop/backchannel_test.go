package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/backchannel"
	"github.com/gologto/logto/logtohttp"
)

// backchannelConfigured reports whether the provider was started with a
// back-channel logout URI for web-app: its ID tokens then carry sid.
func backchannelConfigured() bool { return os.Getenv("BACKCHANNEL_LOGOUT_URI") != "" }

// backchannelReceiver returns the address to listen on for the provider's
// logout tokens (INTEROP_BACKCHANNEL_ADDR) and the path of
// BACKCHANNEL_LOGOUT_URI. Without them the test is skipped, or fails on
// CI, like endpoint.
func backchannelReceiver(t *testing.T) (addr, path string) {
	t.Helper()
	addr = os.Getenv("INTEROP_BACKCHANNEL_ADDR")
	uri := os.Getenv("BACKCHANNEL_LOGOUT_URI")
	if addr == "" || uri == "" {
		msg := "INTEROP_BACKCHANNEL_ADDR and BACKCHANNEL_LOGOUT_URI are not both set: run the suite with `bash .ci/interop.sh`, which picks a port for the back-channel logout receiver"
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(uri)
	require.NoError(t, err, "BACKCHANNEL_LOGOUT_URI")
	require.Equalf(t, addr, u.Host, "BACKCHANNEL_LOGOUT_URI %s must point at INTEROP_BACKCHANNEL_ADDR %s", uri, addr)
	return addr, u.EscapedPath()
}

// logoutDelivery is one POST the provider made to the back-channel logout
// URI, and how the handler answered it.
type logoutDelivery struct {
	token  string // the logout_token form field
	status int
	body   string
}

// logoutReceiver listens on the back-channel logout URI with a
// backchannel.Handler and records both the POSTs and the logouts the
// handler accepted.
type logoutReceiver struct {
	handler *backchannel.Handler

	mu         sync.Mutex
	deliveries []logoutDelivery
	logouts    []logoutEvent
}

// logoutEvent is one call of the handler's OnLogout.
type logoutEvent struct{ sub, sid string }

// startLogoutReceiver serves the handler at addr+path until the test
// ends. onLogout runs after the event is recorded; configure, if given,
// adjusts the handler's configuration.
func startLogoutReceiver(t *testing.T, addr, path string, onLogout func(ctx context.Context, sub, sid string) error, configure ...func(*backchannel.Config)) *logoutReceiver {
	t.Helper()
	rcv := &logoutReceiver{}
	cfg := backchannel.Config{
		Endpoint: endpoint(t),
		AppId:    webAppID,
		OnLogout: func(ctx context.Context, sub, sid string) error {
			rcv.mu.Lock()
			rcv.logouts = append(rcv.logouts, logoutEvent{sub, sid})
			rcv.mu.Unlock()
			return onLogout(ctx, sub, sid)
		},
	}
	for _, c := range configure {
		c(&cfg)
	}
	h, err := backchannel.NewHandler(cfg)
	require.NoError(t, err)
	rcv.handler = h

	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		r.Body = io.NopCloser(bytes.NewReader(raw))
		form, _ := url.ParseQuery(string(raw))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		rcv.mu.Lock()
		rcv.deliveries = append(rcv.deliveries, logoutDelivery{token: form.Get("logout_token"), status: rec.Code, body: rec.Body.String()})
		rcv.mu.Unlock()
	})
	ln, err := net.Listen("tcp", addr)
	require.NoErrorf(t, err, "listen on INTEROP_BACKCHANNEL_ADDR %s", addr)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return rcv
}

// waitDeliveries waits (at most 5 s) until n POSTs arrived and returns
// them.
func (r *logoutReceiver) waitDeliveries(t *testing.T, n int) []logoutDelivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]logoutDelivery(nil), r.deliveries...)
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			require.Lenf(t, got, n, "back-channel logout POSTs received within 5 s")
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *logoutReceiver) events() []logoutEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]logoutEvent(nil), r.logouts...)
}

// endProviderSession opens endSessionURL in b, POSTs the logout form
// (xsrf + logout=yes, which ends the whole OP session) and requires the
// redirect to the post-logout URI.
func endProviderSession(t *testing.T, b *browser, endSessionURL string) {
	t.Helper()
	resp, err := b.client.Get(endSessionURL)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equalf(t, http.StatusOK, resp.StatusCode, "end-session page: %s", page)
	action, fields := logoutForm(t, string(page))
	require.Equal(t, "yes", fields.Get("logout"))
	resp, err = b.client.PostForm(action, fields)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equalf(t, http.StatusSeeOther, resp.StatusCode, "logout confirm: %s", body)
	assert.Equal(t, postLogoutURI, resp.Header.Get("Location"))
}

// logoutTokenHeader returns the protected header of a logout token.
func logoutTokenHeader(t *testing.T, token string) jose.Header {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES384})
	require.NoError(t, err)
	require.Len(t, jws.Signatures, 1)
	return jws.Signatures[0].Protected
}

// appTransport serves requests for the app's origin (appHost) with app,
// in process, and sends the others on to the provider. A browser using it
// talks to a logtohttp application at the registered redirect URI.
type appTransport struct {
	app  http.Handler
	next http.RoundTripper
}

func (a appTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != appHost {
		return a.next.RoundTrip(r)
	}
	in := r.Clone(r.Context())
	in.RequestURI = r.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:1"
	in.Host = appHost
	rec := httptest.NewRecorder()
	a.app.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// appGet sends one GET with b's cookies, without following redirects.
func appGet(t *testing.T, b *browser, rawURL string) *http.Response {
	t.Helper()
	c := *b.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(rawURL)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestBackchannelLogout: when the OP session ends, the provider POSTs a
// logout token to web-app's back-channel logout URI, and a
// backchannel.Handler verifies it and ends the application's sessions of
// the user. Tests that listen on INTEROP_BACKCHANNEL_ADDR run one after
// the other (none is parallel).
func TestBackchannelLogout(t *testing.T) {
	ctx := context.Background()
	iss := issuer(t)
	addr, path := backchannelReceiver(t)

	// The application: logtohttp with server-side sessions, whose
	// EndUserSessions is the back-channel logout hook.
	store := logtohttp.NewMemorySessionStore(0, 0)
	sessions, err := logtohttp.NewServerSessions(store, logtohttp.CookieOptions{})
	require.NoError(t, err)
	rcv := startLogoutReceiver(t, addr, path, sessions.EndUserSessions)

	t.Run("sign-out of web-app", func(t *testing.T) {
		// The SDK alone: alice signs in with web-app; its sign-out ends
		// the OP session, and the provider tells web-app's back channel.
		client := newClient(t, webConfig(t), nil)
		b := newBrowser(t)
		signIn(t, client, b, logto.SignInOptions{LoginHint: "alice"})
		idc, err := client.GetIdTokenClaims(ctx)
		require.NoError(t, err)
		require.NotEmpty(t, idc.SID, "web-app has a back-channel logout URI with session_required: its ID token carries sid")

		before := len(rcv.events())
		endSession, err := client.SignOut(ctx, postLogoutURI)
		require.NoError(t, err)
		endProviderSession(t, b, endSession)

		d := rcv.waitDeliveries(t, 1)[0]
		assert.Equalf(t, http.StatusOK, d.status, "the handler refused the provider's logout token: %s", d.body)
		ev := rcv.events()
		require.Len(t, ev, before+1)
		assert.Equal(t, logoutEvent{sub: aliceID, sid: idc.SID}, ev[before])

		// The logout token as Back-Channel Logout 1.0 defines it.
		h := logoutTokenHeader(t, d.token)
		assert.Equal(t, "logout+jwt", h.ExtraHeaders[jose.HeaderType])
		assert.Equal(t, "ES384", h.Algorithm)
		var claims map[string]any
		jws, err := jose.ParseSignedCompact(d.token, []jose.SignatureAlgorithm{jose.ES384})
		require.NoError(t, err)
		payload, err := jws.Verify(jwks(t))
		require.NoError(t, err, "signed with the provider's key")
		require.NoError(t, json.Unmarshal(payload, &claims))
		assert.Equal(t, iss, claims["iss"])
		assert.Equal(t, webAppID, claims["aud"])
		assert.Equal(t, aliceID, claims["sub"])
		assert.Equal(t, idc.SID, claims["sid"])
		assert.NotEmpty(t, claims["jti"])
		assert.Equal(t, map[string]any{backchannel.EventType: map[string]any{}}, claims["events"])
		assert.NotContains(t, claims, "nonce")
		keys := make([]string, 0, len(claims))
		for k := range claims {
			keys = append(keys, k)
		}
		assert.ElementsMatch(t, []string{"iss", "aud", "iat", "exp", "jti", "sub", "sid", "events"}, keys)

		// The handler's own verification agrees, and a replay is refused.
		c, err := rcv.handler.Verify(ctx, d.token)
		require.NoError(t, err)
		assert.Equal(t, aliceID, c.Subject)
		assert.Equal(t, idc.SID, c.SessionID)
		err = rcv.handler.Handle(ctx, d.token)
		assert.ErrorIs(t, err, backchannel.ErrInvalidLogoutToken, "the jti was used")
		assert.Len(t, rcv.events(), before+1, "no second OnLogout")
	})

	t.Run("server session ended by a sign-out elsewhere", func(t *testing.T) {
		// alice signs in to a logtohttp web-app (server-side session),
		// then to spa-app in the same browser, and signs out of spa-app.
		// Ending the OP session sends web-app a logout token, and the
		// application's session of that browser ends.
		rcv.mu.Lock()
		rcv.deliveries = nil
		rcv.mu.Unlock()
		before := len(rcv.events())

		clock := &testClock{} // the SDK's only: the provider keeps real time
		client := newClient(t, webConfig(t), nil, logto.WithClock(clock.now))
		auth, err := logtohttp.New(logtohttp.Config{Client: client, Sessions: sessions, BaseURL: "http://" + appHost})
		require.NoError(t, err)
		mux := http.NewServeMux()
		auth.Routes(mux)
		mux.Handle("GET /me", auth.RequireAuth(logtohttp.AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := logtohttp.IdTokenClaims(r.Context())
			idToken, _ := auth.Client(r).GetIdToken(r.Context())
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject, "sid": c.SID, "id_token": idToken})
		})))
		// A route that refreshes: the new ID token replaces the one in the
		// server session, whose record must keep the sid.
		mux.Handle("GET /refresh", auth.Sessions(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := auth.Client(r).GetAccessToken(r.Context(), apiResource); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})))
		b := newBrowser(t)
		b.client.Transport = appTransport{app: mux, next: http.DefaultTransport}
		app := "http://" + appHost

		// Sign-in through the application.
		resp := appGet(t, b, app+"/sign-in?login_hint=alice")
		require.Equal(t, http.StatusFound, resp.StatusCode)
		authURL := resp.Header.Get("Location")
		require.True(t, strings.HasPrefix(authURL, iss+"/auth?"), authURL)
		w := b.authorize(t, authURL)
		assert.Equal(t, 2, w.interactions(), w.visited)
		resp = appGet(t, b, w.callback)
		body, _ := io.ReadAll(resp.Body)
		require.Equalf(t, http.StatusFound, resp.StatusCode, "callback: %s", body)
		assert.Equal(t, "/", resp.Header.Get("Location"))

		resp = appGet(t, b, app+"/me")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var me map[string]string
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&me))
		assert.Equal(t, aliceID, me["sub"])
		require.NotEmpty(t, me["sid"], "the ID token in the server session carries sid")
		assert.Equal(t, 1, store.Len(), "one server session")

		// A refresh while the session's ID token is fresh keeps it; once it
		// is due for renewal (30 s before its exp on the SDK's clock), a
		// refresh stores the new one (same sid: oidc-provider copies it
		// from the refresh token) in the same server session.
		sessionIDToken := func() map[string]string {
			t.Helper()
			resp := appGet(t, b, app+"/refresh")
			body, _ := io.ReadAll(resp.Body)
			require.Equalf(t, http.StatusNoContent, resp.StatusCode, "refresh: %s", body)
			resp = appGet(t, b, app+"/me")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var got map[string]string
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
			return got
		}
		after := sessionIDToken()
		assert.Equal(t, me["id_token"], after["id_token"], "a fresh ID token is kept")
		clock.advance(time.Duration(idTokenTTL(t))*time.Second - 30*time.Second)
		after = sessionIDToken()
		assert.NotEqual(t, me["id_token"], after["id_token"], "a new ID token in the session")
		assert.Equal(t, me["sid"], after["sid"], "with the same sid")
		assert.Equal(t, 1, store.Len(), "still one server session")

		// Another application in the same browser: consent only.
		spa := newClient(t, spaConfig(t), nil)
		ws := signIn(t, spa, b, logto.SignInOptions{})
		assert.Equal(t, 1, ws.interactions(), ws.visited)
		endSession, err := spa.SignOut(ctx, postLogoutURI)
		require.NoError(t, err)
		endProviderSession(t, b, endSession)

		d := rcv.waitDeliveries(t, 1)[0]
		assert.Equalf(t, http.StatusOK, d.status, "the handler refused the provider's logout token: %s", d.body)
		ev := rcv.events()
		require.Len(t, ev, before+1)
		assert.Equal(t, logoutEvent{sub: aliceID, sid: me["sid"]}, ev[before], "web-app's sid, though spa-app signed out")

		// The application's session of this browser is gone.
		assert.Zero(t, store.Len(), "EndUserSessions deleted the server session")
		resp = appGet(t, b, app+"/me")
		body, _ = io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.JSONEq(t, `{"error":"Not authenticated"}`, string(body))
	})
}
