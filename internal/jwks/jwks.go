// Package jwks keeps a provider's JSON Web Key Set and verifies JWS
// signatures with it. Keys are fetched once and refetched only when a token
// names a key id the set does not hold, at most once per cooldown, with one
// fetch in flight however many callers wait for it.
package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gologto/logto/internal/httpx"
)

// Algorithms lists the asymmetric JWS algorithms the SDK can verify. HMAC
// and "none" are never accepted: a public key must not be used as a secret.
var Algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// ErrNoKey means no key of the set verifies the token's signature.
var ErrNoKey = errors.New("no matching key verifies the signature")

// KeySet is safe for concurrent use.
type KeySet struct {
	url      string
	client   *http.Client
	maxBody  int64
	cooldown time.Duration
	now      func() time.Time

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time // last fetch attempt, zero before the first
	inflight  *fetch
}

type fetch struct {
	done chan struct{}
	err  error
	// abandoned: the fetch failed because the context of the caller that
	// started it ended; it says nothing about the provider.
	abandoned bool
}

// New returns a KeySet reading url with client. cooldown is the least time
// between two refetches; now is the clock.
func New(url string, client *http.Client, maxBody int64, cooldown time.Duration, now func() time.Time) *KeySet {
	return &KeySet{url: url, client: client, maxBody: maxBody, cooldown: cooldown, now: now}
}

// VerifySignature implements go-oidc's KeySet: it checks raw's signature
// and returns its payload. Only the compact serialization is accepted:
// JWTs are compact (RFC 7519 7.1), and the JSON serialization could carry
// unprotected header members.
func (k *KeySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, Algorithms)
	if err != nil {
		return nil, fmt.Errorf("malformed JWS: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("JWS must carry exactly one signature")
	}
	h := jws.Signatures[0].Header
	keys, fetchedAt := k.snapshot()
	if fetchedAt.IsZero() {
		if err := k.refresh(ctx, time.Time{}); err != nil {
			return nil, err
		}
		keys, fetchedAt = k.snapshot()
	}
	payload, found, err := verifyWith(jws, h, keys)
	if err == nil {
		return payload, nil
	}
	// An unknown key id (or a failure with no kid) may mean the provider
	// rotated its keys: refetch, unless we did so within the cooldown.
	if found && h.KeyID != "" {
		return nil, err
	}
	if rerr := k.refresh(ctx, fetchedAt); rerr != nil {
		return nil, fmt.Errorf("%w (refetching keys: %w)", err, rerr)
	}
	keys, _ = k.snapshot()
	payload, _, err = verifyWith(jws, h, keys)
	return payload, err
}

// Keys returns a copy of the keys held now.
func (k *KeySet) Keys() []jose.JSONWebKey {
	keys, _ := k.snapshot()
	return append([]jose.JSONWebKey(nil), keys...)
}

func (k *KeySet) snapshot() ([]jose.JSONWebKey, time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys, k.fetchedAt
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

// refresh refetches the key set unless another fetch began after seen, or
// the last one is younger than the cooldown. Concurrent callers share one
// request; each waits only as long as its own context allows. A fetch
// abandoned by the context of the caller that started it does not start
// the cooldown, and the callers still waiting fetch again with theirs.
func (k *KeySet) refresh(ctx context.Context, seen time.Time) error {
	for {
		k.mu.Lock()
		if f := k.inflight; f != nil {
			k.mu.Unlock()
			err := wait(ctx, f)
			// ctx.Err() == nil means wait saw f.done, so f is final.
			if err != nil && ctx.Err() == nil && f.abandoned {
				continue
			}
			return err
		}
		if !k.fetchedAt.IsZero() && (k.fetchedAt.After(seen) || k.now().Sub(k.fetchedAt) < k.cooldown) {
			k.mu.Unlock()
			return nil
		}
		f := &fetch{done: make(chan struct{})}
		k.inflight = f
		k.mu.Unlock()

		keys, err := k.get(ctx)

		k.mu.Lock()
		f.abandoned = err != nil && ctx.Err() != nil
		if !f.abandoned {
			k.fetchedAt = k.now()
		}
		if err == nil {
			k.keys = keys
		}
		k.inflight = nil
		f.err = err
		close(f.done)
		k.mu.Unlock()
		return err
	}
}

func wait(ctx context.Context, f *fetch) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (k *KeySet) get(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	body, err := httpx.ReadBounded(resp.Body, k.maxBody)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: unexpected HTTP status %d", resp.StatusCode)
	}
	return Parse(body)
}

// Parse decodes a JWKS document, keeping the public signing keys it can
// use and skipping malformed or unsupported ones. A document with no usable
// key is an error.
func Parse(body []byte) ([]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	keys := make([]jose.JSONWebKey, 0, len(doc.Keys))
	for _, raw := range doc.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil || !key.Valid() {
			continue
		}
		if !key.IsPublic() {
			key = key.Public()
			if !key.Valid() {
				continue
			}
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("decode JWKS: no usable key")
	}
	return keys, nil
}
