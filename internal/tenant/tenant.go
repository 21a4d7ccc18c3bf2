// Package tenant holds what a resource server or a logout receiver needs
// of a Logto tenant: its issuer and, discovered on first use, its keys.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gologto/logto/internal/defaults"
	"github.com/gologto/logto/internal/httpx"
	"github.com/gologto/logto/internal/jwks"
	"github.com/gologto/logto/internal/oidcmeta"
)

// ErrUnavailable means the tenant's configuration or keys could not be
// fetched.
var ErrUnavailable = errors.New("tenant keys unavailable")

// Verification failures of VerifyJWT.
var (
	ErrMalformed    = errors.New("malformed token or unsupported algorithm")
	ErrWrongType    = errors.New("unexpected token type")
	ErrBadSignature = errors.New("signature verification failed")
)

// Config describes how a tenant is reached.
type Config struct {
	// Endpoint is the tenant URL; the issuer is Endpoint + "/oidc".
	Endpoint string
	// HTTPClient makes the requests (nil: a client with the SDK's
	// timeout); redirects are never followed.
	HTTPClient *http.Client
	// AllowHTTP allows a plain-http Endpoint that is not loopback.
	AllowHTTP bool
	// Cooldown is the least time between two key refetches for unknown
	// key ids, and between two attempts after a failed discovery or key
	// fetch.
	Cooldown time.Duration
	// MaxAge is the longest the key set is held (zero: defaults.JWKSMaxAge).
	MaxAge time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Tenant is safe for concurrent use.
type Tenant struct {
	Issuer string
	cfg    Config
	http   *http.Client

	mu       sync.Mutex
	keys     *jwks.KeySet // nil until a discovery succeeded
	meta     *oidcmeta.Metadata
	inflight *discovery
	failedAt time.Time // when the last discovery failed; zero after a success
	lastErr  error
}

type discovery struct {
	done chan struct{}
	err  error
	// abandoned: the discovery failed because the context of the caller
	// that started it ended; it says nothing about the tenant.
	abandoned bool
}

// New checks cfg.Endpoint (absolute https, or http for loopback or when
// AllowHTTP) and returns its tenant. It makes no request.
func New(cfg Config) (*Tenant, error) {
	endpoint := strings.TrimRight(cfg.Endpoint, "/")
	u, err := url.Parse(endpoint)
	if err != nil || endpoint == "" || !oidcmeta.Allowed(endpoint, cfg.AllowHTTP) || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("endpoint must be an absolute https URL (http only for loopback or when insecure HTTP is allowed)")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Endpoint = endpoint
	return &Tenant{Issuer: endpoint + "/oidc", cfg: cfg, http: httpx.NoRedirects(cfg.HTTPClient)}, nil
}

// VerifyJWT checks the signature of a compact JWS with the tenant's keys
// (asymmetric algorithms only), that its header typ is one of types
// (case-insensitive), and returns the payload.
func (t *Tenant) VerifyJWT(ctx context.Context, token string, types ...string) ([]byte, error) {
	payload, _, err := t.Verify(ctx, token, types...)
	return payload, err
}

// Verify is VerifyJWT that also reports until when the signature's
// verdict may be reused (jwks.KeySet.Verify): a cache of verified tokens
// must not outlive the keys that verified them.
func (t *Tenant) Verify(ctx context.Context, token string, types ...string) ([]byte, time.Time, error) {
	jws, err := jose.ParseSignedCompact(token, jwks.Algorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, time.Time{}, ErrMalformed
	}
	typ, _ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType].(string)
	ok := false
	for _, want := range types {
		ok = ok || strings.EqualFold(typ, want)
	}
	if !ok {
		return nil, time.Time{}, fmt.Errorf("%w: %q is not %s", ErrWrongType, typ, strings.Join(types, " or "))
	}
	keys, err := t.keySet(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	payload, until, err := keys.Verify(ctx, token)
	if err != nil {
		if errors.Is(err, jwks.ErrNoKey) {
			return nil, time.Time{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
		return nil, time.Time{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return payload, until, nil
}

// keySet returns the tenant's key set, discovering it on first use. All
// callers share one discovery in flight, and each waits for it only as
// long as its own context allows; no lock is held across the network. A
// failed discovery is not retried before the cooldown has passed, so
// requests with forged tokens cannot turn into discovery requests while
// the tenant is unreachable. A discovery abandoned by the context of the
// caller that started it is no failure: the callers still waiting
// discover again with theirs.
func (t *Tenant) keySet(ctx context.Context) (*jwks.KeySet, error) {
	for {
		t.mu.Lock()
		if t.keys != nil {
			keys := t.keys
			t.mu.Unlock()
			return keys, nil
		}
		if d := t.inflight; d != nil {
			t.mu.Unlock()
			select {
			case <-d.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: waiting for discovery: %w", ErrUnavailable, ctx.Err())
			}
			if d.err != nil && !d.abandoned {
				return nil, d.err
			}
			continue
		}
		if !t.failedAt.IsZero() && t.cfg.Now().Sub(t.failedAt) < t.cfg.Cooldown {
			err := t.lastErr
			t.mu.Unlock()
			return nil, err
		}
		d := &discovery{done: make(chan struct{})}
		t.inflight = d
		t.mu.Unlock()

		m, err := oidcmeta.Fetch(ctx, t.http, t.Issuer, defaults.MaxResponseBytes, t.cfg.AllowHTTP, "jwks_uri")

		t.mu.Lock()
		if err == nil {
			t.meta = m
			t.keys = jwks.New(jwks.Config{
				URL: m.JWKSURI, Client: t.http, MaxBody: defaults.MaxResponseBytes,
				Cooldown: t.cfg.Cooldown, MaxAge: t.cfg.MaxAge, Now: t.cfg.Now,
			})
			t.failedAt, t.lastErr = time.Time{}, nil
		} else {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
			d.abandoned = ctx.Err() != nil
			if !d.abandoned {
				t.failedAt, t.lastErr = t.cfg.Now(), err
			}
		}
		keys := t.keys
		t.inflight = nil
		d.err = err
		close(d.done)
		t.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return keys, nil
	}
}
