package logto

import (
	"context"
	"fmt"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gologto/logto/internal/jwks"
	"github.com/gologto/logto/internal/oidcmeta"
)

// providerMeta is Logto's OpenID Provider configuration with what the
// client builds from it once.
type providerMeta struct {
	oidcmeta.Metadata

	algs     []string
	keys     *jwks.KeySet
	verifier *oidc.IDTokenVerifier
}

// provider returns the discovered configuration, fetching it on first use.
// It is cached for the client's life; concurrent first callers share one
// request, and a failed fetch is retried by the next caller.
func (c *core) provider(ctx context.Context) (*providerMeta, error) {
	if m := c.meta.Load(); m != nil {
		return m, nil
	}
	for attempt := 0; ; attempt++ {
		v, err, shared := c.flights.Do("\x00discovery", func() (any, error) {
			if m := c.meta.Load(); m != nil {
				return m, nil
			}
			m, err := c.discover(ctx)
			if err != nil {
				return nil, err
			}
			c.meta.Store(m)
			return m, nil
		})
		// The shared request ran with the context of the caller that
		// started it; if that caller gave up, ask again with ours.
		if err != nil && shared && attempt == 0 && ctx.Err() == nil && isContextErr(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return v.(*providerMeta), nil
	}
}

func (c *core) discover(ctx context.Context) (*providerMeta, error) {
	md, err := oidcmeta.Fetch(ctx, c.http, c.issuer, c.set.maxBody, c.set.insecureHTTP,
		"authorization_endpoint", "token_endpoint", "jwks_uri")
	if err != nil {
		return nil, err // wraps ErrDiscovery
	}
	m := &providerMeta{Metadata: *md}
	m.algs = signingAlgs(m.IDTokenSigningAlgs)
	if len(m.algs) == 0 {
		return nil, fmt.Errorf("%w: no supported ID token signing algorithm (asymmetric algorithms only)", ErrDiscovery)
	}
	m.keys = jwks.New(jwks.Config{
		URL: m.JWKSURI, Client: c.http, MaxBody: c.set.maxBody,
		Cooldown: c.set.jwksCooldown, MaxAge: c.set.jwksMaxAge, Now: c.set.now,
	})
	m.verifier = oidc.NewVerifier(m.Issuer, keySetWithCause{m.keys}, &oidc.Config{
		ClientID:             c.cfg.AppId,
		SupportedSigningAlgs: m.algs,
		// Expiry, iat and nbf are checked by verifyIDToken, with leeway.
		SkipExpiryCheck: true,
	})
	return m, nil
}

// keySetWithCause hands the key set's error to verifyIDToken through the
// context: go-oidc reports it as text only, which would lose causes such
// as context.DeadlineExceeded or ErrResponseTooLarge.
type keySetWithCause struct{ *jwks.KeySet }

type keySetCauseKey struct{}

func (k keySetWithCause) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	payload, err := k.KeySet.VerifySignature(ctx, raw)
	if err != nil {
		if cause, ok := ctx.Value(keySetCauseKey{}).(*error); ok {
			*cause = err
		}
	}
	return payload, err
}

// signingAlgs keeps the asymmetric algorithms the SDK can verify, in the
// provider's order; RS256 when the provider names none (OIDC's default).
func signingAlgs(announced []string) []string {
	if len(announced) == 0 {
		return []string{"RS256"}
	}
	var out []string
	for _, a := range announced {
		for _, ok := range jwks.Algorithms {
			if a == string(ok) {
				out = append(out, a)
				break
			}
		}
	}
	return out
}
