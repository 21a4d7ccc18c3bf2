package logtohttp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// instances are several "instances" of one application (each its own
// LogtoClient and Handler, so no refresh bookkeeping is shared) behind one
// front server that routes each request to one of them, against one fake
// Logto.
type instances struct {
	t        *testing.T
	idp      *logtotest.Server
	front    *httptest.Server
	handlers []*Handler
	// route picks the instance of a request; round robin by default.
	route  func(r *http.Request) int
	next   atomic.Int64
	served []atomic.Int64
}

// pinHeader names the instance a test request must go to.
const pinHeader = "X-Test-Instance"

func newInstances(t *testing.T, n int, sessions func(i int) SessionManager, idpOpts ...logtotest.Option) *instances {
	t.Helper()
	in := &instances{t: t, idp: logtotest.NewServer(t, idpOpts...), served: make([]atomic.Int64, n)}
	in.route = func(*http.Request) int { return int(in.next.Add(1)-1) % n }
	muxes := make([]*http.ServeMux, n)
	in.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		if v := r.Header.Get(pinHeader); v != "" {
			_, _ = fmt.Sscan(v, &i)
		} else {
			i = in.route(r)
		}
		in.served[i].Add(1)
		muxes[i].ServeHTTP(w, r)
	}))
	t.Cleanup(in.front.Close)
	base := in.front.URL
	in.idp.AddApp(logtotest.App{
		ID: testAppID, Secret: testSecret, Type: logtotest.AppTraditional,
		RedirectURIs: []string{base + "/callback"}, PostLogoutRedirectURIs: []string{base + "/"},
		RefreshTokenRotation: logtotest.RotateAlways,
	})
	in.idp.AddUser(logtotest.User{ID: testUserID, Username: "jane", Email: "jane@example.com"})
	in.idp.SetAutoLogin(testUserID)
	for i := range n {
		client, err := logto.NewLogtoClient(logto.LogtoConfig{
			Endpoint: in.idp.URL(), AppId: testAppID, AppSecret: testSecret,
		}, nil, logto.WithClock(in.idp.Now))
		require.NoError(t, err)
		h, err := New(Config{Client: client, Sessions: sessions(i), BaseURL: base, Logger: discardLogger()})
		require.NoError(t, err)
		h.now = in.idp.Now
		muxes[i] = http.NewServeMux()
		h.Routes(muxes[i])
		muxes[i].HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "home") })
		muxes[i].Handle("/api/", h.RequireAuth(AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, _ := IdTokenClaims(r.Context())
			fmt.Fprintf(w, "instance %d for %s", i, claims.Subject)
		})))
		in.handlers = append(in.handlers, h)
	}
	return in
}

