package logto

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gologto/logto/internal/httpx"
)

// tokenResponse is a successful token endpoint response.
type tokenResponse struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	ExpiresIn    expiresIn `json:"expires_in"`
	RefreshToken string    `json:"refresh_token"`
	IDToken      string    `json:"id_token"`
	Scope        string    `json:"scope"`
}

// expiresIn accepts a JSON number or a numeric string (seen in the wild).
type expiresIn int64

func (e *expiresIn) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "null" || s == "" {
		*e = 0
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return fmt.Errorf("expires_in is not a valid number of seconds")
	}
	*e = expiresIn(n)
	return nil
}

// oauthErrorBody is the error part of an OAuth response (Logto adds code
// and message, which are ignored).
type oauthErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorURI         string `json:"error_uri"`
}

// postToken sends form to the token endpoint with client authentication
// (client_secret_basic for confidential apps, client_id in the body for
// public ones; never a second attempt with another style).
func (c *core) postToken(ctx context.Context, m *providerMeta, form url.Values) (*tokenResponse, error) {
	body, status, err := c.postForm(ctx, m.TokenEndpoint, form)
	if err != nil {
		return nil, fmt.Errorf("logto: token request: %w", err)
	}
	if oe := parseOAuthError(body, status, "token"); oe != nil {
		return nil, oe
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: token endpoint answered HTTP %d", ErrInvalidResponse, status)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("%w: token response is not valid JSON: %w", ErrInvalidResponse, err)
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("%w: token response has no access_token", ErrInvalidResponse)
	}
	if !strings.EqualFold(tr.TokenType, "bearer") {
		return nil, fmt.Errorf("%w: token response token_type %q is not Bearer", ErrInvalidResponse, tr.TokenType)
	}
	return &tr, nil
}

// postForm POSTs form with client authentication and returns the bounded
// body and status.
func (c *core) postForm(ctx context.Context, endpoint string, form url.Values) ([]byte, int, error) {
	if c.cfg.AppSecret == "" {
		form.Set("client_id", c.cfg.AppId)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.cfg.AppSecret != "" {
		// RFC 6749 2.3.1: id and secret are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(c.cfg.AppId), url.QueryEscape(c.cfg.AppSecret))
	}
	return c.do(req)
}

func (c *core) do(req *http.Request) ([]byte, int, error) {
	req.Header.Set("User-Agent", c.set.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := httpx.ReadBounded(resp.Body, c.set.maxBody)
	if err != nil {
		return nil, resp.StatusCode, err
	}
	return body, resp.StatusCode, nil
}

// parseOAuthError returns the OAuth error a response carries, even in a
// 200 response, or nil.
func parseOAuthError(body []byte, status int, endpoint string) *OAuthError {
	var eb oauthErrorBody
	if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
		return nil
	}
	return &OAuthError{
		Code:        eb.Error,
		Description: eb.ErrorDescription,
		URI:         eb.ErrorURI,
		StatusCode:  status,
		Endpoint:    endpoint,
	}
}
