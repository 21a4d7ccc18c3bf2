package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtohttp"
	"github.com/gologto/logto/logtotest"
)

// Cluster is a test application running as several instances (each its
// own LogtoClient and Handler: no refresh bookkeeping is shared) behind a
// round-robin front server, with server sessions in one store, against a
// fake Logto whose clock the instances' clients share.
type Cluster struct {
	t testing.TB
	// IdP is the fake Logto.
	IdP *logtotest.Server
	// Front is the load balancer the browsers talk to.
	Front *httptest.Server
	// Store is the session store the instances share.
	Store logtohttp.SessionStore
	// Served counts the requests each instance served.
	Served []atomic.Int64

	next atomic.Int64
	// pin, when >= 0, sends every request to that instance.
	pin atomic.Int64
}

// Test user and application of a Cluster.
const (
	ClusterUser   = "cluster-user"
	clusterApp    = "cluster-app"
	clusterSecret = "cluster-secret"
)

// clusterKey seals the cookie of pending sign-ins, shared by the instances.
var clusterKey = []byte("storetest cluster key, 32 bytes!")

// NewCluster starts n instances sharing store. Protected pages are under
// /api/: RequireAuth, then an access token for Logto's user info (""),
// refreshed on the shared clock when due; the page names the instance and
// the user.
func NewCluster(t testing.TB, n int, store logtohttp.SessionStore, idpOpts ...logtotest.Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t, IdP: logtotest.NewServer(t, idpOpts...), Store: store, Served: make([]atomic.Int64, n)}
	c.pin.Store(-1)
	muxes := make([]*http.ServeMux, n)
	c.Front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(c.pin.Load())
		if i < 0 {
			i = int(c.next.Add(1)-1) % n
		}
		c.Served[i].Add(1)
		muxes[i].ServeHTTP(w, r)
	}))
	t.Cleanup(c.Front.Close)
	base := c.Front.URL
	c.IdP.AddApp(logtotest.App{
		ID: clusterApp, Secret: clusterSecret, Type: logtotest.AppTraditional,
		RedirectURIs: []string{base + "/callback"}, PostLogoutRedirectURIs: []string{base + "/"},
		RefreshTokenRotation: logtotest.RotateAlways,
	})
	c.IdP.AddUser(logtotest.User{ID: ClusterUser, Username: "cluster", Email: "cluster@example.com"})
	c.IdP.SetAutoLogin(ClusterUser)
	for i := range n {
		client, err := logto.NewLogtoClient(logto.LogtoConfig{
			Endpoint: c.IdP.URL(), AppId: clusterApp, AppSecret: clusterSecret,
		}, nil, logto.WithClock(c.IdP.Now))
		if err != nil {
			t.Fatalf("storetest: %v", err)
		}
		sessions, err := logtohttp.NewServerSessions(store, logtohttp.CookieOptions{Keys: [][]byte{clusterKey}})
		if err != nil {
			t.Fatalf("storetest: %v", err)
		}
		h, err := logtohttp.New(logtohttp.Config{
			Client: client, Sessions: sessions, BaseURL: base,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatalf("storetest: %v", err)
		}
		mux := http.NewServeMux()
		h.Routes(mux)
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "home") })
		mux.Handle("/api/", h.RequireAuth(logtohttp.AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := h.Client(r).GetAccessToken(r.Context(), ""); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			claims, _ := logtohttp.IdTokenClaims(r.Context())
			fmt.Fprintf(w, "instance %d for %s", i, claims.Subject)
		})))
		muxes[i] = mux
	}
	return c
}

// Pin sends every request to instance i (-1: round robin again).
func (c *Cluster) Pin(i int) { c.pin.Store(int64(i)) }

