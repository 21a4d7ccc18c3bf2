package reallogto

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// sharedSession is one session kept outside two app instances (as in
// Redis): each request works on a snapshot of it (sharedView), written
// back only under its refresh lock, the logto.RefreshLocker contract that
// logtohttp's server sessions offer over a shared store.
type sharedSession struct {
	mu     sync.Mutex
	values map[string]string
	lock   chan struct{}
}

func (s *sharedSession) view() *sharedView {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &sharedView{s: s, m: maps.Clone(s.values)}
}

type sharedView struct {
	s  *sharedSession
	mu sync.Mutex
	m  map[string]string
}

func (v *sharedView) Get(_ context.Context, k string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[k], nil
}

func (v *sharedView) Set(_ context.Context, k, val string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m[k] = val
	return nil
}

func (v *sharedView) Delete(_ context.Context, k string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, k)
	return nil
}

// LockRefresh implements logto.RefreshLocker.
func (v *sharedView) LockRefresh(ctx context.Context) (func(context.Context) error, error) {
	select {
	case v.s.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	v.s.mu.Lock()
	snap := maps.Clone(v.s.values)
	v.s.mu.Unlock()
	v.mu.Lock()
	v.m = snap
	v.mu.Unlock()
	return func(context.Context) error {
		v.mu.Lock()
		m := maps.Clone(v.m)
		v.mu.Unlock()
		v.s.mu.Lock()
		v.s.values = m
		v.s.mu.Unlock()
		<-v.s.lock
		return nil
	}, nil
}

// TestInstancesShareRefresh: two app instances (two LogtoClients, no
// bookkeeping shared) serve one session of a native app, whose refresh
// token Logto rotates at every refresh, from one shared store. 20 requests
// at once, alternating between the instances, each with its own snapshot
// of the session, ask for an expired 1-second token: one refresh request,
// the refresh token spent once, every request served with the new token;
// past Logto's 3 s reuse leeway the grant is still alive.
func TestInstancesShareRefresh(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		u := tg.newUser(t, userSpec{APIScopes: []string{readData}})
		short := tg.newResource(t, resourceSpec{TTL: time.Second, Scopes: []string{"short:read"}, GrantTo: []user{u}})
		nat := tg.nativeApp()
		rec := newRecorder()
		scopes, resources := []string{readData, "short:read"}, []string{tg.api(), short}
		instances := [2]*logto.LogtoClient{
			clientFor(t, tg, nat, scopes, resources, rec),
			clientFor(t, tg, nat, scopes, resources, rec),
		}
		store := &sharedSession{values: map[string]string{}, lock: make(chan struct{}, 1)}
		v := store.view()
		signIn := instances[0].WithStorage(v)
		signInClient(t, tg, signIn, nil, u, logto.SignInOptions{})
		store.mu.Lock()
		store.values = maps.Clone(v.m) // the sign-in's record
		store.mu.Unlock()
		first, err := instances[1].WithStorage(store.view()).GetAccessToken(ctx, short)
		require.NoError(t, err)

		sleepUntil(time.Unix(numeric(t, jwtClaims(t, first), "exp"), 0).Add(100 * time.Millisecond))
		before := rec.refreshes()
		start := make(chan struct{})
		var wg sync.WaitGroup
		tokens := make([]string, 20)
		errs := make([]error, 20)
		for i := range tokens {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := instances[i%2].WithStorage(store.view())
				<-start
				tokens[i], errs[i] = c.GetAccessToken(ctx, short)
			}()
		}
		called := time.Now()
		close(start)
		wg.Wait()
		for i := range tokens {
			require.NoError(t, errs[i], "request %d", i)
			assert.Equal(t, tokens[0], tokens[i], "request %d got another token", i)
		}
		assert.NotEqual(t, first, tokens[0])
		assert.Greater(t, numeric(t, jwtClaims(t, tokens[0]), "exp"), called.Unix(), "never an expired token")
		assert.Equal(t, 1, rec.refreshes()-before, "one refresh request across both instances")
		assert.Equal(t, rec.refreshes(), rec.rotations(), "every refresh rotated")
		rec.requireNoRefreshTokenReuse(t)

		// The session kept the rotated token: past the leeway it still
		// refreshes, on the other instance.
		time.Sleep(3500 * time.Millisecond)
		_, err = instances[1].WithStorage(store.view()).GetAccessToken(ctx, short)
		require.NoError(t, err, "the grant survived")
		rec.requireNoRefreshTokenReuse(t)
	})
}
