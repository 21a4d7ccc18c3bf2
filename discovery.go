package logto

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gologto/logto/internal/httpx"
	"github.com/gologto/logto/internal/jwks"
)

// providerMeta is the part of Logto's OpenID Provider configuration the
// SDK uses.
type providerMeta struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	IDTokenSigningAlgs    []string `json:"id_token_signing_alg_values_supported"`
	IssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`

	// Built from the above once discovery succeeded.
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
	v, err, _ := c.flights.Do("\x00discovery", func() (any, error) {
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
	if err != nil {
		return nil, err
	}
	return v.(*providerMeta), nil
}

func (c *core) discover(ctx context.Context) (*providerMeta, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	defer resp.Body.Close()
	body, err := httpx.ReadBounded(resp.Body, c.set.maxBody)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: unexpected HTTP status %d", ErrDiscovery, resp.StatusCode)
	}
	var m providerMeta
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: decode configuration: %w", ErrDiscovery, err)
	}
	if m.Issuer != c.issuer {
		return nil, fmt.Errorf("%w: issuer %q does not match the expected %q", ErrDiscovery, m.Issuer, c.issuer)
	}
	required := []struct{ name, value string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
	}
	for _, r := range required {
		if r.value == "" {
			return nil, fmt.Errorf("%w: %s is missing", ErrDiscovery, r.name)
		}
	}
	for _, e := range []struct{ name, value string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
		{"userinfo_endpoint", m.UserinfoEndpoint},
		{"end_session_endpoint", m.EndSessionEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
	} {
		if e.value != "" && !c.endpointAllowed(e.value) {
			return nil, fmt.Errorf("%w: %s is not an allowed URL", ErrDiscovery, e.name)
		}
	}
	m.algs = signingAlgs(m.IDTokenSigningAlgs)
	if len(m.algs) == 0 {
		return nil, fmt.Errorf("%w: no supported ID token signing algorithm (asymmetric algorithms only)", ErrDiscovery)
	}
	m.keys = jwks.New(m.JWKSURI, c.http, c.set.maxBody, c.set.jwksCooldown, c.set.now)
	m.verifier = oidc.NewVerifier(m.Issuer, m.keys, &oidc.Config{
		ClientID:             c.cfg.AppId,
		SupportedSigningAlgs: m.algs,
		// Expiry, iat and nbf are checked by verifyIDToken, with leeway.
		SkipExpiryCheck: true,
	})
	return &m, nil
}

// endpointAllowed accepts absolute URLs whose scheme is https, or http when
// the configured endpoint itself may use http.
func (c *core) endpointAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return c.set.insecureHTTP || isLoopback(u.Hostname())
	}
	return false
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
