package tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gologto/logto/internal/defaults"
	"github.com/gologto/logto/internal/httpx"
)

// Introspect asks the tenant's introspection endpoint (RFC 7662) about an
// access token, authenticated as clientID with clientSecret
// (client_secret_basic, both form-encoded first as RFC 6749 2.3.1 says),
// and returns the body of a 200 answer, unjudged. Every other outcome
// wraps ErrUnavailable: the token may be fine, the endpoint could not say.
// The endpoint is the one discovery names; the discovery is the one the
// keys come from, made once.
func (t *Tenant) Introspect(ctx context.Context, token, clientID, clientSecret string) ([]byte, error) {
	if _, err := t.keySet(ctx); err != nil {
		return nil, err
	}
	t.mu.Lock()
	endpoint := t.meta.IntrospectionEndpoint
	t.mu.Unlock()
	if endpoint == "" {
		return nil, fmt.Errorf("%w: the tenant's configuration names no introspection_endpoint", ErrUnavailable)
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: introspection request: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := t.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: introspection request: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := httpx.ReadBounded(resp.Body, defaults.MaxResponseBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: introspection response: %w", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: introspection endpoint answered HTTP %d%s", ErrUnavailable, resp.StatusCode, oauthCode(body))
	}
	return body, nil
}

// oauthCode names the OAuth error of a body, for an error message (for
// example invalid_client when the credentials are wrong), or is empty.
func oauthCode(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" || len(e.Error) > 64 {
		return ""
	}
	return fmt.Sprintf(" (%q)", e.Error)
}
