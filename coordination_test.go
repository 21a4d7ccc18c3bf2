package logto_test

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// sharedBacking is a session kept outside the processes that use it, as
// in Redis: requests work on snapshots of it (lockingView).
type sharedBacking struct {
	mu     sync.Mutex
	values map[string]string
	lock   chan struct{} // the refresh lock, held while full

	lockErr, unlockErr error
}

func newSharedBacking() *sharedBacking {
	return &sharedBacking{values: map[string]string{}, lock: make(chan struct{}, 1)}
}

// view returns a request's view: a snapshot of the backing, written back
// only under the refresh lock.
func (b *sharedBacking) view() *lockingView {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &lockingView{b: b, m: maps.Clone(b.values)}
}

func (b *sharedBacking) get(k string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.values[k]
}

// lockingView implements logto.Storage and logto.RefreshLocker.
type lockingView struct {
	b  *sharedBacking
	mu sync.Mutex
	m  map[string]string
}

func (v *lockingView) Get(_ context.Context, k string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[k], nil
}

func (v *lockingView) Set(_ context.Context, k, val string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m[k] = val
	return nil
}

func (v *lockingView) Delete(_ context.Context, k string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, k)
	return nil
}

func (v *lockingView) LockRefresh(ctx context.Context) (func(context.Context) error, error) {
	if v.b.lockErr != nil {
		return nil, v.b.lockErr
	}
	select {
	case v.b.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	v.b.mu.Lock()
	snap := maps.Clone(v.b.values)
	v.b.mu.Unlock()
	v.mu.Lock()
	v.m = snap
	v.mu.Unlock()
	return func(context.Context) error {
		defer func() { <-v.b.lock }()
		if v.b.unlockErr != nil {
			return v.b.unlockErr
		}
		v.mu.Lock()
		m := maps.Clone(v.m)
		v.mu.Unlock()
		v.b.mu.Lock()
		v.b.values = m
		v.b.mu.Unlock()
		return nil
	}, nil
}

// twoProcesses signs a user in on a shared backing and returns two
// clients that share nothing but the backing and the provider.
func twoProcesses(t *testing.T) (*logtotest.Server, *sharedBacking, [2]*logto.LogtoClient) {
	t.Helper()
	f := newSPAFixture(t, nil)
	b := newSharedBacking()
	var clients [2]*logto.LogtoClient
	for i := range clients {
		c, err := logto.NewLogtoClient(f.cfg, nil, logto.WithClock(f.srv.Now))
		require.NoError(t, err)
		clients[i] = c
	}
	v := b.view()
	signInAs(t, f.srv, clients[0].WithStorage(v), aliceID)
	b.mu.Lock()
	b.values = maps.Clone(v.m)
	b.mu.Unlock()
	return f.srv, b, clients
}

func refreshRequests(srv *logtotest.Server) []logtotest.Request {
	var out []logtotest.Request
	for _, r := range srv.Requests(logtotest.EndpointToken) {
		if r.Form.Get("grant_type") == "refresh_token" {
			out = append(out, r)
		}
	}
	return out
}

// TestRefreshLockerOneRefreshAcrossProcesses: two clients ("processes")
// whose requests each hold a snapshot of one shared session, all asking
// for a token at once after it expired: one refresh request, the rotated
// refresh token stored, every caller served, with no reuse leeway at the
// provider (a second use of the rotated-away token would revoke the grant).
func TestRefreshLockerOneRefreshAcrossProcesses(t *testing.T) {
	srv, b, clients := twoProcesses(t)
	for wave := 1; wave <= 3; wave++ {
		srv.ResetRequests()
		srv.Advance(2 * time.Hour)
		var wg sync.WaitGroup
		errs := make([]error, 20)
		start := make(chan struct{})
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				view := clients[i%2].WithStorage(b.view())
				<-start
				_, errs[i] = view.GetAccessToken(context.Background(), "")
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "wave %d caller %d", wave, i)
		}
		refreshes := refreshRequests(srv)
		require.Len(t, refreshes, 1, "wave %d", wave)
		rt := b.get(logto.StorageKeyRefreshToken)
		assert.NotEqual(t, refreshes[0].Form.Get("refresh_token"), rt, "wave %d: the rotated token is stored", wave)
		assert.True(t, srv.RefreshTokenActive(rt), "wave %d", wave)
	}
}

// TestRefreshLockerFailures: a lock that cannot be taken sends no refresh
// request and reports ErrStorage; a result that cannot be written back
// (unlock fails) reports ErrStorage and leaves the shared session as it
// was.
func TestRefreshLockerFailures(t *testing.T) {
	srv, b, clients := twoProcesses(t)
	srv.ResetRequests()
	srv.Advance(2 * time.Hour)
	before := b.get(logto.StorageKeyRefreshToken)

	b.lockErr = errors.New("store down")
	_, err := clients[0].WithStorage(b.view()).GetAccessToken(context.Background(), "")
	require.ErrorIs(t, err, logto.ErrStorage)
	assert.ErrorContains(t, err, "store down")
	assert.Empty(t, refreshRequests(srv), "no refresh without the lock")

	b.lockErr, b.unlockErr = nil, errors.New("write refused")
	_, err = clients[1].WithStorage(b.view()).GetAccessToken(context.Background(), "")
	require.ErrorIs(t, err, logto.ErrStorage)
	assert.ErrorContains(t, err, "write refused")
	assert.Len(t, refreshRequests(srv), 1)
	assert.Equal(t, before, b.get(logto.StorageKeyRefreshToken), "the shared session is as it was")
}
