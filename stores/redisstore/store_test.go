package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gologto/logto/logtohttp"
	"github.com/gologto/logto/logtohttp/storetest"
	"github.com/gologto/logto/stores/redisstore"
)

// addrEnv names the variable with the address of the Redis server the
// tests use (host:port); .ci/stores.sh starts one and sets it.
const addrEnv = "REDISSTORE_TEST_ADDR"

// serverAddr returns the test server's address, skipping the test when
// none is configured (failing it on CI).
func serverAddr(t testing.TB) string {
	addr := os.Getenv(addrEnv)
	if addr == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set (run .ci/stores.sh)", addrEnv)
		}
		t.Skipf("%s is not set: no Redis server to test against", addrEnv)
	}
	return addr
}

// newStore returns a store on a key prefix of its own, through addr,
// whose keys are deleted when t ends.
func newStore(t testing.TB, addr string, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{
		Addr: addr, ContextTimeoutEnabled: true,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: 1,
	})
	var b [6]byte
	_, _ = rand.Read(b[:])
	opts.Prefix = "logtotest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		clean := redis.NewClient(&redis.Options{Addr: serverAddr(t)})
		defer clean.Close()
		iter := clean.Scan(ctx, 0, opts.Prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			clean.Del(ctx, iter.Val())
		}
		_ = rdb.Close()
	})
	s, err := redisstore.New(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the store conformance table against Redis, through
// a proxy that takes the server away for the outage case.
func TestConformance(t *testing.T) {
	proxy := storetest.NewProxy(t, serverAddr(t))
	storetest.Run(t, storetest.Config{
		Store:          newStore(t, proxy.Addr(), redisstore.Options{MaxRecordBytes: 64 << 10}),
		MaxRecordBytes: 64 << 10,
		Outage:         proxy.Outage,
	})
}

// TestInstances runs the multi-instance cases with two instances sharing
// one Redis store.
func TestInstances(t *testing.T) {
	storetest.RunInstances(t, newStore(t, serverAddr(t), redisstore.Options{}))
}

func TestMaxTTL(t *testing.T) {
	s := newStore(t, serverAddr(t), redisstore.Options{MaxTTL: 150 * time.Millisecond})
	ctx := context.Background()
	if err := s.Set(ctx, "capped", logtohttp.SessionRecord{Values: map[string]string{"k": "v"}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, ok, err := s.Get(ctx, "capped")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("MaxTTL did not cap the record's TTL")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := redisstore.New(nil, redisstore.Options{}); err == nil {
		t.Error("New without a client succeeded")
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	if _, err := redisstore.New(rdb, redisstore.Options{MaxRecordBytes: -1}); err == nil {
		t.Error("New with a negative MaxRecordBytes succeeded")
	}
}

// BenchmarkProtectedRequest is a protected request with server sessions
// in Redis (compare with logtohttp's BenchmarkSharedStoreProtectedRequest
// for the memory store and cookie sessions).
func BenchmarkProtectedRequest(b *testing.B) {
	s := newStore(b, serverAddr(b), redisstore.Options{})
	sessions, err := logtohttp.NewServerSessions(s, logtohttp.CookieOptions{Keys: [][]byte{make([]byte, 32)}})
	if err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkProtectedRequest(b, sessions)
}