// get sends GET path to the front with cookie, to instance pin (-1: the
// route's choice), and returns the status, body and Set-Cookie values.
func (in *instances) get(path, cookie string, pin int) (int, string, []string) {
	req, err := http.NewRequest(http.MethodGet, in.front.URL+path, nil)
	require.NoError(in.t, err)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if pin >= 0 {
		req.Header.Set(pinHeader, fmt.Sprint(pin))
	}
	resp, err := noRedirects(http.DefaultClient).Do(req)
	require.NoError(in.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Values("Set-Cookie")
}

// signIn signs a browser in through the front (sign-in and callback on
// whichever instances the route picks) and returns its Cookie header.
func (in *instances) signIn() string {
	in.t.Helper()
	jar := (&env{t: in.t}).browser()
	resp, err := jar.Get(in.front.URL + "/sign-in")
	require.NoError(in.t, err)
	resp.Body.Close()
	require.Equal(in.t, http.StatusOK, resp.StatusCode)
	u := resp.Request.URL
	var parts []string
	for _, c := range jar.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "logto_") && !strings.HasSuffix(c.Name, "_pending") {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	require.NotEmpty(in.t, parts, "no session cookie after sign-in")
	return strings.Join(parts, "; ")
}

// refreshRequests returns the refresh_token grants Logto received.
func (in *instances) refreshRequests() []logtotest.Request {
	var out []logtotest.Request
	for _, r := range in.idp.Requests(logtotest.EndpointToken) {
		if r.Form.Get("grant_type") == "refresh_token" {
			out = append(out, r)
		}
	}
	return out
}

// burst sends n concurrent GET path with cookie through the front and
// returns the statuses.
func (in *instances) burst(path, cookie string, n int) []int {
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i], _, _ = in.get(path, cookie, -1)
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// storedRefreshToken returns the refresh token of the record behind the
// session cookie.
func storedRefreshToken(t *testing.T, store SessionStore, cookie string) string {
	t.Helper()
	id := strings.TrimPrefix(cookie, DefaultServerSessionName+"=")
	rec, ok, err := store.Get(context.Background(), storeID(id))
	require.NoError(t, err)
	require.True(t, ok, "no record behind the cookie")
	return rec.Values[logto.StorageKeyRefreshToken]
}

// TestInstancesShareOneRefresh: two instances with server sessions in one
// shared store, every request of one browser at once after its tokens
// expired, alternating between the instances: one refresh request at
// Logto per expiry, the rotated refresh token is the one stored, and the
// grant lives on, with no reuse leeway at Logto (any second use of a
// rotated refresh token would revoke it).
func TestInstancesShareOneRefresh(t *testing.T) {
	store := NewMemorySessionStore(0, 100)
	in := newInstances(t, 2, func(int) SessionManager {
		s, err := NewServerSessions(store, CookieOptions{Keys: [][]byte{testKey}})
		require.NoError(t, err)
		return s
	})
	cookie := in.signIn()
	first := storedRefreshToken(t, store, cookie)
	for wave := 1; wave <= 3; wave++ {
		in.idp.ResetRequests()
		in.idp.Advance(2 * time.Hour) // ID and access tokens expired
		for i, st := range in.burst("/api/x", cookie, 20) {
			require.Equal(t, http.StatusOK, st, "wave %d request %d", wave, i)
		}
		refreshes := in.refreshRequests()
		require.Len(t, refreshes, 1, "wave %d: refresh requests across both instances", wave)
		spent := refreshes[0].Form.Get("refresh_token")
		rt := storedRefreshToken(t, store, cookie)
		assert.NotEqual(t, spent, rt, "wave %d: the rotated refresh token is stored", wave)
		assert.True(t, in.idp.RefreshTokenActive(rt), "wave %d: the stored refresh token is live", wave)
		assert.False(t, in.idp.RefreshTokenActive(spent), "wave %d: the spent one is not", wave)
	}
	assert.NotEqual(t, first, storedRefreshToken(t, store, cookie))
	assert.Positive(t, in.served[0].Load())
	assert.Positive(t, in.served[1].Load())
}

// plainStore hides the SharedSessionStore methods of a memory store: the
// fallback of a store without coordination.
type plainStore struct{ m *MemorySessionStore }

func (p plainStore) Get(ctx context.Context, id string) (SessionRecord, bool, error) {
	return p.m.Get(ctx, id)
}
func (p plainStore) Set(ctx context.Context, id string, rec SessionRecord, ttl time.Duration) error {
	return p.m.Set(ctx, id, rec, ttl)
}
func (p plainStore) Delete(ctx context.Context, id string) error { return p.m.Delete(ctx, id) }

// TestInstancesWithPlainStoreFallBack: a store without coordination works
// as before across instances: each instance refreshes on its own (one
// request per instance at most), which Logto's 3 s reuse interval
// forgives, and the session goes on with a live refresh token.
func TestInstancesWithPlainStoreFallBack(t *testing.T) {
	store := plainStore{NewMemorySessionStore(0, 100)}
	in := newInstances(t, 2, func(int) SessionManager {
		s, err := NewServerSessions(store, CookieOptions{Keys: [][]byte{testKey}})
		require.NoError(t, err)
		return s
	}, logtotest.WithRefreshTokenReuseInterval(3*time.Second))
	cookie := in.signIn()
	for wave := 1; wave <= 2; wave++ {
		in.idp.ResetRequests()
		in.idp.Advance(2 * time.Hour)
		for _, st := range in.burst("/api/x", cookie, 10) {
			require.Equal(t, http.StatusOK, st)
		}
		assert.LessOrEqual(t, len(in.refreshRequests()), 2, "at most one refresh per instance")
		assert.True(t, in.idp.RefreshTokenActive(storedRefreshToken(t, store, cookie)))
	}
}

// TestSignInAcrossInstances: a sign-in started on one instance is finished
// by the callback on another (the pending sign-in travels in the sealed
// cookie, with Keys shared by the instances), and a flood of anonymous
// sign-ins adds no record to the shared store.
func TestSignInAcrossInstances(t *testing.T) {
	store := NewMemorySessionStore(0, 100)
	in := newInstances(t, 2, func(int) SessionManager {
		s, err := NewServerSessions(store, CookieOptions{Keys: [][]byte{testKey}})
		require.NoError(t, err)
		return s
	})
	for range 300 {
		st, _, _ := in.get("/sign-in", "", -1)
		require.Equal(t, http.StatusFound, st)
	}
	assert.Zero(t, store.Len(), "anonymous sign-ins wrote records")

	// Sign-in on instance 0, callback on instance 1.
	in.route = func(r *http.Request) int {
		if r.URL.Path == "/callback" {
			return 1
		}
		return 0
	}
	in.served[1].Store(0)
	cookie := in.signIn()
	assert.Equal(t, int64(1), in.served[1].Load(), "instance 1 served the callback only")
	assert.Equal(t, 1, store.Len())
	for i := range 2 {
		st, body, _ := in.get("/api/x", cookie, i)
		require.Equal(t, http.StatusOK, st)
		assert.Equal(t, fmt.Sprintf("instance %d for %s", i, testUserID), body)
	}
}

// TestCookieSessionsOnTwoInstances: cookie sessions carry the refresh
// token in the browser, so instances cannot coordinate. Two requests of one
// browser refreshing at once on two instances each spend the refresh
// token; within Logto's 3 s reuse interval both get live tokens, and
// whichever cookie the browser keeps works on. Replayed after the
// interval, the spent token revokes the grant (Logto's reuse detection):
// the limit documented in SECURITY.md.
func TestCookieSessionsOnTwoInstances(t *testing.T) {
	in := newInstances(t, 2, func(int) SessionManager {
		s, err := NewCookieSessions(CookieOptions{Keys: [][]byte{testKey}})
		require.NoError(t, err)
		return s
	}, logtotest.WithRefreshTokenReuseInterval(3*time.Second))
	old := in.signIn()
	in.idp.ResetRequests()
	in.idp.Advance(2 * time.Hour)

	var wg sync.WaitGroup
	var cookies [2]string
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _, set := in.get("/api/x", old, i)
			assert.Equal(t, http.StatusOK, st)
			cookies[i] = cookieHeaderOf(set)
		}()
	}
	wg.Wait()
	require.Len(t, in.refreshRequests(), 2, "each instance refreshed once")
	for i, c := range cookies {
		require.NotEmpty(t, c, "instance %d sent no new cookie", i)
		// Whichever the browser keeps: it works on both instances, and
		// at the next expiry (past the interval) it refreshes again.
		for pin := range 2 {
			st, _, _ := in.get("/api/x", c, pin)
			assert.Equal(t, http.StatusOK, st, "cookie of instance %d on instance %d", i, pin)
		}
	}
	in.idp.Advance(2 * time.Hour)
	st, _, set := in.get("/api/x", cookies[1], 0)
	require.Equal(t, http.StatusOK, st, "the kept cookie refreshes at the next expiry")
	kept := cookieHeaderOf(set)

	// The pre-refresh cookie replayed past the interval: reuse detected.
	st, _, _ = in.get("/api/x", old, 0)
	assert.Equal(t, http.StatusUnauthorized, st)
	in.idp.Advance(2 * time.Hour)
	st, _, _ = in.get("/api/x", kept, 1)
	assert.Equal(t, http.StatusUnauthorized, st, "the grant was revoked")
}

