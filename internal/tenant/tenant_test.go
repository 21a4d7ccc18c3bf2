package tenant

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// provider is a tenant's discovery and JWKS endpoints, with faults.
type provider struct {
	*httptest.Server
	key           *ecdsa.PrivateKey
	discoveries   atomic.Int64
	jwksHits      atomic.Int64
	failDiscovery atomic.Bool
	// stall, when set, holds every discovery request until released.
	stall   chan struct{}
	release func()
}

// stallDiscovery makes discovery requests hang until p.release is called;
// the test's end releases them, so that the server can close even when
// the test fails.
func (p *provider) stallDiscovery(t *testing.T) {
	p.stall = make(chan struct{})
	p.release = sync.OnceFunc(func() { close(p.stall) })
	t.Cleanup(p.release)
}

func newProvider(t *testing.T) *provider {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p := &provider{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/oidc/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.discoveries.Add(1)
		if p.stall != nil {
			select {
			case <-p.stall:
			case <-r.Context().Done():
				return
			}
		}
		if p.failDiscovery.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": p.URL + "/oidc", "jwks_uri": p.URL + "/oidc/jwks"})
	})
	mux.HandleFunc("/oidc/jwks", func(w http.ResponseWriter, r *http.Request) {
		p.jwksHits.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"},
		}})
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// sign returns an at+jwt signed with the tenant's key.
func (p *provider) sign(t *testing.T) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: p.key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	require.NoError(t, err)
	jws, err := s.Sign([]byte(`{"sub":"u"}`))
	require.NoError(t, err)
	out, err := jws.CompactSerialize()
	require.NoError(t, err)
	return out
}

// forged returns a parseable at+jwt naming kid, signed by nobody.
func forged(kid string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES256","typ":"at+jwt","kid":"`+kid+`"}`)) + "." + enc([]byte(`{}`)) + "." + enc(make([]byte, 64))
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// parallel runs fn n times at once and returns the errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}(i)
	}
	close(start)
	wg.Wait()
	return errs
}

// returns waits for a result with a watchdog: a caller stuck behind a lock
// would never return, and ten seconds is far beyond any real delay.
func returns(t *testing.T, ch <-chan error, who string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return after its context ended", who)
		return nil
	}
}

// TestColdStartFailedDiscoveryIsNotAmplified (issue 9 item 6): while the
// tenant cannot be discovered, 500 forged tokens, at once and then one
// after another, cost one discovery request until the cooldown passes.
func TestColdStartFailedDiscoveryIsNotAmplified(t *testing.T) {
	p := newProvider(t)
	p.failDiscovery.Store(true)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	ten, err := newTenant(p, time.Minute, clk.now)
	require.NoError(t, err)
	verify := func(i int) error {
		_, err := ten.VerifyJWT(context.Background(), forged(fmt.Sprint("forged-", i)), "at+jwt")
		return err
	}
	for _, err := range parallel(250, verify) {
		require.ErrorIs(t, err, ErrUnavailable)
	}
	for i := 0; i < 250; i++ {
		require.ErrorIs(t, verify(i), ErrUnavailable)
	}
	assert.EqualValues(t, 1, p.discoveries.Load(), "one discovery request for 500 forged tokens")

	clk.add(time.Minute)
	p.failDiscovery.Store(false)
	_, err = ten.VerifyJWT(context.Background(), p.sign(t), "at+jwt")
	require.NoError(t, err, "retried once the cooldown passed")
	assert.EqualValues(t, 2, p.discoveries.Load())
}

// TestColdStartOneDiscovery: 500 concurrent forged tokens at cold start
// share one discovery and at most two key fetches.
func TestColdStartOneDiscovery(t *testing.T) {
	p := newProvider(t)
	ten, err := newTenant(p, time.Minute, time.Now)
	require.NoError(t, err)
	for _, err := range parallel(500, func(i int) error {
		_, err := ten.VerifyJWT(context.Background(), forged(fmt.Sprint("forged-", i)), "at+jwt")
		return err
	}) {
		require.ErrorIs(t, err, ErrBadSignature)
	}
	assert.EqualValues(t, 1, p.discoveries.Load())
	assert.LessOrEqual(t, p.jwksHits.Load(), int64(2))
}

