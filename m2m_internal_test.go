package logto

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

const m2mResource = "https://api.example.com"

func newStalledM2M(t *testing.T) (*logtotest.Server, *M2MClient) {
	t.Helper()
	srv := logtotest.NewServer(t)
	srv.AddResource(logtotest.Resource{Indicator: m2mResource, Scopes: []string{"read:data"}})
	srv.AddApp(logtotest.App{ID: "m2m-app", Secret: "m2m-secret", Type: logtotest.AppMachineToMachine,
		ResourceScopes: map[string][]string{m2mResource: {"read:data"}}})
	m, err := NewM2MClient(M2MConfig{Endpoint: srv.URL(), AppId: "m2m-app", AppSecret: "m2m-secret", Resource: m2mResource},
		WithClock(srv.Now))
	require.NoError(t, err)
	srv.Stall(logtotest.EndpointToken)
	return srv, m
}

// waitFor polls cond: it synchronises with goroutines, it measures nothing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (m *M2MClient) waiters() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waiting
}

// TestM2MSharedRequestOutlivesACancelledCaller: callers that arrive while
// a token request is in flight wait for it; one whose context ends returns
// its context's error while the request is still unanswered, and the
// others get the token of that one request.
func TestM2MSharedRequestOutlivesACancelledCaller(t *testing.T) {
	srv, m := newStalledM2M(t)
	const n = 20
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens[i], errs[i] = m.AccessToken(context.Background())
		}()
	}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := m.AccessToken(ctx); gaveUp <- err }()
	waitFor(t, "every caller to wait", func() bool { return m.waiters() == n+1 })
	waitFor(t, "the token request", func() bool { return srv.RequestCount(logtotest.EndpointToken) == 1 })

	cancel()
	assert.ErrorIs(t, <-gaveUp, context.Canceled, "the cancelled caller returns while the request is stalled")
	assert.Equal(t, n, m.waiters(), "it no longer waits")

	srv.Resume(logtotest.EndpointToken)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "caller %d", i)
		assert.Equal(t, tokens[0], tokens[i], "caller %d", i)
	}
	assert.NotEmpty(t, tokens[0])
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken), "one request for every caller")
	assert.Zero(t, m.waiters())
}

// TestM2MRequestEndsWhenEveryCallerGivesUp: the request in flight is
// cancelled once nobody waits for it, and the next caller makes a new one.
func TestM2MRequestEndsWhenEveryCallerGivesUp(t *testing.T) {
	srv, m := newStalledM2M(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	for range 2 {
		go func() { _, err := m.AccessToken(ctx); done <- err }()
	}
	waitFor(t, "both callers to wait", func() bool { return m.waiters() == 2 })
	waitFor(t, "the token request", func() bool { return srv.RequestCount(logtotest.EndpointToken) == 1 })
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.ErrorIs(t, <-done, context.Canceled)
	waitFor(t, "the abandoned request to end", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.cancel == nil
	})

	srv.Resume(logtotest.EndpointToken)
	tok, err := m.AccessToken(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, tok)
	assert.Equal(t, 2, srv.RequestCount(logtotest.EndpointToken), "the abandoned request was not reused")
}

// TestM2MLateCallerOfAnAbandonedRequest: a caller that joins a request
// its earlier callers already abandoned does not get their cancellation:
// it makes its own request.
func TestM2MLateCallerOfAnAbandonedRequest(t *testing.T) {
	srv, m := newStalledM2M(t)
	first := make(chan struct{})
	_, err, _ := m.flight.Do("token", func() (any, error) {
		// The flight a late caller joins: abandoned by the time it ends.
		go func() {
			defer close(first)
			tok, err := m.AccessToken(context.Background())
			assert.NoError(t, err)
			assert.NotEmpty(t, tok)
		}()
		waitFor(t, "the late caller to join", func() bool { return m.waiters() == 1 })
		// Between join and DoChan it cannot be observed; if it comes after
		// this flight ended, it starts its own at once and the test
		// passes without taking the retry path.
		time.Sleep(20 * time.Millisecond)
		return nil, errAbandoned
	})
	require.ErrorIs(t, err, errAbandoned)
	waitFor(t, "the late caller's own request", func() bool { return srv.RequestCount(logtotest.EndpointToken) == 1 })
	srv.Resume(logtotest.EndpointToken)
	<-first
}