// cookieHeaderOf turns Set-Cookie values into the Cookie header a browser
// sends next (deleted cookies left out).
func cookieHeaderOf(set []string) string {
	var parts []string
	for _, v := range set {
		c, err := http.ParseSetCookie(v)
		if err != nil || c.MaxAge < 0 || c.Value == "" {
			continue
		}
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// TestSlowRefreshKeepsTheLock: a refresh request slower than the lock's
// TTL (2 s) still causes one request: its holder extends the lock while
// it waits, so the other instance does not take it over and spend the
// same refresh token.
func TestSlowRefreshKeepsTheLock(t *testing.T) {
	store := NewMemorySessionStore(0, 100)
	in := newInstances(t, 2, func(int) SessionManager {
		s, err := NewServerSessions(store, CookieOptions{Keys: [][]byte{testKey}})
		require.NoError(t, err)
		return s
	})
	cookie := in.signIn()
	in.idp.ResetRequests()
	in.idp.Advance(2 * time.Hour)
	in.idp.Intercept(logtotest.EndpointToken, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		time.Sleep(DefaultRefreshLockTTL + 800*time.Millisecond)
		next.ServeHTTP(w, r)
	})
	for i, st := range in.burst("/api/x", cookie, 6) {
		require.Equal(t, http.StatusOK, st, "request %d", i)
	}
	assert.Len(t, in.refreshRequests(), 1)
	assert.True(t, in.idp.RefreshTokenActive(storedRefreshToken(t, store, cookie)))
}
