package apiauth_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/logtotest"
)

// BenchmarkVerify compares a first verification (ES384 signature, cache
// disabled) with a repeated token answered from the cache.
func BenchmarkVerify(b *testing.B) {
	srv := logtotest.NewServer(b)
	ctx := context.Background()
	tok := accessToken(srv, nil)
	for _, bc := range []struct {
		name  string
		cache int
	}{{"first", -1}, {"cached", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			v := newVerifier(b, srv, func(c *apiauth.Config) { c.CacheSize = bc.cache })
			if _, err := v.Verify(ctx, tok); err != nil { // discovery and keys
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.Verify(ctx, tok, apiauth.RequireScopes("read:data")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMiddleware compares an unprotected handler with the same
// handler behind the middleware, for a client repeating its token.
func BenchmarkMiddleware(b *testing.B) {
	srv := logtotest.NewServer(b)
	v := newVerifier(b, srv, nil)
	authz := "Bearer " + accessToken(srv, nil)
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"unprotected", hello}, {"protected", v.Middleware(apiauth.RequireScopes("read:data"))(hello)}} {
		b.Run(bc.name, func(b *testing.B) {
			r, _ := http.NewRequest(http.MethodGet, "/data", nil)
			r.Header.Set("Authorization", authz)
			w := &discardWriter{h: http.Header{}}
			bc.h.ServeHTTP(w, r)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bc.h.ServeHTTP(w, r)
				if w.status != 0 && w.status != 200 {
					b.Fatal(w.status)
				}
			}
		})
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }
