package logto_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// Refresh benchmarks (issue 10): a storm of sessions expiring together,
// a burst of goroutines on one expired token, and one API-resource
// refresh, each beside its yardstick (handwritten_refresh_bench_test.go or
// the bare round trip). Compare the impl= sub-benchmarks with
// `benchstat -col /impl`.
//
// The provider's tokens live one minute and the clock moves a minute per
// round, so that every round refreshes; the SDK's key set may be a day old
// (WithJWKSMaxAge), as go-oidc's never expires, so that a round measures
// the refresh and not a key fetch.

const benchTTL = time.Minute

func benchProvider(tb testing.TB, opts ...logtotest.Option) *logtotest.Server {
	tb.Helper()
	return newProvider(tb, append([]logtotest.Option{
		logtotest.WithAccessTokenTTL(benchTTL), logtotest.WithIDTokenTTL(benchTTL),
		logtotest.WithRefreshTokenTTL(10 * 365 * 24 * time.Hour),
	}, opts...)...)
}

var benchKeyAge = logto.WithJWKSMaxAge(24 * time.Hour)

// rounds runs prepare (untimed) then op (timed) b.N times. Besides the
// time it reports cpu-ns/op, the CPU time the process spent in op (the
// SDK's and the in-process provider's alike): on a shared machine it moves
// much less than the wall time.
func rounds(b *testing.B, prepare func(), op func() error) {
	b.Helper()
	b.ReportAllocs()
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		prepare()
		start := processCPU()
		b.StartTimer()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += processCPU() - start
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkRefreshStorm: 1,000 sessions whose tokens (access and ID)
// expire together, 10 goroutines each asking at once. It reports the
// refresh requests per session (must be 1.000) and the time per session,
// with and without refresh-token rotation on every refresh.
func BenchmarkRefreshStorm(b *testing.B) {
	const sessions, perSession = 1000, 10
	for _, rotation := range []bool{false, true} {
		b.Run(fmt.Sprintf("rotation=%v", rotation), func(b *testing.B) {
			srv := benchProvider(b)
			base := stormClient(b, srv, rotation, benchKeyAge)
			stores := make([]logto.Storage, sessions)
			for s := range stores {
				stores[s] = logto.NewMemoryStorage()
				signInAs(b, srv, base.WithStorage(stores[s]), aliceID)
			}
			requests := 0
			rounds(b, func() {
				srv.Advance(benchTTL)
				srv.ResetRequests()
			}, func() error {
				storm(b, srv, base, stores, perSession, apiResource)
				b.StopTimer()
				requests += srv.RequestCount(logtotest.EndpointToken)
				b.StartTimer()
				return nil
			})
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N*sessions)
			b.ReportMetric(float64(requests)/float64(b.N*sessions), "refresh-requests/session")
			b.ReportMetric(perOp, "ns/session")
		})
	}
}

// BenchmarkRefreshBurst: 100 goroutines ask for one expired token at
// once; one refresh serves them all. B/op and allocs/op are per burst.
// token=userinfo is the default token (x/oauth2's own refresh in the
// hand-written client), token=api an API-resource token.
func BenchmarkRefreshBurst(b *testing.B) {
	const callers = 100
	burst := func(get func(ctx context.Context) (string, error)) error {
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := get(context.Background()); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	}
	for _, token := range []struct{ name, resource string }{{"userinfo", ""}, {"api", apiResource}} {
		b.Run("token="+token.name+"/impl=logto", func(b *testing.B) {
			srv := benchProvider(b)
			c, _ := sdkSession(b, srv, benchKeyAge)
			rounds(b, func() { srv.Advance(benchTTL) }, func() error {
				return burst(func(ctx context.Context) (string, error) { return c.GetAccessToken(ctx, token.resource) })
			})
		})
		b.Run("token="+token.name+"/impl=handwritten", func(b *testing.B) {
			srv := benchProvider(b)
			_, rt := sdkSession(b, srv)
			h := newHandRefresher(b, srv, rt, token.resource)
			rounds(b, func() { srv.Advance(benchTTL); h.expire() }, func() error { return burst(h.token) })
		})
		b.Run("token="+token.name+"/impl=paired", func(b *testing.B) {
			srv := benchProvider(b)
			c, _ := sdkSession(b, srv, benchKeyAge)
			hsrv := benchProvider(b)
			_, rt := sdkSession(b, hsrv)
			h := newHandRefresher(b, hsrv, rt, token.resource)
			pairedRounds(b,
				pairedSide{func() { srv.Advance(benchTTL) }, func() error {
					return burst(func(ctx context.Context) (string, error) { return c.GetAccessToken(ctx, token.resource) })
				}},
				pairedSide{func() { hsrv.Advance(benchTTL); h.expire() }, func() error { return burst(h.token) }})
		})
	}
}

// BenchmarkRefreshAPIResource: one refresh of an expired API-resource
// token. impl=roundtrip is the floor: the bare token request and the
// decoding of its JSON. impl=logto is the SDK, id-token=fresh while the
// session's ID token is fresh (it is kept: no signature to verify),
// id-token=due when it is due too (the new one is verified and stored).
// impl=handwritten verifies the ID token on every refresh.
func BenchmarkRefreshAPIResource(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=roundtrip", func(b *testing.B) {
		srv := benchProvider(b)
		_, rt := sdkSession(b, srv)
		hc := &http.Client{Timeout: 30 * time.Second}
		rounds(b, func() { srv.Advance(benchTTL) }, func() error { return roundTrip(hc, srv, rt) })
	})
	b.Run("impl=logto/id-token=fresh", func(b *testing.B) {
		srv := benchProvider(b, logtotest.WithIDTokenTTL(365*24*time.Hour))
		c, _ := sdkSession(b, srv, benchKeyAge)
		rounds(b, func() { srv.Advance(benchTTL) }, func() error {
			_, err := c.GetAccessToken(ctx, apiResource)
			return err
		})
	})
	b.Run("impl=logto/id-token=due", func(b *testing.B) {
		srv := benchProvider(b)
		c, _ := sdkSession(b, srv, benchKeyAge)
		rounds(b, func() { srv.Advance(benchTTL) }, func() error {
			_, err := c.GetAccessToken(ctx, apiResource)
			return err
		})
	})
	b.Run("impl=handwritten", func(b *testing.B) {
		srv := benchProvider(b)
		_, rt := sdkSession(b, srv)
		h := newHandRefresher(b, srv, rt, apiResource)
		rounds(b, func() { srv.Advance(benchTTL); h.expire() }, func() error {
			_, err := h.token(ctx)
			return err
		})
	})
	// The SDK with a fresh ID token against the bare round trip, and with
	// a due one against the hand-written client, which verifies it too.
	b.Run("pair=fresh-vs-roundtrip", func(b *testing.B) {
		srv := benchProvider(b, logtotest.WithIDTokenTTL(365*24*time.Hour))
		c, _ := sdkSession(b, srv, benchKeyAge)
		rsrv := benchProvider(b)
		_, rt := sdkSession(b, rsrv)
		hc := &http.Client{Timeout: 30 * time.Second}
		pairedRounds(b,
			pairedSide{func() { srv.Advance(benchTTL) }, func() error {
				_, err := c.GetAccessToken(ctx, apiResource)
				return err
			}},
			pairedSide{func() { rsrv.Advance(benchTTL) }, func() error { return roundTrip(hc, rsrv, rt) }})
	})
	b.Run("pair=due-vs-handwritten", func(b *testing.B) {
		srv := benchProvider(b)
		c, _ := sdkSession(b, srv, benchKeyAge)
		hsrv := benchProvider(b)
		_, rt := sdkSession(b, hsrv)
		h := newHandRefresher(b, hsrv, rt, apiResource)
		pairedRounds(b,
			pairedSide{func() { srv.Advance(benchTTL) }, func() error {
				_, err := c.GetAccessToken(ctx, apiResource)
				return err
			}},
			pairedSide{func() { hsrv.Advance(benchTTL); h.expire() }, func() error {
				_, err := h.token(ctx)
				return err
			}})
	})
}

// roundTrip is the floor of an API-resource refresh: the bare token
// request with rt and the decoding of its JSON. One client hc keeps its
// connection alive across rounds, as the SDK's does.
func roundTrip(hc *http.Client, srv *logtotest.Server, rt string) error {
	body, err := postRefresh(context.Background(), hc, srv.Issuer()+"/token", rt, apiResource)
	if err != nil {
		return err
	}
	var tr handTokenResponse
	return json.Unmarshal(body, &tr)
}
