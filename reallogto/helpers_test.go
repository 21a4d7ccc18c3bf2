package reallogto

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// allUserScopes asks for every Logto scope with claims and the fixture
// API's and organization's permissions.
var allUserScopes = []string{
	logto.ScopeEmail, logto.ScopePhone, logto.ScopeAddress, logto.ScopeCustomData, logto.ScopeIdentities,
	logto.ScopeRoles, logto.ScopeOrganizations, logto.ScopeOrganizationRoles, readData, writeData, orgScope,
}

// tokenRequest is one request the SDK sent to the token endpoint.
type tokenRequest struct {
	grantType, refreshToken, resource, organizationID string
	at                                                time.Time
	// status and rotatedTo are the provider's answer: its HTTP status and
	// the refresh token it issued ("" when none).
	status    int
	rotatedTo string
	answered  time.Time
}

// recorder is an http.RoundTripper that counts the SDK's requests by path
// and records its token requests, to prove how many requests were sent and
// that no refresh token was ever spent twice.
type recorder struct {
	base http.RoundTripper
	// respond, when set, may answer a request instead of the provider.
	respond func(*http.Request) *http.Response

	mu     sync.Mutex
	paths  map[string]int
	tokens []tokenRequest
}

func newRecorder() *recorder {
	return &recorder{base: http.DefaultTransport, paths: map[string]int{}}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var form url.Values
	if req.Body != nil && strings.HasSuffix(req.URL.Path, "/token") {
		raw, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(raw))
		form, _ = url.ParseQuery(string(raw))
	}
	r.mu.Lock()
	r.paths[req.URL.Path]++
	respond := r.respond
	r.mu.Unlock()
	tr := tokenRequest{
		grantType: form.Get("grant_type"), refreshToken: form.Get("refresh_token"),
		resource: form.Get("resource"), organizationID: form.Get("organization_id"), at: time.Now(),
	}
	var resp *http.Response
	if respond != nil {
		resp = respond(req)
	}
	if resp == nil {
		var err error
		if resp, err = r.base.RoundTrip(req); err != nil {
			return nil, err
		}
	}
	if form != nil {
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		if err != nil {
			return resp, nil
		}
		var body struct {
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.Unmarshal(raw, &body)
		tr.status, tr.rotatedTo, tr.answered = resp.StatusCode, body.RefreshToken, time.Now()
		r.mu.Lock()
		r.tokens = append(r.tokens, tr)
		r.mu.Unlock()
	}
	return resp, nil
}

// count returns how many requests went to a path ending in suffix.
func (r *recorder) count(suffix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for p, c := range r.paths {
		if strings.HasSuffix(p, suffix) {
			n += c
		}
	}
	return n
}

// tokenRequests returns the token requests sent so far.
func (r *recorder) tokenRequests() []tokenRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.tokens)
}

// refreshes counts refresh_token grant requests.
func (r *recorder) refreshes() int {
	n := 0
	for _, tr := range r.tokenRequests() {
		if tr.grantType == "refresh_token" {
			n++
		}
	}
	return n
}

// requireNoRefreshTokenReuse fails when a refresh token was sent again
// after the provider had rotated it away (answered with another one): the
// second use is what Logto treats as theft once its 3-second leeway is
// over. A refresh token that was never rotated may be used many times.
func (r *recorder) requireNoRefreshTokenReuse(t *testing.T) {
	t.Helper()
	rotated := map[string]int{} // refresh token → request that rotated it away
	for i, tr := range r.tokenRequests() {
		if tr.grantType != "refresh_token" {
			continue
		}
		if j, ok := rotated[tr.refreshToken]; ok {
			t.Fatalf("token request %d (resource %q, organization %q) spent a refresh token that request %d had rotated away",
				i, tr.resource, tr.organizationID, j)
		}
		if tr.rotatedTo != "" && tr.rotatedTo != tr.refreshToken {
			rotated[tr.refreshToken] = i
		}
	}
}

// rotations counts the refresh requests the provider answered with a new
// refresh token.
func (r *recorder) rotations() int {
	n := 0
	for _, tr := range r.tokenRequests() {
		if tr.grantType == "refresh_token" && tr.rotatedTo != "" && tr.rotatedTo != tr.refreshToken {
			n++
		}
	}
	return n
}

func (r *recorder) client() *http.Client {
	return &http.Client{Transport: r, Timeout: 20 * time.Second}
}

// clientFor builds a LogtoClient for a of tg with fresh storage, sending
// through rec (when not nil).
func clientFor(t *testing.T, tg target, a app, scopes, resources []string, rec *recorder, opts ...logto.Option) *logto.LogtoClient {
	t.Helper()
	if rec != nil {
		opts = append(opts, logto.WithHTTPClient(rec.client()))
	}
	c, err := logto.NewLogtoClient(logto.LogtoConfig{
		Endpoint: tg.endpoint(), AppId: a.ID, AppSecret: a.Secret,
		Scopes: scopes, Resources: resources,
	}, logto.NewMemoryStorage(), opts...)
	require.NoError(t, err)
	return c
}

// signInClient runs a whole sign-in of u with c in browser b (a fresh one
// when nil).
func signInClient(t *testing.T, tg target, c *logto.LogtoClient, b *browser, u user, opts logto.SignInOptions) {
	t.Helper()
	ctx := context.Background()
	if opts.RedirectURI == "" {
		opts.RedirectURI = appRedirectURI
	}
	if b == nil {
		b = newBrowser(t)
	}
	authURL, err := c.SignIn(ctx, opts)
	require.NoError(t, err)
	cb := tg.signIn(t, b, authURL, u)
	require.NoError(t, c.HandleCallback(ctx, cb), "callback %s", cb)
}

// jwtPart decodes part i (0 header, 1 payload) of a compact JWT.
func jwtPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3, "not a JWT: %.40s", tok)
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func jwtClaims(t *testing.T, tok string) map[string]any { return jwtPart(t, tok, 1) }

// keys returns the sorted member names of m.
func keys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

// numeric reads a JSON number claim as an int64.
func numeric(t *testing.T, m map[string]any, k string) int64 {
	t.Helper()
	v, ok := m[k].(float64)
	require.True(t, ok, "claim %s is %v", k, m[k])
	return int64(v)
}

// introspect asks the provider (as app a) whether token is active.
func introspect(t *testing.T, tg target, a app, token string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, tg.issuer()+"/token/introspection",
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(a.ID), url.QueryEscape(a.Secret))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "introspection: %s", raw)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// rawRefresh spends refresh token rt directly (not through the SDK), to
// check what the provider thinks of it.
func rawRefresh(t *testing.T, tg target, a app, rt string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	if a.Secret == "" {
		form.Set("client_id", a.ID)
	}
	req, err := http.NewRequest(http.MethodPost, tg.issuer()+"/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if a.Secret != "" {
		req.SetBasicAuth(url.QueryEscape(a.ID), url.QueryEscape(a.Secret))
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m))
	return resp.StatusCode, m
}

// oauthError extracts the *logto.OAuthError of err.
func oauthError(t *testing.T, err error) *logto.OAuthError {
	t.Helper()
	require.Error(t, err)
	var oe *logto.OAuthError
	require.ErrorAs(t, err, &oe, "%v", err)
	return oe
}

// sleepUntil sleeps until the wall clock passes at.
func sleepUntil(at time.Time) {
	if d := time.Until(at); d > 0 {
		time.Sleep(d)
	}
}
