package logto_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// TestConformanceConcurrency: many goroutines share sessions and refresh
// at once (run it with -race). Each case asserts the exact number of
// requests that reached each endpoint: concurrent callers share one
// discovery, one key fetch and one refresh per session and token, and a
// rotating refresh token is never spent twice.
func TestConformanceConcurrency(t *testing.T) {
	ctx := context.Background()
	// parallel runs fn(i) for i in [0,n) at once and returns the errors.
	parallel := func(n int, fn func(i int) error) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = fn(i)
			}()
		}
		close(start)
		wg.Wait()
		return errs
	}
	cases := []struct {
		id  string
		run func(t *testing.T)
	}{
		{"concurrency-one-session-many-views-refresh", func(t *testing.T) {
			f := newSPAFixture(t, nil)
			f.signIn(t, aliceID)
			f.srv.Advance(2 * time.Hour)
			f.srv.ResetRequests()
			tokens := make([]string, 64)
			errs := parallel(64, func(i int) error {
				c := f.client
				if i%2 == 1 {
					c = f.client.WithStorage(f.store) // per-request views of one session
				}
				var err error
				tokens[i], err = c.GetAccessToken(ctx, apiResource)
				return err
			})
			for i, err := range errs {
				require.NoError(t, err)
				assert.Equal(t, tokens[0], tokens[i])
			}
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1}.plus(staleKeys))
			rt, _ := f.client.GetRefreshToken(ctx)
			assert.True(t, f.srv.RefreshTokenActive(rt), "the rotated refresh token was kept")
		}},
		{"concurrency-many-sessions-refresh", func(t *testing.T) {
			const sessions, perSession = 8, 8
			f := newSPAFixture(t, nil)
			stores := make([]*logto.MemoryStorage, sessions)
			for s := range stores {
				stores[s] = logto.NewMemoryStorage()
				signInAs(t, f.srv, f.client.WithStorage(stores[s]), aliceID)
			}
			f.srv.Advance(2 * time.Hour)
			f.srv.ResetRequests()
			tokens := make([]string, sessions*perSession)
			errs := parallel(sessions*perSession, func(i int) error {
				var err error
				tokens[i], err = f.client.WithStorage(stores[i%sessions]).GetAccessToken(ctx, apiResource)
				return err
			})
			seen := map[string]bool{}
			for i, err := range errs {
				require.NoError(t, err)
				assert.Equal(t, tokens[i%sessions], tokens[i], "one token per session")
				seen[tokens[i]] = true
			}
			assert.Len(t, seen, sessions, "sessions never share a token")
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: sessions}.plus(staleKeys))
			for _, s := range stores {
				rt, _ := s.Get(ctx, logto.StorageKeyRefreshToken)
				assert.True(t, f.srv.RefreshTokenActive(rt))
			}
		}},
		{"concurrency-rotating-refresh-token-several-tokens", func(t *testing.T) {
			// Tokens for three different audiences at once, all from one
			// rotating refresh token: three refreshes, in sequence, each
			// with the refresh token the previous one produced.
			f := newSPAFixture(t, nil)
			f.signIn(t, aliceID)
			f.srv.Advance(2 * time.Hour)
			f.srv.ResetRequests()
			errs := parallel(48, func(i int) error {
				c := f.client.WithStorage(f.store)
				var err error
				switch i % 3 {
				case 0:
					_, err = c.GetAccessToken(ctx, apiResource)
				case 1:
					_, err = c.GetOrganizationToken(ctx, memberOrg)
				default:
					_, err = c.GetAccessToken(ctx, "")
				}
				return err
			})
			for _, err := range errs {
				require.NoError(t, err)
			}
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 3}.plus(staleKeys))
			used := map[string]bool{}
			for _, r := range f.srv.Requests(logtotest.EndpointToken) {
				rt := r.Form.Get("refresh_token")
				assert.False(t, used[rt], "a refresh token is spent once")
				used[rt] = true
			}
			rt, _ := f.client.GetRefreshToken(ctx)
			assert.True(t, f.srv.RefreshTokenActive(rt), "the newest refresh token is the one stored")
			// And the session goes on working.
			f.srv.Advance(2 * time.Hour)
			_, err := f.client.GetAccessToken(ctx, apiResource)
			require.NoError(t, err)
		}},
		{"concurrency-rotation-stored-out-of-order", func(t *testing.T) {
			// A refresh whose result is stored late (its goroutine was
			// descheduled, its storage slow) must not overwrite the newer
			// rotation another view stored meanwhile: the older refresh
			// token is spent, and using it again would make Logto revoke
			// the whole grant.
			srv := newProvider(t)
			store := &pausingStorage{MemoryStorage: logto.NewMemoryStorage(), paused: make(chan struct{}), release: make(chan struct{})}
			c, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: spaID, Scopes: allScopes(),
				Resources: []string{apiResource}}, store, logto.WithClock(srv.Now))
			require.NoError(t, err)
			signInAs(t, srv, c, aliceID)
			srv.Advance(2 * time.Hour)
			srv.ResetRequests()
			slow := context.WithValue(ctx, pauseKey{}, true)
			first := make(chan error, 1)
			go func() {
				_, err := c.WithStorage(store).GetAccessToken(slow, apiResource)
				first <- err
			}()
			<-store.paused // the first refresh is done, its result not yet stored
			_, err = c.WithStorage(store).GetAccessToken(ctx, "")
			require.NoError(t, err)
			close(store.release)
			require.NoError(t, <-first)
			assertRequests(t, srv, reqs{logtotest.EndpointToken: 2}.plus(staleKeys))
			rt, _ := store.Get(ctx, logto.StorageKeyRefreshToken)
			assert.True(t, srv.RefreshTokenActive(rt), "the newest refresh token stays stored")
			srv.Advance(time.Minute + 2*time.Hour)
			_, err = c.GetAccessToken(ctx, apiResource)
			require.NoError(t, err, "the session goes on")
		}},
		{"concurrency-first-use-one-discovery-one-jwks", func(t *testing.T) {
			srv := newProvider(t)
			base, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret}, nil, logto.WithClock(srv.Now))
			require.NoError(t, err)
			const n = 32
			views := make([]*logto.LogtoClient, n)
			urls := make([]string, n)
			errs := parallel(n, func(i int) error {
				views[i] = base.WithStorage(logto.NewMemoryStorage())
				var err error
				urls[i], err = views[i].SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
				return err
			})
			for _, err := range errs {
				require.NoError(t, err)
			}
			assertRequests(t, srv, reqs{logtotest.EndpointDiscovery: 1})
			cbs := make([]string, n)
			for i := range urls {
				cbs[i], err = srv.Authorize(urls[i], aliceID)
				require.NoError(t, err)
			}
			srv.ResetRequests()
			errs = parallel(n, func(i int) error { return views[i].HandleCallback(ctx, cbs[i]) })
			for _, err := range errs {
				require.NoError(t, err)
			}
			assertRequests(t, srv, reqs{logtotest.EndpointToken: n, logtotest.EndpointJWKS: 1})
		}},
		{"concurrency-key-rotation-one-refetch", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			f.srv.Advance(logto.DefaultJWKSRefreshCooldown + time.Second)
			f.srv.RotateKey()
			const n = 16
			views := make([]*logto.LogtoClient, n)
			cbs := make([]string, n)
			for i := range views {
				views[i] = f.client.WithStorage(logto.NewMemoryStorage())
				u, err := views[i].SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
				require.NoError(t, err)
				cbs[i], err = f.srv.Authorize(u, aliceID)
				require.NoError(t, err)
			}
			f.srv.ResetRequests()
			errs := parallel(n, func(i int) error { return views[i].HandleCallback(ctx, cbs[i]) })
			for _, err := range errs {
				require.NoError(t, err)
			}
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: n, logtotest.EndpointJWKS: 1})
		}},
		{"concurrency-tabs-sign-in-at-once", func(t *testing.T) {
			// One session, several tabs: concurrent sign-ins on one client
			// all stay pending and each callback completes once.
			f := newConformanceFixture(t, nil)
			const n = logto.DefaultMaxPendingSignIns
			urls := make([]string, n)
			errs := parallel(n, func(i int) error {
				var err error
				urls[i], err = f.client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
				return err
			})
			for _, err := range errs {
				require.NoError(t, err)
			}
			cbs := make([]string, n)
			for i := range urls {
				var err error
				cbs[i], err = f.srv.Authorize(urls[i], aliceID)
				require.NoError(t, err)
			}
			f.srv.ResetRequests()
			errs = parallel(2*n, func(i int) error { return f.client.HandleCallback(ctx, cbs[i%n]) })
			ok, replayed := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, logto.ErrSignInSessionNotFound):
					replayed++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
			assert.Equal(t, n, ok, "each tab's callback completes once")
			assert.Equal(t, n, replayed, "and only once")
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: n, logtotest.EndpointJWKS: 1})
			assert.NotContains(t, f.snapshot(), logto.StorageKeySignInSession)
		}},
		{"concurrency-impatient-first-caller-discovery", func(t *testing.T) {
			// The caller that started the shared discovery gives up; a
			// caller still willing to wait is not failed by that.
			f := newConformanceFixture(t, nil)
			f.srv.Stall(logtotest.EndpointDiscovery)
			short, cancel := context.WithCancel(ctx)
			defer cancel()
			first := make(chan error, 1)
			go func() {
				_, err := f.client.SignIn(short, logto.SignInOptions{RedirectURI: redirectURI})
				first <- err
			}()
			require.Eventually(t, func() bool { return f.srv.RequestCount(logtotest.EndpointDiscovery) == 1 }, 5*time.Second, time.Millisecond)
			second := make(chan error, 1)
			view := f.client.WithStorage(logto.NewMemoryStorage())
			go func() {
				_, err := view.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
				second <- err
			}()
			// The first caller gives up a while after its request reached
			// Logto (a timeout set at the call raced that request on a
			// loaded machine); the second may have joined it or not.
			time.AfterFunc(3*faultDeadline, cancel)
			assert.ErrorIs(t, <-first, context.Canceled)
			require.Eventually(t, func() bool { return f.srv.RequestCount(logtotest.EndpointDiscovery) == 2 }, 5*time.Second, time.Millisecond,
				"the waiting caller asks again with its own context")
			f.srv.Resume(logtotest.EndpointDiscovery)
			require.NoError(t, <-second)
			assertRequests(t, f.srv, reqs{logtotest.EndpointDiscovery: 2})
		}},
		{"concurrency-impatient-first-caller-jwks", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			cbShort := f.callbackFor(t, aliceID)
			view := f.client.WithStorage(logto.NewMemoryStorage())
			u, err := view.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
			require.NoError(t, err)
			cbLong, err := f.srv.Authorize(u, aliceID)
			require.NoError(t, err)
			f.srv.Stall(logtotest.EndpointJWKS)
			f.srv.ResetRequests()
			short, cancel := context.WithCancel(ctx)
			defer cancel()
			first := make(chan error, 1)
			go func() { first <- f.client.HandleCallback(short, cbShort) }()
			require.Eventually(t, func() bool { return f.srv.RequestCount(logtotest.EndpointJWKS) == 1 }, 5*time.Second, time.Millisecond)
			second := make(chan error, 1)
			go func() { second <- view.HandleCallback(ctx, cbLong) }()
			require.Eventually(t, func() bool { return f.srv.RequestCount(logtotest.EndpointToken) == 2 }, 5*time.Second, time.Millisecond)
			// As above: the first caller gives up once its key fetch is
			// under way (a timeout set at the call could end before its code
			// exchange did, and no key fetch was ever made).
			time.AfterFunc(3*faultDeadline, cancel)
			assert.ErrorIs(t, <-first, context.Canceled)
			require.Eventually(t, func() bool { return f.srv.RequestCount(logtotest.EndpointJWKS) == 2 }, 5*time.Second, time.Millisecond,
				"the waiting caller fetches again with its own context")
			f.srv.Resume(logtotest.EndpointJWKS)
			require.NoError(t, <-second)
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 2, logtotest.EndpointJWKS: 2})
		}},
		{"concurrency-sign-out-while-refreshing", func(t *testing.T) {
			// Sign-out racing refreshes of the same session: a refresh
			// that completes after the sign-out does not bring the
			// session back, whatever the order.
			for round := 0; round < 4; round++ {
				f := newSPAFixture(t, nil)
				f.signIn(t, aliceID)
				f.srv.Advance(2 * time.Hour)
				errs := parallel(17, func(i int) error {
					if i == 8 {
						_, err := f.client.SignOut(ctx, postLogout)
						return err
					}
					_, err := f.client.GetAccessToken(ctx, apiResource)
					if errors.Is(err, logto.ErrNotAuthenticated) || errors.Is(err, logto.ErrSessionExpired) {
						return nil // signed out first
					}
					return err
				})
				for i, err := range errs {
					assert.NoError(t, err, fmt.Sprint("goroutine ", i))
				}
				assert.Empty(t, f.snapshot(), "round %d", round)
				assert.False(t, f.client.IsAuthenticated(ctx))
				assert.LessOrEqual(t, f.srv.RequestCount(logtotest.EndpointRevocation), 1)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

type pauseKey struct{}

// pausingStorage pauses the second refresh-token read made with a context
// marked pauseKey (the one storeRefresh makes before storing a refresh
// result) until release is closed, after signalling paused.
type pausingStorage struct {
	*logto.MemoryStorage
	mu      sync.Mutex
	reads   int
	paused  chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *pausingStorage) Get(ctx context.Context, key string) (string, error) {
	if key == logto.StorageKeyRefreshToken && ctx.Value(pauseKey{}) != nil {
		s.mu.Lock()
		s.reads++
		n := s.reads
		s.mu.Unlock()
		if n == 2 {
			s.once.Do(func() { close(s.paused) })
			<-s.release
		}
	}
	return s.MemoryStorage.Get(ctx, key)
}