// SignIn signs a browser in through the front and returns its Cookie
// header (the session id cookie).
func (c *Cluster) SignIn() string {
	c.t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(c.Front.URL + "/sign-in")
	if err != nil {
		c.t.Fatalf("sign-in: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("sign-in ended with status %d", resp.StatusCode)
	}
	for _, ck := range jar.Cookies(resp.Request.URL) {
		if ck.Name == logtohttp.DefaultServerSessionName {
			return ck.Name + "=" + ck.Value
		}
	}
	c.t.Fatal("no session cookie after sign-in")
	return ""
}

// Get sends GET path with cookie through the front and returns the
// status, the body and the Set-Cookie values (redirects not followed).
func (c *Cluster) Get(path, cookie string) (int, string, []string) {
	req, err := http.NewRequest(http.MethodGet, c.Front.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Values("Set-Cookie")
}

// Burst sends n concurrent GET path with cookie and returns the statuses.
func (c *Cluster) Burst(path, cookie string, n int) []int {
	out := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], _, _ = c.Get(path, cookie)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// RefreshRequests returns the refresh_token grants the fake Logto received
// (since its last ResetRequests).
func (c *Cluster) RefreshRequests() []logtotest.Request {
	var out []logtotest.Request
	for _, r := range c.IdP.Requests(logtotest.EndpointToken) {
		if r.Form.Get("grant_type") == "refresh_token" {
			out = append(out, r)
		}
	}
	return out
}

// Record returns the store's record behind a session cookie header.
func (c *Cluster) Record(cookie string) (logtohttp.SessionRecord, bool) {
	c.t.Helper()
	rec, ok, err := c.Store.Get(context.Background(), StoreID(strings.TrimPrefix(cookie, logtohttp.DefaultServerSessionName+"=")))
	if err != nil {
		c.t.Fatalf("store: %v", err)
	}
	return rec, ok
}

// StoreID is the id under which logtohttp stores the session whose cookie
// value is id: its SHA-256 digest in base64url.
func StoreID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// RunInstances runs the multi-instance cases against store: a NewCluster
// of two instances sharing it, against the fake Logto.
//
//   - one-refresh-per-expiry (a SharedSessionStore only): 20 concurrent
//     requests of one browser, alternating between the instances, after
//     its access token expired, three times: one refresh request per
//     expiry, the rotated refresh token stored and live, with no reuse
//     leeway at Logto (a second use of a rotated token would revoke the
//     grant).
//   - sign-in-across-instances: the sign-in starts on instance 0 and its
//     callback lands on instance 1; both serve the signed-in user.
//   - anonymous-sign-ins-store-nothing: 200 anonymous /sign-in requests
//     get no session id cookie, so they wrote no record.
func RunInstances(t *testing.T, store logtohttp.SessionStore) {
	t.Run("one-refresh-per-expiry", func(t *testing.T) {
		if _, ok := store.(logtohttp.SharedSessionStore); !ok {
			t.Skipf("%T is not a logtohttp.SharedSessionStore", store)
		}
		c := NewCluster(t, 2, store)
		cookie := c.SignIn()
		for wave := 1; wave <= 3; wave++ {
			c.IdP.ResetRequests()
			c.IdP.Advance(2 * time.Hour)
			for i, st := range c.Burst("/api/x", cookie, 20) {
				if st != http.StatusOK {
					t.Fatalf("wave %d request %d: status %d", wave, i, st)
				}
			}
			refreshes := c.RefreshRequests()
			if len(refreshes) != 1 {
				t.Fatalf("wave %d: %d refresh requests across the instances, want 1", wave, len(refreshes))
			}
			spent := refreshes[0].Form.Get("refresh_token")
			rec, ok := c.Record(cookie)
			if !ok {
				t.Fatalf("wave %d: the session's record is gone", wave)
			}
			rt := rec.Values[logto.StorageKeyRefreshToken]
			if rt == spent || !c.IdP.RefreshTokenActive(rt) {
				t.Fatalf("wave %d: the stored refresh token is not the rotated, live one", wave)
			}
		}
		if c.Served[0].Load() == 0 || c.Served[1].Load() == 0 {
			t.Fatalf("an instance served nothing: %d, %d", c.Served[0].Load(), c.Served[1].Load())
		}
	})
	t.Run("sign-in-across-instances", func(t *testing.T) {
		c := NewCluster(t, 2, store)
		// /sign-in on 0, the fake Logto, /callback on 1, / on 0.
		cookie := c.SignIn()
		if got := c.Served[1].Load(); got != 1 {
			t.Fatalf("instance 1 served %d requests, want the callback only", got)
		}
		if _, ok := c.Record(cookie); !ok {
			t.Fatal("no record behind the session cookie")
		}
		for i := range 2 {
			c.Pin(i)
			st, body, _ := c.Get("/api/x", cookie)
			if want := fmt.Sprintf("instance %d for %s", i, ClusterUser); st != http.StatusOK || body != want {
				t.Fatalf("instance %d: %d %q, want %q", i, st, body, want)
			}
		}
	})
	t.Run("anonymous-sign-ins-store-nothing", func(t *testing.T) {
		c := NewCluster(t, 2, store)
		for range 200 {
			st, _, set := c.Get("/sign-in", "")
			if st != http.StatusFound {
				t.Fatalf("sign-in: status %d", st)
			}
			for _, v := range set {
				if strings.HasPrefix(v, logtohttp.DefaultServerSessionName+"=") {
					t.Fatalf("an anonymous sign-in got a session id: %s", v)
				}
			}
		}
	})
}

// BenchmarkProtectedRequest serves a signed-in user's request through
// RequireAuth with sessions (kept in the store under test, the memory
// store or cookies) to a handler that reads the ID token claims. It
// reports the requests sent to Logto per operation, which must be 0.
func BenchmarkProtectedRequest(b *testing.B, sessions logtohttp.SessionManager) {
	idp := logtotest.NewServer(b)
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	b.Cleanup(app.Close)
	idp.AddApp(logtotest.App{ID: clusterApp, Secret: clusterSecret, Type: logtotest.AppTraditional, RedirectURIs: []string{app.URL + "/callback"}})
	idp.AddUser(logtotest.User{ID: ClusterUser, Username: "cluster"})
	idp.SetAutoLogin(ClusterUser)
	client, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: idp.URL(), AppId: clusterApp, AppSecret: clusterSecret}, nil)
	if err != nil {
		b.Fatal(err)
	}
	h, err := logtohttp.New(logtohttp.Config{Client: client, Sessions: sessions, BaseURL: app.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	h.Routes(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "home") })
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(app.URL + "/sign-in")
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("sign-in: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	var parts []string
	for _, ck := range jar.Cookies(resp.Request.URL) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	protected := h.RequireAuth(logtohttp.AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if claims, ok := logtohttp.IdTokenClaims(r.Context()); !ok || claims.Subject != ClusterUser {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	req := httptest.NewRequest(http.MethodGet, app.URL+"/api/page", nil)
	req.Header.Set("Cookie", strings.Join(parts, "; "))
	w := &discardWriter{h: http.Header{}}
	before := idp.RequestCount(logtotest.EndpointToken) + idp.RequestCount(logtotest.EndpointUserInfo)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		w.status = 0
		protected.ServeHTTP(w, req)
		if w.status != 0 && w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
	b.StopTimer()
	after := idp.RequestCount(logtotest.EndpointToken) + idp.RequestCount(logtotest.EndpointUserInfo)
	b.ReportMetric(float64(after-before)/float64(b.N), "provider-requests/op")
}

// discardWriter is a ResponseWriter that keeps nothing but its header.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
