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
	// IssuedTokenType is RFC 8693's issued_token_type (token exchange).
	IssuedTokenType string `json:"issued_token_type"`
	// Error is set when the body has an error member, which makes it an
	// OAuth error even with status 200 (see decodeAnswer).
	Error json.RawMessage `json:"error"`
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
	a, err := c.sendForm(ctx, m.TokenEndpoint, form)
	if err != nil {
		return nil, fmt.Errorf("logto: token request: %w", err)
	}
	var tr tokenResponse
	if err := decodeAnswer(a, "token", &tr, func() bool { return tr.Error != nil }); err != nil {
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("%w: token response has no access_token", ErrInvalidResponse)
	}
	if !strings.EqualFold(tr.TokenType, "bearer") {
		return nil, fmt.Errorf("%w: token response token_type %q is not Bearer", ErrInvalidResponse, tr.TokenType)
	}
	if tr.ExpiresIn <= 0 {
		// Without a lifetime the SDK cannot tell when the token expires,
		// and would either serve it past its expiry or never serve it.
		// Logto always sends one.
		return nil, fmt.Errorf("%w: token response has no positive expires_in", ErrInvalidResponse)
	}
	return &tr, nil
}

func (c *core) sendForm(ctx context.Context, endpoint string, form url.Values) (answer, error) {
	if c.cfg.AppSecret == "" {
		form.Set("client_id", c.cfg.AppId)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.cfg.AppSecret != "" {
		// RFC 6749 2.3.1: id and secret are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(c.cfg.AppId), url.QueryEscape(c.cfg.AppSecret))
	}
	return c.send(req)
}

// answer is what a Logto endpoint answered, its body read whole (bounded).
type answer struct {
	status int
	header http.Header
	body   []byte
}

// send makes the request and reads the bounded body. The status is kept
// when the body cannot be read.
func (c *core) send(req *http.Request) (answer, error) {
	req.Header.Set("User-Agent", c.set.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	a.body, err = httpx.ReadBounded(resp.Body, c.set.maxBody)
	return a, err
}

// decodeAnswer is the one way an endpoint's answer is judged. A status
// other than 200 is an error: the OAuth error the answer carries, or
// ErrInvalidResponse naming the status (failedAnswer). A 200 body is
// decoded into v once (with json.Unmarshal, or v's own bodyDecoder);
// hasError reports whether it had an error member, and only then (or when
// it does not decode) is the body read again as an OAuth error, which a
// 200 answer may also carry.
func decodeAnswer(a answer, endpoint string, v any, hasError func() bool) error {
	if a.status != http.StatusOK {
		return failedAnswer(a, endpoint)
	}
	var err error
	if d, ok := v.(bodyDecoder); ok {
		err = d.decodeBody(a.body)
	} else {
		err = json.Unmarshal(a.body, v)
	}
	if err != nil || hasError() {
		if oe := parseOAuthError(a.body, a.status, endpoint); oe != nil {
			return oe
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %s response is not valid JSON: %w", ErrInvalidResponse, endpoint, err)
	}
	return nil
}

// bodyDecoder is an answer type that decodes its body itself, as
// json.Unmarshal would but faster (userInfoAnswer).
type bodyDecoder interface {
	decodeBody(b []byte) error
}

// checkAnswer judges the answer of an endpoint whose successful body the
// SDK does not read (revocation): a status other than 200 as decodeAnswer
// does, and a 200 answer carrying an OAuth error as that error.
func checkAnswer(a answer, endpoint string) error {
	if a.status != http.StatusOK {
		return failedAnswer(a, endpoint)
	}
	if oe := parseOAuthError(a.body, a.status, endpoint); oe != nil {
		return oe
	}
	return nil
}

// failedAnswer is the error for an answer whose status is not 200: an
// *OAuthError when it is in the OAuth format (an error member in the JSON
// body, or an RFC 6750 Bearer challenge with an error), otherwise
// ErrInvalidResponse with the status.
func failedAnswer(a answer, endpoint string) error {
	if oe := parseOAuthError(a.body, a.status, endpoint); oe != nil {
		return oe
	}
	if oe := parseBearerChallenge(a.header.Values("WWW-Authenticate"), a.status, endpoint); oe != nil {
		return oe
	}
	return fmt.Errorf("%w: %s endpoint answered HTTP %d", ErrInvalidResponse, endpoint, a.status)
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

// parseBearerChallenge returns the OAuth error of the first Bearer
// challenge with an error parameter in the WWW-Authenticate values
// (RFC 6750 3, the error format of protected resources such as user
// info), or nil.
func parseBearerChallenge(values []string, status int, endpoint string) *OAuthError {
	for _, v := range values {
		for rest := v; rest != ""; {
			var params map[string]string
			var bearer bool
			bearer, params, rest = nextChallenge(rest)
			if bearer && params["error"] != "" {
				return &OAuthError{
					Code:        params["error"],
					Description: params["error_description"],
					URI:         params["error_uri"],
					StatusCode:  status,
					Endpoint:    endpoint,
				}
			}
		}
	}
	return nil
}

// nextChallenge reads one challenge (RFC 9110 11.6.1: a scheme, then a
// token68 or comma-separated name=value parameters) from the start of s
// and returns whether its scheme is Bearer, its parameters with
// lower-case names (kept only for Bearer), and the rest of s. Anything it
// cannot read ends the value: the rest is then empty.
func nextChallenge(s string) (bool, map[string]string, string) {
	scheme, s := httpToken(strings.TrimLeft(s, " \t,"))
	if scheme == "" {
		return false, nil, ""
	}
	bearer := strings.EqualFold(scheme, "Bearer")
	if rest, ok := skipToken68(strings.TrimLeft(s, " \t")); ok {
		return bearer, nil, rest
	}
	var params map[string]string
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return bearer, params, ""
		}
		name, after := httpToken(s)
		after = strings.TrimLeft(after, " \t")
		if name == "" {
			return bearer, params, ""
		}
		if after == "" || after[0] != '=' {
			return bearer, params, s // the next challenge's scheme
		}
		value, rest, ok := paramValue(strings.TrimLeft(after[1:], " \t"))
		if !ok {
			return bearer, params, ""
		}
		if bearer {
			if params == nil {
				params = map[string]string{}
			}
			params[strings.ToLower(name)] = value
		}
		s = rest
	}
}

// skipToken68 reports whether s starts with a token68 that makes up the
// whole challenge (the end or a comma follows it), and returns what
// follows.
func skipToken68(s string) (string, bool) {
	i := 0
	for i < len(s) && (isTokenChar(s[i]) || s[i] == '/') {
		i++
	}
	if i == 0 {
		return s, false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	rest := strings.TrimLeft(s[i:], " \t")
	if rest != "" && rest[0] != ',' {
		return s, false
	}
	return rest, true
}

// httpToken splits s after its leading RFC 9110 token (tchar characters).
func httpToken(s string) (string, string) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// paramValue reads a token or a quoted string (with backslash escapes)
// from the start of s.
func paramValue(s string) (string, string, bool) {
	if s == "" || s[0] != '"' {
		v, rest := httpToken(s)
		return v, rest, v != ""
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 == len(s) {
				return "", "", false
			}
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}
