// Package jwks keeps a provider's JSON Web Key Set and verifies JWS
// signatures with it.
//
// The set is fetched on first use and fetched again:
//   - when it is older than its maximum age, so that a key the provider
//     removed stops verifying (the age honours the response's
//     Cache-Control max-age within bounds, see lifetime.go);
//   - when a token names a key id the set does not hold (the provider
//     rotated its keys), unless such a refetch already ran within the
//     cooldown: a flood of forged key ids costs one fetch per cooldown.
//
// A failed fetch is retried at most once per cooldown; meanwhile the held
// keys keep working up to StaleGrace past their maximum age. One fetch is
// in flight at a time, and each caller waits only as long as its own
// context allows.
package jwks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gologto/logto/internal/defaults"
)

// Algorithms lists the asymmetric JWS algorithms the SDK can verify. HMAC
// and "none" are never accepted: a public key must not be used as a secret.
var Algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// Bounds of the key set's timing. Its defaults, and the longest maximum
// age that may be configured, are in package defaults.
const (
	// MaxAgeFloor is the shortest lifetime a JWKS response's Cache-Control
	// can give the set: Logto answers "no-cache, max-age=0", which would
	// otherwise mean a fetch per token. A configured MaxAge below it wins.
	MaxAgeFloor = time.Minute
	// StaleGrace is how long past its maximum age a key set is still used
	// while refetching it fails (the provider is down). After it,
	// verification fails closed until a fetch succeeds.
	StaleGrace = time.Hour
)

// ErrNoKey means no key of the set verifies the token's signature.
var ErrNoKey = errors.New("no matching key verifies the signature")

// Config describes a key set.
type Config struct {
	// URL is the provider's jwks_uri.
	URL string
	// Client makes the requests; it should not follow redirects.
	Client *http.Client
	// MaxBody caps the response body.
	MaxBody int64
	// Cooldown is the least time between two refetches caused by unknown
	// key ids, and between retries after a failed fetch. Zero disables
	// both limits.
	Cooldown time.Duration
	// MaxAge is the longest the set is held before it is fetched again;
	// a shorter Cache-Control max-age of the response wins (not below
	// MaxAgeFloor). Zero means defaults.JWKSMaxAge.
	MaxAge time.Duration
	// Now is the clock.
	Now func() time.Time
}

// KeySet is safe for concurrent use.
type KeySet struct {
	cfg Config

	mu sync.Mutex
	// keys are those of the last successful fetch, number keysFrom, held
	// until expires.
	keys     []jose.JSONWebKey
	keysFrom uint64
	expires  time.Time
	// started counts the fetches begun so far; a caller remembers it to
	// tell a fetch begun after it looked from an older one.
	started uint64
	// refetchedAt is when the last refetch for an unknown key id began
	// (zero if none did): the cooldown counts from it.
	refetchedAt time.Time
	// failedAt and lastErr describe the last fetch if it failed.
	failedAt time.Time
	lastErr  error
	inflight *fetch
}

type fetch struct {
	seq  uint64
	done chan struct{}
	err  error
	// abandoned: the fetch failed because the context of the caller that
	// started it ended; it says nothing about the provider.
	abandoned bool
}

// New returns a KeySet for cfg. It makes no request until first used.
func New(cfg Config) *KeySet {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = defaults.JWKSMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &KeySet{cfg: cfg}
}

// VerifySignature implements go-oidc's KeySet: it checks raw's signature
// and returns its payload. Only the compact serialization is accepted:
// JWTs are compact (RFC 7519 7.1), and the JSON serialization could carry
// unprotected header members.
func (k *KeySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	payload, _, err := k.Verify(ctx, raw)
	return payload, err
}

// Verify is VerifySignature that also reports until when the verdict may
// be reused: the maximum age of the keys that verified (in the past when
// stale keys served during an outage). A cache of verified tokens must
// not outlive it, or a key the provider removed would still be trusted.
func (k *KeySet) Verify(ctx context.Context, raw string) ([]byte, time.Time, error) {
	jws, err := jose.ParseSignedCompact(raw, Algorithms)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("malformed JWS: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, time.Time{}, errors.New("JWS must carry exactly one signature")
	}
	h := jws.Signatures[0].Header
	v, err := k.current(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	payload, found, err := verifyWith(jws, h, v.keys)
	if err == nil {
		return payload, v.expires, nil
	}
	// An unknown key id (or a failure with no kid) may mean the provider
	// rotated its keys: refetch, unless that was done within the cooldown.
	if found && h.KeyID != "" {
		return nil, time.Time{}, err
	}
	if rerr := k.update(ctx, v.seen, true); rerr != nil {
		return nil, time.Time{}, fmt.Errorf("%w (refetching keys: %w)", err, rerr)
	}
	v = k.held()
	payload, _, err = verifyWith(jws, h, v.keys)
	if err != nil {
		return nil, time.Time{}, err
	}
	return payload, v.expires, nil
}

// Keys returns a copy of the keys held now, fresh or not.
func (k *KeySet) Keys() []jose.JSONWebKey {
	return append([]jose.JSONWebKey(nil), k.held().keys...)
}

// Expires reports when the held keys pass their maximum age (zero before
// the first successful fetch).
func (k *KeySet) Expires() time.Time {
	return k.held().expires
}

func (k *KeySet) held() view {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.viewLocked()
}

// verifyWith tries the candidate keys. found reports whether a key with the
// header's kid exists.
func verifyWith(jws *jose.JSONWebSignature, h jose.Header, keys []jose.JSONWebKey) ([]byte, bool, error) {
	found := false
	for i := range keys {
		key := &keys[i]
		if h.KeyID != "" && key.KeyID != h.KeyID {
			continue
		}
		if key.Use == "enc" || (key.Algorithm != "" && key.Algorithm != h.Algorithm) {
			continue
		}
		found = true
		if payload, err := jws.Verify(key.Key); err == nil {
			return payload, true, nil
		}
	}
	if !found && h.KeyID != "" {
		return nil, false, fmt.Errorf("%w: unknown key id %q", ErrNoKey, h.KeyID)
	}
	return nil, found, ErrNoKey
}
