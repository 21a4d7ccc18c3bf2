package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gologto/logto/logtohttp"
	"github.com/gologto/logto/logtohttp/storetest"
	"github.com/gologto/logto/stores/pgstore"
)

// dsnEnv names the variable with the connection string of the PostgreSQL
// server the tests use; .ci/stores.sh starts one and sets it.
const dsnEnv = "PGSTORE_TEST_DSN"

func serverDSN(t testing.TB) string {
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set (run .ci/stores.sh)", dsnEnv)
		}
		t.Skipf("%s is not set: no PostgreSQL server to test against", dsnEnv)
	}
	return dsn
}

// viaProxy returns dsn with its host and port replaced by a proxy's.
func viaProxy(t testing.TB, dsn string) (string, *storetest.Proxy) {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", dsnEnv, err)
	}
	p := storetest.NewProxy(t, u.Host)
	u.Host = p.Addr()
	return u.String(), p
}

// newStore returns a store on tables of its own, dropped when t ends.
func newStore(t testing.TB, dsn string, opts pgstore.Options) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	opts.Table = "logtotest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		pool.Close()
		clean, err := pgxpool.New(ctx, serverDSN(t))
		if err != nil {
			return
		}
		defer clean.Close()
		_, _ = clean.Exec(ctx, "DROP TABLE IF EXISTS "+opts.Table+", "+opts.Table+"_locks")
	})
	s, err := pgstore.New(ctx, pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, pool
}

// TestConformance runs the store conformance table against PostgreSQL,
// through a proxy that takes the server away for the outage case.
func TestConformance(t *testing.T) {
	dsn, proxy := viaProxy(t, serverDSN(t))
	s, _ := newStore(t, dsn, pgstore.Options{MaxRecordBytes: 64 << 10})
	storetest.Run(t, storetest.Config{Store: s, MaxRecordBytes: 64 << 10, Outage: proxy.Outage})
}

// TestInstances runs the multi-instance cases with two instances sharing
// one PostgreSQL store.
func TestInstances(t *testing.T) {
	s, _ := newStore(t, serverDSN(t), pgstore.Options{})
	storetest.RunInstances(t, s)
}

func TestDeleteExpired(t *testing.T) {
	s, _ := newStore(t, serverDSN(t), pgstore.Options{})
	ctx := context.Background()
	rec := logtohttp.SessionRecord{Values: map[string]string{"k": "v"}}
	if err := s.Set(ctx, "short", rec, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "long", rec, time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	n, err := s.DeleteExpired(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired: %d, %v; want 1", n, err)
	}
	if _, ok, _ := s.Get(ctx, "long"); !ok {
		t.Fatal("DeleteExpired deleted a live record")
	}
}

func TestSchemaValidatesTable(t *testing.T) {
	for _, name := range []string{"x; DROP TABLE y", "Sessions", "a.b.c", "1abc", `"q"`} {
		if _, err := pgstore.Schema(name); err == nil {
			t.Errorf("Schema(%q) accepted the name", name)
		}
	}
	for _, name := range []string{"", "sessions", "app.logto_sessions"} {
		if _, err := pgstore.Schema(name); err != nil {
			t.Errorf("Schema(%q): %v", name, err)
		}
	}
}

func TestSkipCreate(t *testing.T) {
	_, pool := newStore(t, serverDSN(t), pgstore.Options{})
	ctx := context.Background()
	s, err := pgstore.New(ctx, pool, pgstore.Options{Table: "logtotest_never_created", SkipCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "x"); err == nil {
		t.Fatal("Get on a table never created succeeded")
	}
}

// BenchmarkProtectedRequest is a protected request with server sessions
// in PostgreSQL (compare with logtohttp's
// BenchmarkSharedStoreProtectedRequest for the memory store and cookies).
func BenchmarkProtectedRequest(b *testing.B) {
	s, _ := newStore(b, serverDSN(b), pgstore.Options{})
	sessions, err := logtohttp.NewServerSessions(s, logtohttp.CookieOptions{Keys: [][]byte{make([]byte, 32)}})
	if err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkProtectedRequest(b, sessions)
}
