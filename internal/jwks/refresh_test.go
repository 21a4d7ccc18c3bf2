package jwks

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/internal/defaults"
)

// forged returns a compact JWS naming kid, with a signature no key makes.
func forged(kid string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES384","kid":"`+kid+`"}`)) + "." + enc([]byte(`{}`)) + "." + enc(make([]byte, 96))
}

// TestRotationRightAfterFirstFetch (issue 9 item 4): Logto rotates its
// signing key seconds after the client first fetched the set. The first
// token with the new kid refetches at once; the cooldown counts only from
// refetches for unknown kids.
func TestRotationRightAfterFirstFetch(t *testing.T) {
	ctx := context.Background()
	oldKey, newKey1 := newKey(t, "old"), newKey(t, "new")
	srv := newJWKSServer(t, oldKey.public())
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	ks := newKeySet(srv, time.Minute, 0, clk.now)

	_, err := ks.VerifySignature(ctx, oldKey.sign(t, `{}`, true))
	require.NoError(t, err)
	clk.add(5 * time.Second)
	srv.setKeys(newKey1.public(), oldKey.public())
	payload, err := ks.VerifySignature(ctx, newKey1.sign(t, `{"n":1}`, true))
	require.NoError(t, err, "a key published 5 s after the first fetch verifies")
	assert.Equal(t, `{"n":1}`, string(payload))
	assert.EqualValues(t, 2, srv.hits.Load())

	// That refetch starts the cooldown: forged kids now cost nothing.
	for i := 0; i < 50; i++ {
		_, err := ks.VerifySignature(ctx, forged(fmt.Sprint("forged-", i)))
		require.ErrorIs(t, err, ErrNoKey)
	}
	assert.EqualValues(t, 2, srv.hits.Load(), "no refetch within the cooldown of the last refetch")
}

// TestForgedKidStorm: thousands of concurrent tokens with random kids
// cause at most a handful of fetches, at cold start and once warm.
func TestForgedKidStorm(t *testing.T) {
	const n = 5000
	k1 := newKey(t, "k1")
	srv := newJWKSServer(t, k1.public())
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	ks := newKeySet(srv, time.Minute, 0, clk.now)
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = forged(fmt.Sprint("storm-", i))
	}
	// 250 goroutines start together and share the n tokens.
	storm := func() {
		const workers = 250
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, n)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				<-start
				for i := w; i < n; i += workers {
					_, err := ks.VerifySignature(context.Background(), tokens[i])
					errs <- err
				}
			}(w)
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.ErrorIs(t, err, ErrNoKey)
		}
	}
	storm()
	cold := srv.hits.Load()
	assert.LessOrEqual(t, cold, int64(2), "cold start: the first fetch and at most one refetch")
	assert.GreaterOrEqual(t, cold, int64(1))

	clk.add(time.Minute) // past the cooldown, within the maximum age
	storm()
	assert.Equal(t, cold+1, srv.hits.Load(), "warm: exactly one refetch for the whole storm")

	_, err := ks.VerifySignature(context.Background(), k1.sign(t, `{}`, true))
	require.NoError(t, err, "the genuine key still verifies")
}

func TestLifetime(t *testing.T) {
	const configured = 10 * time.Minute
	tests := []struct {
		name   string
		header http.Header
		max    time.Duration
		want   time.Duration
	}{
		{"no header: the configured maximum", http.Header{}, configured, configured},
		{"Logto's header: the floor", http.Header{"Cache-Control": {"no-cache, max-age=0, must-revalidate"}}, configured, MaxAgeFloor},
		{"shorter max-age wins", http.Header{"Cache-Control": {"public, max-age=300"}}, configured, 5 * time.Minute},
		{"longer max-age is capped", http.Header{"Cache-Control": {"max-age=86400"}}, configured, configured},
		{"below the floor is raised", http.Header{"Cache-Control": {"max-age=5"}}, configured, MaxAgeFloor},
		{"a configured maximum below the floor wins", http.Header{"Cache-Control": {"max-age=5"}}, 2 * time.Second, 2 * time.Second},
		{"Age is subtracted", http.Header{"Cache-Control": {"max-age=300"}, "Age": {"120"}}, configured, 3 * time.Minute},
		{"Age beyond max-age: the floor", http.Header{"Cache-Control": {"max-age=300"}, "Age": {"900"}}, configured, MaxAgeFloor},
		{"no-store", http.Header{"Cache-Control": {"no-store"}}, configured, MaxAgeFloor},
		{"no-cache with a field name restricts fields only", http.Header{"Cache-Control": {`no-cache="Set-Cookie", max-age=240`}}, configured, 4 * time.Minute},
		{"quoted value", http.Header{"Cache-Control": {`max-age="240"`}}, configured, 4 * time.Minute},
		{"case-insensitive name", http.Header{"Cache-Control": {"Max-Age=240"}}, configured, 4 * time.Minute},
		{"several lines: the shortest", http.Header{"Cache-Control": {"max-age=600", "max-age=240"}}, configured, 4 * time.Minute},
		{"s-maxage is for shared caches", http.Header{"Cache-Control": {"s-maxage=60"}}, configured, configured},
		{"malformed max-age is ignored", http.Header{"Cache-Control": {"max-age=-5, max-age=1e3, max-age="}}, configured, configured},
		{"huge max-age saturates", http.Header{"Cache-Control": {"max-age=99999999999999999999999"}}, configured, configured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Lifetime(tt.header, tt.max))
		})
	}
}

