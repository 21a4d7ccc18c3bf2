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

// Tenant is safe for concurrent use.
type Tenant struct {
	Issuer    string
	http      *http.Client
	allowHTTP bool
	cooldown  time.Duration
	now       func() time.Time

	mu   sync.Mutex
	keys *jwks.KeySet
}

// New checks endpoint (absolute https, or http for loopback or when
// allowHTTP) and returns its tenant; issuer is endpoint + "/oidc".
func New(endpoint string, client *http.Client, allowHTTP bool, cooldown time.Duration, now func() time.Time) (*Tenant, error) {
	endpoint = strings.TrimRight(endpoint, "/")
	u, err := url.Parse(endpoint)
	if err != nil || endpoint == "" || !oidcmeta.Allowed(endpoint, allowHTTP) || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("endpoint must be an absolute https URL (http only for loopback or when insecure HTTP is allowed)")
	}
	return &Tenant{
		Issuer:    endpoint + "/oidc",
		http:      httpx.NoRedirects(client),
		allowHTTP: allowHTTP,
		cooldown:  cooldown,
		now:       now,
	}, nil
}

// VerifyJWT checks the signature of a compact JWS with the tenant's keys
// (asymmetric algorithms only), that its header typ is one of types
// (case-insensitive), and returns the payload.
func (t *Tenant) VerifyJWT(ctx context.Context, token string, types ...string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, jwks.Algorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, ErrMalformed
	}
	typ, _ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType].(string)
	ok := false
	for _, want := range types {
		ok = ok || strings.EqualFold(typ, want)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q is not %s", ErrWrongType, typ, strings.Join(types, " or "))
	}
	keys, err := t.keySet(ctx)
	if err != nil {
		return nil, err
	}
	payload, err := keys.VerifySignature(ctx, token)
	if err != nil {
		if errors.Is(err, jwks.ErrNoKey) {
			return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return payload, nil
}

func (t *Tenant) keySet(ctx context.Context) (*jwks.KeySet, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys != nil {
		return t.keys, nil
	}
	m, err := oidcmeta.Fetch(ctx, t.http, t.Issuer, httpx.DefaultMaxBody, t.allowHTTP, "jwks_uri")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	t.keys = jwks.New(m.JWKSURI, t.http, httpx.DefaultMaxBody, t.cooldown, t.now)
	return t.keys, nil
}