// TestWaitersHonourTheirOwnContext (issue 9 item 6): while a discovery
// hangs, callers waiting for it leave as soon as their own context ends,
// in any order, without a request of their own, and the caller that
// started it gets its result.
func TestWaitersHonourTheirOwnContext(t *testing.T) {
	p := newProvider(t)
	p.stallDiscovery(t)
	ten, err := newTenant(p, time.Minute, time.Now)
	require.NoError(t, err)

	first := make(chan error, 1)
	go func() {
		_, err := ten.VerifyJWT(context.Background(), p.sign(t), "at+jwt")
		first <- err
	}()
	waitFor(t, func() bool { return p.discoveries.Load() == 1 }, "the discovery reached the tenant")

	const waiters = 3
	cancels := make([]context.CancelFunc, waiters)
	results := make([]chan error, waiters)
	for i := range cancels {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i], results[i] = cancel, make(chan error, 1)
		go func(i int) {
			_, err := ten.VerifyJWT(ctx, forged("w"), "at+jwt")
			results[i] <- err
		}(i)
	}
	time.Sleep(50 * time.Millisecond) // let them queue behind the discovery
	for i := waiters - 1; i >= 0; i-- {
		cancels[i]()
		err := returns(t, results[i], fmt.Sprint("waiter ", i))
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, err, ErrUnavailable)
	}
	assert.EqualValues(t, 1, p.discoveries.Load(), "the waiters made no request of their own")

	p.release()
	require.NoError(t, returns(t, first, "the first caller"))
	assert.EqualValues(t, 1, p.discoveries.Load())
}

// TestWaitersWithOneSecondTimeouts: four callers with a one-second
// timeout each, the discovery hanging: each returns its own
// context.DeadlineExceeded while the discovery still hangs (they are not
// served one after another).
func TestWaitersWithOneSecondTimeouts(t *testing.T) {
	p := newProvider(t)
	p.stallDiscovery(t)
	ten, err := newTenant(p, time.Minute, time.Now)
	require.NoError(t, err)
	ctxs := make([]context.Context, 4)
	for i := range ctxs {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		ctxs[i] = ctx
	}
	errs := parallel(4, func(i int) error {
		_, err := ten.VerifyJWT(ctxs[i], forged("w"), "at+jwt")
		return err
	})
	for i, err := range errs {
		require.ErrorIs(t, err, context.DeadlineExceeded, "waiter %d", i)
		require.ErrorIs(t, ctxs[i].Err(), context.DeadlineExceeded)
	}
	assert.LessOrEqual(t, p.discoveries.Load(), int64(4))
}

// TestAbandonedDiscoveryIsNoFailure: when the caller that started the
// discovery gives up, a caller still waiting discovers again with its own
// context, and no cooldown starts.
func TestAbandonedDiscoveryIsNoFailure(t *testing.T) {
	p := newProvider(t)
	p.stallDiscovery(t)
	ten, err := newTenant(p, time.Minute, time.Now)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := ten.VerifyJWT(ctx, p.sign(t), "at+jwt")
		first <- err
	}()
	waitFor(t, func() bool { return p.discoveries.Load() == 1 }, "the first discovery")
	second := make(chan error, 1)
	go func() {
		_, err := ten.VerifyJWT(context.Background(), p.sign(t), "at+jwt")
		second <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it queue behind the first
	cancel()
	require.ErrorIs(t, returns(t, first, "the first caller"), context.Canceled)
	waitFor(t, func() bool { return p.discoveries.Load() == 2 }, "the waiter discovers again")
	p.release()
	require.NoError(t, returns(t, second, "the waiter"))
}

// TestDiscoveryFailureIsReported: within the cooldown the failure is
// answered from memory with its cause.
func TestDiscoveryFailureIsReported(t *testing.T) {
	p := newProvider(t)
	p.failDiscovery.Store(true)
	ten, err := newTenant(p, time.Minute, time.Now)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err = ten.VerifyJWT(context.Background(), p.sign(t), "at+jwt")
		require.ErrorIs(t, err, ErrUnavailable)
		assert.Contains(t, err.Error(), "500")
	}
	assert.EqualValues(t, 1, p.discoveries.Load())
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
