package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

type keyPair struct {
	priv *ecdsa.PrivateKey
	kid  string
}

func newKey(t *testing.T, kid string) keyPair {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{k, kid}
}

func (k keyPair) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: "ES384", Use: "sig"}
}

func (k keyPair) sign(t *testing.T, payload string, withKid bool) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	key := jose.SigningKey{Algorithm: jose.ES384, Key: k.priv}
	if withKid {
		key.Key = jose.JSONWebKey{Key: k.priv, KeyID: k.kid}
	}
	s, err := jose.NewSigner(key, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jwksServer serves the public keys it holds and counts fetches.
type jwksServer struct {
	*httptest.Server
	mu           sync.Mutex
	keys         []jose.JSONWebKey
	cacheControl string // the Cache-Control header of each answer, if any
	hits         atomic.Int64
	fail         atomic.Bool
	delay        chan struct{}
}

// setKeys replaces the published keys.
func (s *jwksServer) setKeys(keys ...jose.JSONWebKey) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

func newJWKSServer(t *testing.T, keys ...jose.JSONWebKey) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.delay != nil {
			<-s.delay
		}
		if s.fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.cacheControl != "" {
			w.Header().Set("Cache-Control", s.cacheControl)
		}
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: s.keys})
	}))
	t.Cleanup(s.Close)
	return s
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

func TestVerifyAndRotation(t *testing.T) {
	ctx := context.Background()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	srv := newJWKSServer(t, k1.public())
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	ks := newKeySet(srv, time.Minute, 0, clk.now)

	payload, err := ks.VerifySignature(ctx, k1.sign(t, `{"a":1}`, true))
	if err != nil || string(payload) != `{"a":1}` {
		t.Fatalf("got %q, %v", payload, err)
	}
	if srv.hits.Load() != 1 {
		t.Fatalf("one fetch expected, got %d", srv.hits.Load())
	}
	// A key rotated in right after the first fetch is fetched at once:
	// the first fetch does not start the cooldown (issue 9 item 4).
	srv.mu.Lock()
	srv.keys = append(srv.keys, k2.public())
	srv.mu.Unlock()
	if _, err := ks.VerifySignature(ctx, k2.sign(t, `{}`, true)); err != nil {
		t.Fatalf("a key rotated in after the first fetch must be fetched: %v", err)
	}
	if srv.hits.Load() != 2 {
		t.Fatalf("want 2 fetches, got %d", srv.hits.Load())
	}
	// Within the cooldown of that refetch, another unknown kid is refused
	// without a fetch; after it, it is fetched.
	k3 := newKey(t, "k3")
	srv.mu.Lock()
	srv.keys = append(srv.keys, k3.public())
	srv.mu.Unlock()
	clk.add(time.Minute - time.Second)
	if _, err := ks.VerifySignature(ctx, k3.sign(t, `{}`, true)); !errors.Is(err, ErrNoKey) {
		t.Fatalf("want ErrNoKey within the cooldown, got %v", err)
	}
	if srv.hits.Load() != 2 {
		t.Fatalf("no refetch within the cooldown, got %d fetches", srv.hits.Load())
	}
	clk.add(time.Second)
	if _, err := ks.VerifySignature(ctx, k3.sign(t, `{}`, true)); err != nil {
		t.Fatalf("after the cooldown the new key is fetched: %v", err)
	}
	if srv.hits.Load() != 3 {
		t.Fatalf("want 3 fetches, got %d", srv.hits.Load())
	}
	// A known kid with a bad signature never causes a refetch.
	clk.add(time.Minute)
	forged := k1.sign(t, `{}`, true)
	forged = forged[:len(forged)-4] + "AAAA"
	if _, err := ks.VerifySignature(ctx, forged); !errors.Is(err, ErrNoKey) {
		t.Fatalf("want ErrNoKey, got %v", err)
	}
	if srv.hits.Load() != 3 {
		t.Fatalf("a bad signature with a known kid must not refetch")
	}
}

func TestOutageKeepsHeldKeys(t *testing.T) {
	ctx := context.Background()
	k1 := newKey(t, "k1")
	srv := newJWKSServer(t, k1.public())
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	ks := newKeySet(srv, time.Minute, 0, clk.now)
	if _, err := ks.VerifySignature(ctx, k1.sign(t, `{}`, true)); err != nil {
		t.Fatal(err)
	}
	srv.fail.Store(true)
	clk.add(time.Hour)
	if _, err := ks.VerifySignature(ctx, newKey(t, "k9").sign(t, `{}`, true)); err == nil {
		t.Fatal("an unknown key must fail while the JWKS is down")
	}
	if _, err := ks.VerifySignature(ctx, k1.sign(t, `{}`, true)); err != nil {
		t.Fatalf("keys already held keep working during an outage: %v", err)
	}
}

func TestKidAbsent(t *testing.T) {
	ctx := context.Background()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	srv := newJWKSServer(t, k1.public(), k2.public())
	ks := newKeySet(srv, time.Minute, 0, time.Now)
	for _, k := range []keyPair{k1, k2} {
		if _, err := ks.VerifySignature(ctx, k.sign(t, `{}`, false)); err != nil {
			t.Fatalf("a kid-less token is tried against every compatible key: %v", err)
		}
	}
}

func TestOneFetchInFlight(t *testing.T) {
	k1 := newKey(t, "k1")
	srv := newJWKSServer(t, k1.public())
	srv.delay = make(chan struct{})
	ks := newKeySet(srv, time.Minute, 0, time.Now)
	tok := k1.sign(t, `{}`, true)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ks.VerifySignature(context.Background(), tok)
			errs <- err
		}()
	}
	// A waiter whose context ends gives up without waiting for the fetch.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	time.Sleep(20 * time.Millisecond)
	if _, err := ks.VerifySignature(ctx, tok); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the caller's deadline, got %v", err)
	}
	close(srv.delay)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if srv.hits.Load() != 1 {
		t.Fatalf("concurrent callers share one fetch, got %d", srv.hits.Load())
	}
}

func TestParse(t *testing.T) {
	k1 := newKey(t, "k1")
	good, _ := json.Marshal(k1.public())
	tests := []struct {
		name string
		doc  string
		keys int
	}{
		{"one key", `{"keys":[` + string(good) + `]}`, 1},
		{"malformed keys skipped", `{"keys":[{"kty":"EC","crv":"P-384","x":"!!"},{"kty":"nope"},42,` + string(good) + `]}`, 1},
		{"symmetric key skipped", `{"keys":[{"kty":"oct","k":"c2VjcmV0"},` + string(good) + `]}`, 1},
		{"no usable key", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`, 0},
		{"empty", `{"keys":[]}`, 0},
		{"not JSON", `<html>`, 0},
	}
	for _, tt := range tests {
		keys, err := Parse([]byte(tt.doc))
		if tt.keys == 0 {
			if err == nil {
				t.Errorf("%s: want an error", tt.name)
			}
			continue
		}
		if err != nil || len(keys) != tt.keys {
			t.Errorf("%s: got %d keys, %v", tt.name, len(keys), err)
		}
	}
}

func TestAlgorithmsAreAsymmetric(t *testing.T) {
	for _, a := range Algorithms {
		switch a {
		case jose.HS256, jose.HS384, jose.HS512, "none":
			t.Fatalf("%s must not be allowed", a)
		}
	}
}
