package logtohttp_test

import (
	"testing"

	"github.com/gologto/logto/logtohttp"
	"github.com/gologto/logto/logtohttp/storetest"
)

// TestMemoryStoreConformance runs the store conformance table against the
// memory store.
func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, storetest.Config{Store: logtohttp.NewMemorySessionStore(0, 1000)})
}

// TestMemoryStoreInstances runs the multi-instance cases with two
// instances sharing a memory store.
func TestMemoryStoreInstances(t *testing.T) {
	storetest.RunInstances(t, logtohttp.NewMemorySessionStore(0, 1000))
}

// BenchmarkSharedStoreProtectedRequest is a protected request with
// server sessions in the memory store and with cookie sessions, for
// comparison with the Redis and PostgreSQL stores' benchmarks.
func BenchmarkSharedStoreProtectedRequest(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		s, err := logtohttp.NewServerSessions(logtohttp.NewMemorySessionStore(0, 1000), logtohttp.CookieOptions{})
		if err != nil {
			b.Fatal(err)
		}
		storetest.BenchmarkProtectedRequest(b, s)
	})
	b.Run("cookie", func(b *testing.B) {
		s, err := logtohttp.NewCookieSessions(logtohttp.CookieOptions{Keys: [][]byte{make([]byte, 32)}})
		if err != nil {
			b.Fatal(err)
		}
		storetest.BenchmarkProtectedRequest(b, s)
	})
}
