package logto_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// sdkEndpoints are the endpoints the SDK calls itself (the authorization
// endpoint is the browser's).
var sdkEndpoints = []logtotest.Endpoint{
	logtotest.EndpointDiscovery, logtotest.EndpointJWKS, logtotest.EndpointToken,
	logtotest.EndpointUserInfo, logtotest.EndpointRevocation, logtotest.EndpointEndSession,
}

func sdkRequests(srv *logtotest.Server) int {
	n := 0
	for _, e := range sdkEndpoints {
		n += srv.RequestCount(e)
	}
	return n
}

// measure resets the request log and timer, runs the loop, and reports how
// many requests the SDK sent per operation and the CPU time the process
// spent per operation (cpu-ns/op: client, in-process provider and garbage
// collector together). On a shared machine cpu-ns/op moves less than
// ns/op, which also counts the time spent waiting for a core.
func measure(b *testing.B, srv *logtotest.Server, loop func()) {
	b.Helper()
	b.ReportAllocs()
	srv.ResetRequests()
	b.ResetTimer()
	cpu := processCPU()
	loop()
	cpu = processCPU() - cpu
	b.StopTimer()
	b.ReportMetric(float64(sdkRequests(srv))/float64(b.N), "requests/op")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// measureEach runs prepare (untimed) then op (timed) b.N times and reports
// the requests op sent per operation.
func measureEach(b *testing.B, srv *logtotest.Server, prepare func(), op func() error) {
	b.Helper()
	b.ReportAllocs()
	requests := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		prepare()
		srv.ResetRequests()
		b.StartTimer()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		requests += sdkRequests(srv)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
}

func signedIn(b *testing.B) *fixture {
	b.Helper()
	// A long refresh-token life lets the loops move the clock freely; the
	// refresh benchmarks move it by the tokens' one-minute life per round,
	// and a day-old key set (benchKeyAge) keeps key fetches out of them.
	srv := benchProvider(b)
	f := newFixtureWith(b, srv, logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret,
		Scopes: allScopes(), Resources: []string{apiResource},
	}, benchKeyAge)
	f.signIn(b, aliceID)
	return f
}

func BenchmarkSignIn(b *testing.B) {
	f := signedIn(b)
	ctx := context.Background()
	measure(b, f.srv, func() {
		for i := 0; i < b.N; i++ {
			if _, err := f.client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkHandleCallback(b *testing.B) {
	f := signedIn(b)
	ctx := context.Background()
	var cb string
	measureEach(b, f.srv,
		func() { cb = f.callbackFor(b, aliceID) },
		func() error { return f.client.HandleCallback(ctx, cb) })
}

// BenchmarkRefresh measures one refresh of an expired API token: one token
// request and one ID token verification.
func BenchmarkRefresh(b *testing.B) {
	f := signedIn(b)
	ctx := context.Background()
	measureEach(b, f.srv,
		func() { f.srv.Advance(benchTTL) }, // the cached token is now stale
		func() error { _, err := f.client.GetAccessToken(ctx, apiResource); return err })
}

func BenchmarkFetchUserInfo(b *testing.B) {
	f := signedIn(b)
	ctx := context.Background()
	measure(b, f.srv, func() {
		for i := 0; i < b.N; i++ {
			if _, err := f.client.FetchUserInfo(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSignOut(b *testing.B) {
	f := signedIn(b)
	ctx := context.Background()
	session := f.snapshot()
	measureEach(b, f.srv,
		func() {
			for k, v := range session {
				_ = f.store.Set(ctx, k, v)
			}
		},
		func() error { _, err := f.client.SignOut(ctx, postLogout); return err })
}

func BenchmarkGetAccessTokenCached(b *testing.B) {
	f := signedIn(b)
	ctx := context.Background()
	if _, err := f.client.GetAccessToken(ctx, apiResource); err != nil {
		b.Fatal(err)
	}
	measure(b, f.srv, func() {
		for i := 0; i < b.N; i++ {
			if _, err := f.client.GetAccessToken(ctx, apiResource); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkIsAuthenticated(b *testing.B) {
	f := signedIn(b)
	ctx := context.Background()
	measure(b, f.srv, func() {
		for i := 0; i < b.N; i++ {
			if !f.client.IsAuthenticated(ctx) {
				b.Fatal("signed out")
			}
		}
	})
}

func BenchmarkGetIdTokenClaims(b *testing.B) {
	f := signedIn(b)
	ctx := context.Background()
	measure(b, f.srv, func() {
		for i := 0; i < b.N; i++ {
			if _, err := f.client.GetIdTokenClaims(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPerRequestView is what a web request costs: a view of the shared
// client bound to the request's session, IsAuthenticated and the claims.
func BenchmarkPerRequestView(b *testing.B) {
	f := signedIn(b)
	ctx := context.Background()
	measure(b, f.srv, func() {
		for i := 0; i < b.N; i++ {
			view := f.client.WithStorage(f.store)
			if !view.IsAuthenticated(ctx) {
				b.Fatal("signed out")
			}
			if _, err := view.GetIdTokenClaims(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkConcurrentRefresh lets 100 goroutines ask for one expired token
// at once; they must share a single token request.
func BenchmarkConcurrentRefresh(b *testing.B) {
	f := signedIn(b)
	ctx := context.Background()
	measureEach(b, f.srv,
		func() { f.srv.Advance(benchTTL) },
		func() error {
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for g := 0; g < 100; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := f.client.GetAccessToken(ctx, apiResource); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			return <-errs
		})
}
