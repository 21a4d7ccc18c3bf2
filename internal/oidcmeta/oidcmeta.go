// Package oidcmeta fetches and checks an OpenID Provider configuration
// (OpenID Connect Discovery 1.0), with a bounded body read.
package oidcmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gologto/logto/internal/httpx"
)

// Metadata is the part of the configuration the SDK uses.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	// DeviceAuthorizationEndpoint is RFC 8628's endpoint (device flow).
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	// IntrospectionEndpoint is RFC 7662's endpoint (opaque tokens).
	IntrospectionEndpoint string   `json:"introspection_endpoint"`
	IDTokenSigningAlgs    []string `json:"id_token_signing_alg_values_supported"`
	IssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// ErrDiscovery is wrapped by every error of Fetch.
var ErrDiscovery = errors.New("logto: discovery failed")

// Fetch reads issuer's configuration with client. The document must name
// issuer exactly, carry the endpoints listed in required, and every
// endpoint URL must be https (or http when allowHTTP is set or the host is
// a loopback address).
func Fetch(ctx context.Context, client *http.Client, issuer string, maxBody int64, allowHTTP bool, required ...string) (*Metadata, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	defer resp.Body.Close()
	body, err := httpx.ReadBounded(resp.Body, maxBody)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: unexpected HTTP status %d", ErrDiscovery, resp.StatusCode)
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: decode configuration: %w", ErrDiscovery, err)
	}
	if m.Issuer != issuer {
		return nil, fmt.Errorf("%w: issuer %q does not match the expected %q", ErrDiscovery, m.Issuer, issuer)
	}
	endpoints := map[string]string{
		"authorization_endpoint":        m.AuthorizationEndpoint,
		"token_endpoint":                m.TokenEndpoint,
		"jwks_uri":                      m.JWKSURI,
		"userinfo_endpoint":             m.UserinfoEndpoint,
		"end_session_endpoint":          m.EndSessionEndpoint,
		"revocation_endpoint":           m.RevocationEndpoint,
		"device_authorization_endpoint": m.DeviceAuthorizationEndpoint,
		"introspection_endpoint":        m.IntrospectionEndpoint,
	}
	for _, name := range required {
		if endpoints[name] == "" {
			return nil, fmt.Errorf("%w: %s is missing", ErrDiscovery, name)
		}
	}
	for name, v := range endpoints {
		if v != "" && !Allowed(v, allowHTTP) {
			return nil, fmt.Errorf("%w: %s is not an allowed URL", ErrDiscovery, name)
		}
	}
	return &m, nil
}

// Allowed accepts absolute URLs without user info whose scheme is https,
// or http when allowHTTP is set or the host is a loopback address.
func Allowed(raw string, allowHTTP bool) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return allowHTTP || IsLoopback(u.Hostname())
	}
	return false
}

// IsLoopback reports whether host is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
