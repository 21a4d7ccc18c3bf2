package logto_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// Refreshes under load (issue 10 items 1 to 3): one refresh request per
// session per expiry however the goroutines interleave, and one storage
// write sequence per refresh.

// refreshTokenOf reads the refresh token a request to the token endpoint
// carries, leaving the body for the handler.
func refreshTokenOf(r *http.Request) string {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	return form.Get("refresh_token")
}

// refreshesWith counts the token requests that spent refresh token rt.
func refreshesWith(srv *logtotest.Server, rt string) int {
	n := 0
	for _, r := range srv.Requests(logtotest.EndpointToken) {
		if r.Form.Get("refresh_token") == rt {
			n++
		}
	}
	return n
}

type gateKey struct{}

// gateStorage pauses the first refresh-token read made with a context
// marked gateKey: it closes paused and waits for release.
type gateStorage struct {
	*logto.MemoryStorage
	once    sync.Once
	paused  chan struct{}
	release chan struct{}
}

func newGateStorage() *gateStorage {
	return &gateStorage{MemoryStorage: logto.NewMemoryStorage(), paused: make(chan struct{}), release: make(chan struct{})}
}

func (s *gateStorage) Get(ctx context.Context, key string) (string, error) {
	if key == logto.StorageKeyRefreshToken && ctx.Value(gateKey{}) != nil {
		s.once.Do(func() {
			close(s.paused)
			<-s.release
		})
	}
	return s.MemoryStorage.Get(ctx, key)
}

// TestNewerResultOfAnotherSessionSurvives: storing the result of a refresh
// that started earlier must not drop the results of refreshes that started
// later. Before the fix, session X's slow refresh, sent before session Y's,
// deleted Y's result when it ended; a caller of Y that had read Y's session
// before Y's refresh was stored then refreshed again with Y's refresh
// token (under rotation, a reuse that makes Logto revoke the grant).
func TestNewerResultOfAnotherSessionSurvives(t *testing.T) {
	ctx := context.Background()
	srv := newProvider(t)
	base, err := logto.NewLogtoClient(webAppConfig(srv), nil, logto.WithClock(srv.Now))
	require.NoError(t, err)
	storeX, storeY := logto.NewMemoryStorage(), newGateStorage()
	signInAs(t, srv, base.WithStorage(storeX), aliceID)
	signInAs(t, srv, base.WithStorage(storeY), aliceID)
	rtX, _ := storeX.Get(ctx, logto.StorageKeyRefreshToken)
	rtY, _ := storeY.Get(ctx, logto.StorageKeyRefreshToken)

	xArrived, xRelease := make(chan struct{}), make(chan struct{})
	srv.Intercept(logtotest.EndpointToken, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if refreshTokenOf(r) == rtX {
			close(xArrived)
			<-xRelease
		}
		next.ServeHTTP(w, r)
	})
	srv.Advance(2 * time.Hour)
	srv.ResetRequests()

	xDone := make(chan error, 1)
	go func() {
		_, err := base.WithStorage(storeX).GetAccessToken(ctx, apiResource)
		xDone <- err
	}()
	<-xArrived // X's refresh is in flight
	srv.Advance(time.Second)

	gDone := make(chan string, 1)
	go func() {
		tok, err := base.WithStorage(storeY).GetAccessToken(context.WithValue(ctx, gateKey{}, true), apiResource)
		assert.NoError(t, err)
		gDone <- tok
	}()
	<-storeY.paused // a caller of Y found Y's token stale and is about to read its refresh token

	tokY, err := base.WithStorage(storeY).GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	close(xRelease)
	require.NoError(t, <-xDone)
	close(storeY.release)
	assert.Equal(t, tokY, <-gDone, "the late caller gets Y's refreshed token")
	assert.Equal(t, 1, refreshesWith(srv, rtY), "Y's refresh token is spent once")
	assert.Equal(t, 1, refreshesWith(srv, rtX))
}