// TestRemovedKeyRefusedAfterMaxAge (issue 9 item 5): after the provider
// drops a key, tokens it signed verify only until the held set passes its
// maximum age, which honours the response's Cache-Control within bounds.
func TestRemovedKeyRefusedAfterMaxAge(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string
		maxAge       time.Duration // configured; 0 for the default
		heldFor      time.Duration // the expected lifetime of the set
	}{
		{"no Cache-Control: the default", "", 0, defaults.JWKSMaxAge},
		{"Logto's no-cache, max-age=0: the floor", "no-cache, max-age=0, must-revalidate", 0, MaxAgeFloor},
		{"max-age=300", "max-age=300", 0, 5 * time.Minute},
		{"max-age of a year: the configured maximum", "max-age=31536000", 0, defaults.JWKSMaxAge},
		{"configured 30 min, no header", "", 30 * time.Minute, 30 * time.Minute},
		{"configured 3 s, Logto's header", "no-cache, max-age=0", 3 * time.Second, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			gone, kept := newKey(t, "gone"), newKey(t, "kept")
			srv := newJWKSServer(t, gone.public(), kept.public())
			srv.cacheControl = tt.cacheControl
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			ks := newKeySet(srv, time.Minute, tt.maxAge, clk.now)
			tok := gone.sign(t, `{}`, true)
			_, err := ks.VerifySignature(ctx, tok)
			require.NoError(t, err)

			srv.setKeys(kept.public()) // the provider drops the key
			clk.add(tt.heldFor - time.Millisecond)
			_, err = ks.VerifySignature(ctx, tok)
			require.NoError(t, err, "held until the maximum age")
			assert.EqualValues(t, 1, srv.hits.Load(), "no fetch before the maximum age")

			clk.add(time.Millisecond)
			_, err = ks.VerifySignature(ctx, tok)
			require.ErrorIs(t, err, ErrNoKey, "refused once the set is refetched")
			assert.EqualValues(t, 2, srv.hits.Load(), "one refetch at the maximum age")
			_, err = ks.VerifySignature(ctx, kept.sign(t, `{}`, true))
			require.NoError(t, err)
			assert.EqualValues(t, 2, srv.hits.Load())
		})
	}
}

// TestStaleKeysDuringOutage: past its maximum age, a set that cannot be
// refetched is used for StaleGrace more, with one attempt per cooldown;
// then verification fails closed (not as a bad signature), and recovers
// with the next successful fetch.
func TestStaleKeysDuringOutage(t *testing.T) {
	ctx := context.Background()
	k1 := newKey(t, "k1")
	srv := newJWKSServer(t, k1.public())
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	ks := newKeySet(srv, time.Minute, 0, clk.now)
	tok := k1.sign(t, `{}`, true)
	_, err := ks.VerifySignature(ctx, tok)
	require.NoError(t, err)

	srv.fail.Store(true)
	clk.add(defaults.JWKSMaxAge)
	for i := 0; i < 5; i++ {
		_, err = ks.VerifySignature(ctx, tok)
		require.NoError(t, err, "stale keys serve while the provider is down")
	}
	assert.EqualValues(t, 2, srv.hits.Load(), "one failed refetch, then the cooldown")
	clk.add(time.Minute)
	_, err = ks.VerifySignature(ctx, tok)
	require.NoError(t, err)
	assert.EqualValues(t, 3, srv.hits.Load(), "retried once the cooldown passed")

	clk.add(StaleGrace - time.Minute) // exactly StaleGrace past the maximum age
	_, err = ks.VerifySignature(ctx, tok)
	require.Error(t, err, "fails closed after the grace")
	assert.NotErrorIs(t, err, ErrNoKey, "an outage, not a bad signature")
	assert.Contains(t, err.Error(), "503")

	srv.fail.Store(false)
	clk.add(time.Minute)
	_, err = ks.VerifySignature(ctx, tok)
	require.NoError(t, err, "recovers with the next successful fetch")
}

// TestMaxAgeRefetchOneInFlight: when the set expires under load, one
// request is made; a caller whose context ends stops waiting with its
// context's error, and the others get the new keys.
func TestMaxAgeRefetchOneInFlight(t *testing.T) {
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	srv := newJWKSServer(t, k1.public(), k2.public())
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	ks := newKeySet(srv, time.Minute, 0, clk.now)
	_, err := ks.VerifySignature(context.Background(), k1.sign(t, `{}`, true))
	require.NoError(t, err)

	srv.setKeys(k2.public())
	release := make(chan struct{})
	srv.delay = release
	clk.add(defaults.JWKSMaxAge)
	tok := k2.sign(t, `{}`, true)
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() {
			_, err := ks.VerifySignature(context.Background(), tok)
			errs <- err
		}()
	}
	waitFor(t, func() bool { return srv.hits.Load() == 2 }, "the refetch reached the server")
	ctx, cancel := context.WithCancel(context.Background())
	impatient := make(chan error, 1)
	go func() {
		_, err := ks.VerifySignature(ctx, tok)
		impatient <- err
	}()
	cancel()
	require.ErrorIs(t, <-impatient, context.Canceled)
	close(release)
	for i := 0; i < 20; i++ {
		require.NoError(t, <-errs)
	}
	assert.EqualValues(t, 2, srv.hits.Load(), "one refetch for all callers")
	_, err = ks.VerifySignature(context.Background(), k1.sign(t, `{}`, true))
	require.ErrorIs(t, err, ErrNoKey, "the removed key is refused")
}

// waitFor polls cond until it holds; a watchdog of ten seconds turns a
// hang into a failure.
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
