package logtohttp

import (
	"net/http"
	"testing"
)

var okBody = []byte("ok")

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }

// BenchmarkProtectedRequest serves a signed-in user's request through
// RequireAuth to a handler that reads the ID token claims, with each kind
// of session. It reports the requests sent to Logto per operation, which
// must be 0.
func BenchmarkProtectedRequest(b *testing.B) {
	for _, kind := range sessionKinds {
		b.Run(kind, func(b *testing.B) {
			e := newEnv(b, envOptions{kind: kind})
			browser := e.browser()
			e.signIn(browser, "")
			cookie := e.cookieHeader(browser)

			handler := e.h.RequireAuth(AuthOptions{Redirect: true})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				claims, ok := IdTokenClaims(r.Context())
				if !ok || claims.Subject != testUserID {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				_, _ = w.Write(okBody)
			}))
			req := request(http.MethodGet, "/protected/page", cookie)
			w := &discardWriter{h: http.Header{}}
			handler.ServeHTTP(w, req)
			if w.status != 0 && w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
			before := totalProviderRequests(e.idp)

			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				handler.ServeHTTP(w, req)
			}
			b.StopTimer()
			if w.status != 0 && w.status != http.StatusOK || len(w.h["Set-Cookie"]) != 0 {
				b.Fatalf("status %d, header %v", w.status, w.h)
			}
			b.ReportMetric(float64(totalProviderRequests(e.idp)-before)/float64(b.N), "provider-requests/op")
		})
	}
}

// BenchmarkCookieOpen decrypts a signed-in session of a few kilobytes
// without the cache of recently seen cookies: the cost of a browser's
// first request to an instance.
func BenchmarkCookieOpen(b *testing.B) {
	e := newEnv(b, envOptions{})
	browser := e.browser()
	e.signIn(browser, "")
	r := request(http.MethodGet, "/", e.cookieHeader(browser))
	var vals [maxChunks]string
	present := scanCookies(r, e.cookies.names.plain[0], &vals)
	b.ReportAllocs()
	for b.Loop() {
		e.cookies.cache.sessions.Delete(vals[0])
		if e.cookies.open(&vals, present) == nil {
			b.Fatal("cannot open")
		}
	}
	b.ReportMetric(float64(len(vals[0])), "cookie-bytes")
}

// BenchmarkScanCookies reads a signed-in session's chunks from a Cookie
// header that also holds other cookies: with scanCookies, and with
// net/http's Request.Cookies, which parses and validates every cookie.
// It is why the package scans the header itself.
func BenchmarkScanCookies(b *testing.B) {
	e := newEnv(b, envOptions{})
	browser := e.browser()
	e.signIn(browser, "")
	r := request(http.MethodGet, "/", "theme=dark; "+e.cookieHeader(browser)+"; _ga=GA1.2.3")
	name := e.cookies.names.plain[0]
	b.Run("scanCookies", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var vals [maxChunks]string
			if scanCookies(r, name, &vals)&1 == 0 {
				b.Fatal("not found")
			}
		}
	})
	b.Run("Request.Cookies", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var vals [maxChunks]string
			var present uint32
			for _, c := range r.Cookies() {
				if i := chunkIndex(c.Name, name); i >= 0 && present&(1<<i) == 0 {
					vals[i], present = c.Value, present|1<<i
				}
			}
			if present&1 == 0 {
				b.Fatal("not found")
			}
		}
	})
}