// storm signs sessions in through base, lets their tokens for resource go
// stale (advance moves the clock, or waits), then asks perSession
// goroutines per session at once, each through its own view. It returns
// the stores and the token each goroutine got, by session.
func storm(t testing.TB, srv *logtotest.Server, base *logto.LogtoClient, stores []logto.Storage, perSession int, resource string) [][]string {
	t.Helper()
	tokens := make([][]string, len(stores))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for s := range stores {
		tokens[s] = make([]string, perSession)
		for g := range perSession {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tok, err := base.WithStorage(stores[s]).GetAccessToken(context.Background(), resource)
				assert.NoError(t, err)
				tokens[s][g] = tok
			}()
		}
	}
	close(start)
	wg.Wait()
	return tokens
}

// assertOneRefreshPerSession checks a storm's outcome: one token per
// session, one token request per session, no refresh token spent twice,
// and under rotation every session holding a live refresh token.
func assertOneRefreshPerSession(t *testing.T, srv *logtotest.Server, stores []logto.Storage, tokens [][]string) {
	t.Helper()
	seen := map[string]bool{}
	for s := range tokens {
		for _, tok := range tokens[s] {
			require.Equal(t, tokens[s][0], tok, "session %d: one token for all its callers", s)
		}
		assert.False(t, seen[tokens[s][0]], "sessions never share a token")
		seen[tokens[s][0]] = true
	}
	assert.Equal(t, len(stores), srv.RequestCount(logtotest.EndpointToken), "one refresh request per session")
	spent := map[string]bool{}
	for _, r := range srv.Requests(logtotest.EndpointToken) {
		rt := r.Form.Get("refresh_token")
		assert.False(t, spent[rt], "a refresh token is spent once")
		spent[rt] = true
	}
	for s, st := range stores {
		rt, _ := st.Get(context.Background(), logto.StorageKeyRefreshToken)
		assert.True(t, srv.RefreshTokenActive(rt), "session %d keeps a live refresh token", s)
	}
}

// stormClient is the shared client of a storm: the confidential web app
// (its refresh tokens do not rotate here) or the public SPA (rotation on
// every refresh).
func stormClient(t testing.TB, srv *logtotest.Server, rotation bool, opts ...logto.Option) *logto.LogtoClient {
	t.Helper()
	cfg := webAppConfig(srv)
	if rotation {
		cfg.AppId, cfg.AppSecret = spaID, ""
	}
	c, err := logto.NewLogtoClient(cfg, nil, append([]logto.Option{logto.WithClock(srv.Now)}, opts...)...)
	require.NoError(t, err)
	return c
}

// TestRefreshStorm is the storm benchmark's shape as a test (run it with
// -race): sessions whose tokens expire together, many goroutines each. The
// clock runs (the refreshes of different sessions start at different
// times) and jumps two hours ahead so that every token is stale at once.
func TestRefreshStorm(t *testing.T) {
	const sessions, perSession = 32, 8
	for _, rotation := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotation=%v", rotation), func(t *testing.T) {
			t.Parallel()
			srv := newProvider(t, logtotest.WithWallClock())
			base := stormClient(t, srv, rotation)
			stores := make([]logto.Storage, sessions)
			for s := range stores {
				stores[s] = logto.NewMemoryStorage()
				signInAs(t, srv, base.WithStorage(stores[s]), aliceID)
			}
			srv.Advance(2 * time.Hour)
			srv.ResetRequests()
			tokens := storm(t, srv, base, stores, perSession, apiResource)
			assertOneRefreshPerSession(t, srv, stores, tokens)
		})
	}
}

// TestRefreshStormRealTime is the storm on the wall clock: 2-second API
// tokens fetched one after the other expire, then every session is asked
// for its token at once (the new tokens live an hour).
func TestRefreshStormRealTime(t *testing.T) {
	const sessions, perSession = 16, 8
	for _, rotation := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotation=%v", rotation), func(t *testing.T) {
			t.Parallel()
			srv := shortLivedProvider(t, 2*time.Second, logtotest.WithWallClock())
			base := stormClient(t, srv, rotation)
			stores := make([]logto.Storage, sessions)
			var last time.Time
			for s := range stores {
				stores[s] = logto.NewMemoryStorage()
				signInAs(t, srv, base.WithStorage(stores[s]), aliceID)
				tok, err := base.WithStorage(stores[s]).GetAccessToken(context.Background(), apiResource)
				require.NoError(t, err)
				last = tokenExpiry(t, tok)
			}
			require.Eventually(t, func() bool { return !srv.Now().Before(last) }, 5*time.Second, 10*time.Millisecond)
			// The refreshed tokens live an hour: a 2-second one is due
			// again after a second, and a caller of a loaded machine
			// arriving that late would rightly refresh again.
			srv.AddResource(logtotest.Resource{Indicator: apiResource, Scopes: []string{"read:data", "write:data"}, AccessTokenTTL: time.Hour})
			srv.ResetRequests()
			tokens := storm(t, srv, base, stores, perSession, apiResource)
			assertOneRefreshPerSession(t, srv, stores, tokens)
		})
	}
}

// countingStorage counts the writes per key.
type countingStorage struct {
	*logto.MemoryStorage
	mu     sync.Mutex
	writes map[string]int
}

func newCountingStorage() *countingStorage {
	return &countingStorage{MemoryStorage: logto.NewMemoryStorage(), writes: map[string]int{}}
}

func (s *countingStorage) Set(ctx context.Context, key, value string) error {
	s.mu.Lock()
	s.writes[key]++
	s.mu.Unlock()
	return s.MemoryStorage.Set(ctx, key, value)
}

func (s *countingStorage) takeWrites() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.writes
	s.writes = map[string]int{}
	return w
}

// TestOneWriteSequencePerRefresh: the callers that share a refresh write
// nothing to a storage the refreshing caller already wrote the result to;
// another storage holding the same session (a copy of the cookie in a
// concurrent request) still gets the result. Before the fix every caller
// wrote the ID token and the token cache again.
func TestOneWriteSequencePerRefresh(t *testing.T) {
	for _, rotation := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotation=%v", rotation), func(t *testing.T) {
			ctx := context.Background()
			srv := newProvider(t)
			base := stormClient(t, srv, rotation)
			first := newCountingStorage()
			signInAs(t, srv, base.WithStorage(first), aliceID)
			rtWrites := 0
			if rotation {
				rtWrites = 1
			}
			want := map[string]int{logto.StorageKeyIDToken: 1, logto.StorageKeyAccessTokens: 1}
			if rtWrites > 0 {
				want[logto.StorageKeyRefreshToken] = rtWrites
			}

			// One storage, 50 views of it.
			srv.Advance(2 * time.Hour)
			first.takeWrites()
			srv.ResetRequests()
			tokens := storm(t, srv, base, []logto.Storage{first}, 50, apiResource)
			for _, tok := range tokens[0] {
				assert.Equal(t, tokens[0][0], tok)
			}
			assert.Equal(t, want, first.takeWrites(), "one write sequence")
			assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))

			// Two storages holding the same session, 25 callers each.
			second := newCountingStorage()
			for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens} {
				v, _ := first.Get(ctx, k)
				require.NoError(t, second.MemoryStorage.Set(ctx, k, v))
			}
			srv.Advance(2 * time.Hour)
			srv.ResetRequests()
			var wg sync.WaitGroup
			got := make([]string, 50)
			for i := range got {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st := logto.Storage(first)
					if i%2 == 1 {
						st = second
					}
					tok, err := base.WithStorage(st).GetAccessToken(ctx, apiResource)
					assert.NoError(t, err)
					got[i] = tok
				}()
			}
			wg.Wait()
			assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken), "one refresh for both copies")
			for _, tok := range got {
				assert.Equal(t, got[0], tok)
			}
			assert.Equal(t, want, first.takeWrites(), "each copy gets one write sequence")
			assert.Equal(t, want, second.takeWrites())
			rt1, _ := first.Get(ctx, logto.StorageKeyRefreshToken)
			rt2, _ := second.Get(ctx, logto.StorageKeyRefreshToken)
			assert.Equal(t, rt1, rt2)
			assert.True(t, srv.RefreshTokenActive(rt1))
		})
	}
}

// TestRefreshedIDTokenKeptWhileFresh: refreshing an API token while the
// session's ID token is fresh keeps that ID token (no verification, no
// write); once the ID token is due, the refresh verifies and stores the new
// one. A refreshed ID token naming another user is refused either way.
func TestRefreshedIDTokenKeptWhileFresh(t *testing.T) {
	ctx := context.Background()
	srv := shortLivedProvider(t, time.Minute)
	store := newCountingStorage()
	c, err := logto.NewLogtoClient(webAppConfig(srv), store, logto.WithClock(srv.Now))
	require.NoError(t, err)
	signInAs(t, srv, c, aliceID)
	signedIn := srv.Now()
	idBefore, _ := c.GetIdToken(ctx)
	srv.UpdateUser(aliceID, func(u *logtotest.User) { u.Name = "Alice L." })

	store.takeWrites()
	srv.Advance(time.Minute)
	srv.ResetRequests()
	_, err = c.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	idNow, _ := c.GetIdToken(ctx)
	assert.Equal(t, idBefore, idNow, "the fresh ID token is kept")
	assert.Equal(t, map[string]int{logto.StorageKeyAccessTokens: 1}, store.takeWrites())
	assertRequests(t, srv, reqs{logtotest.EndpointToken: 1})

	srv.MutateIDTokens(func(h, claims map[string]any) { claims["sub"] = bobID })
	srv.Advance(time.Minute)
	before := snapshotOf(store)
	_, err = c.GetAccessToken(ctx, apiResource)
	assert.ErrorIs(t, err, logto.ErrSubjectMismatch)
	assert.Equal(t, before, snapshotOf(store), "storage untouched")
	srv.MutateIDTokens(nil)

	srv.SetNow(signedIn.Add(59 * time.Minute)) // the ID token (1 h) is due
	_, err = c.GetAccessToken(ctx, apiResource)
	require.NoError(t, err)
	claims, err := c.GetIdTokenClaims(ctx)
	require.NoError(t, err)
	assert.Equal(t, logto.ClaimOf("Alice L."), claims.Name, "the due ID token was replaced")
}

// TestRefreshWaitersHonourTheirContext: a caller waiting for another's
// refresh gives up with its own context, and a caller whose refresh was
// given up by its sender sends its own.
func TestRefreshWaitersHonourTheirContext(t *testing.T) {
	ctx := context.Background()
	srv := newProvider(t)
	f := newFixtureWith(t, srv, webAppConfig(srv))
	f.signIn(t, aliceID)
	srv.Advance(2 * time.Hour)
	var calls atomic.Int32
	arrived, release := make(chan struct{}), make(chan struct{})
	srv.Intercept(logtotest.EndpointToken, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if calls.Add(1) == 1 {
			close(arrived)
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
	})
	leaderCtx, cancelLeader := context.WithCancel(ctx)
	leader := make(chan error, 1)
	go func() {
		_, err := f.client.GetAccessToken(leaderCtx, apiResource)
		leader <- err
	}()
	<-arrived

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := f.client.WithStorage(f.store).GetAccessToken(short, apiResource)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the waiter gives up on its own deadline")

	patient := make(chan error, 1)
	go func() {
		_, err := f.client.WithStorage(f.store).GetAccessToken(ctx, apiResource)
		patient <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it wait for the leader
	cancelLeader()
	assert.ErrorIs(t, <-leader, context.Canceled)
	require.NoError(t, <-patient, "the patient caller refreshes itself")
	close(release)
	assert.Equal(t, int32(2), calls.Load())
}
