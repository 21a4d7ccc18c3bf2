package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// Fixed names of the provider's directory (interop/README.md).
const (
	webAppID      = "web-app"
	webAppSecret  = "web-secret"
	spaAppID      = "spa-app"
	apiResource   = "https://api.example.com"
	otherResource = "https://other.example.com"
	redirectURI   = "http://127.0.0.1:3000/callback"
	postLogoutURI = "http://127.0.0.1:3000/"
	appHost       = "127.0.0.1:3000" // nothing listens here: redirects to it end a browser walk

	aliceID = "user-alice"
	bobID   = "user-bob"
)

// allScopes asks for every Logto scope with claims, plus the API and
// organization scopes: the provider (like Logto) puts a resource scope in a
// token only when it was also listed in scope on /auth.
var allScopes = []string{
	logto.ScopeEmail, logto.ScopePhone, logto.ScopeCustomData, logto.ScopeIdentities,
	logto.ScopeRoles, logto.ScopeOrganizations, logto.ScopeOrganizationRoles,
	"read:data", "write:data", "read:org",
}

// endpoint returns the provider's URL, or skips the test when the suite
// runs outside interop/run.sh. On CI a missing endpoint is a failure, so a
// misconfigured job cannot pass by skipping everything.
func endpoint(t *testing.T) string {
	t.Helper()
	e := strings.TrimRight(os.Getenv("LOGTO_INTEROP_ENDPOINT"), "/")
	if e != "" {
		return e
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatal("LOGTO_INTEROP_ENDPOINT is not set but CI=true: run the suite through interop/run.sh (bash .ci/interop.sh)")
	}
	t.Skip("LOGTO_INTEROP_ENDPOINT is not set: run `bash .ci/interop.sh` from the repository root to run the interop suite against the provider")
	return ""
}

func issuer(t *testing.T) string {
	t.Helper()
	return endpoint(t) + "/oidc"
}

// envSeconds reads the TTL the provider was started with (run.sh passes the
// same environment to the provider and to this suite).
func envSeconds(t *testing.T, name string, fallback int64) int64 {
	t.Helper()
	raw := os.Getenv(name)
	if raw == "" {
		return fallback
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	require.NoError(t, err, name)
	return n
}

func accessTokenTTL(t *testing.T) int64 { return envSeconds(t, "ACCESS_TOKEN_TTL", 3600) }
func idTokenTTL(t *testing.T) int64     { return envSeconds(t, "ID_TOKEN_TTL", 3600) }

// testClock is a wall clock that a test can move forward, for the SDK only:
// the provider keeps real time.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// webConfig is the confidential web-app with every scope and the API.
func webConfig(t *testing.T) logto.LogtoConfig {
	t.Helper()
	return logto.LogtoConfig{
		Endpoint:  endpoint(t),
		AppId:     webAppID,
		AppSecret: webAppSecret,
		Scopes:    append([]string(nil), allScopes...),
		Resources: []string{apiResource},
	}
}

// spaConfig is the public spa-app (PKCE, no secret).
func spaConfig(t *testing.T) logto.LogtoConfig {
	t.Helper()
	cfg := webConfig(t)
	cfg.AppId = spaAppID
	cfg.AppSecret = ""
	return cfg
}

func newClient(t *testing.T, cfg logto.LogtoConfig, storage logto.Storage, opts ...logto.Option) *logto.LogtoClient {
	t.Helper()
	c, err := logto.NewLogtoClient(cfg, storage, opts...)
	require.NoError(t, err)
	return c
}

// copyStorage snapshots every key the SDK writes into a new MemoryStorage,
// as if a second server read the same session.
func copyStorage(t *testing.T, from logto.Storage, keys ...string) *logto.MemoryStorage {
	t.Helper()
	if len(keys) == 0 {
		keys = []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens, logto.StorageKeySignInSession}
	}
	ctx := context.Background()
	to := logto.NewMemoryStorage()
	for _, k := range keys {
		v, err := from.Get(ctx, k)
		require.NoError(t, err)
		if v != "" {
			require.NoError(t, to.Set(ctx, k, v))
		}
	}
	return to
}

// browser is a user agent with its own cookie jar. It follows the
// provider's redirects and stops at the first one that targets the app
// (127.0.0.1:3000), where nothing listens.
type browser struct {
	jar    *cookiejar.Jar
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	b := &browser{jar: jar}
	b.client = &http.Client{
		Jar:     jar,
		Timeout: 15 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host == appHost || req.URL.Host == "localhost:3000" {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("more than 10 redirects")
			}
			return nil
		},
	}
	return b
}

// walk is what a browser saw while following an authorization request.
type walk struct {
	callback string   // the Location that targets the app
	visited  []string // every URL requested, in order
}

// interactions counts the provider's interaction pages on the way: 2 for a
// fresh browser (login, then consent), 1 when the OP session already
// exists (consent only).
func (w walk) interactions() int {
	n := 0
	for _, v := range w.visited {
		if strings.Contains(v, "/interaction/") {
			n++
		}
	}
	return n
}

// authorize follows authURL to the app's redirect URI and returns the walk.
// Every redirect must be a 303, as oidc-provider answers.
func (b *browser) authorize(t *testing.T, authURL string) walk {
	t.Helper()
	var w walk
	prev := b.client.CheckRedirect
	client := *b.client
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Response != nil && req.Response.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("redirect from %s is HTTP %d, want 303", via[len(via)-1].URL.Path, req.Response.StatusCode)
		}
		w.visited = append(w.visited, req.URL.String())
		return prev(req, via)
	}
	w.visited = append(w.visited, authURL)
	resp, err := client.Get(authURL)
	require.NoError(t, err, "authorization walk")
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equalf(t, http.StatusSeeOther, resp.StatusCode, "walk ended at %s with HTTP %d: %s", resp.Request.URL, resp.StatusCode, body)
	loc, err := resp.Location()
	require.NoError(t, err)
	require.Equalf(t, appHost, loc.Host, "walk ended at %s", loc)
	w.callback = loc.String()
	w.visited = w.visited[:len(w.visited)-1] // the app's URL was not requested
	return w
}

// completeAuth walks authURL with a fresh browser and returns the callback URL.
func completeAuth(t *testing.T, authURL string) string {
	t.Helper()
	return newBrowser(t).authorize(t, authURL).callback
}

// signIn runs SignIn → browser walk → HandleCallback and requires success.
func signIn(t *testing.T, c *logto.LogtoClient, b *browser, opts logto.SignInOptions) walk {
	t.Helper()
	ctx := context.Background()
	if opts.RedirectURI == "" {
		opts.RedirectURI = redirectURI
	}
	authURL, err := c.SignIn(ctx, opts)
	require.NoError(t, err)
	w := b.authorize(t, authURL)
	require.NoError(t, c.HandleCallback(ctx, w.callback))
	require.True(t, c.IsAuthenticated(ctx))
	return w
}

// query returns the parsed query of a URL.
func query(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Query()
}

// oauthError extracts the *logto.OAuthError from err.
func oauthError(t *testing.T, err error) *logto.OAuthError {
	t.Helper()
	require.Error(t, err)
	var oe *logto.OAuthError
	require.Truef(t, errors.As(err, &oe), "want an *logto.OAuthError in the chain, got %v", err)
	return oe
}

// tokenResult is a raw token endpoint answer.
type tokenResult struct {
	status int
	body   map[string]any
}

func (r tokenResult) str(k string) string { s, _ := r.body[k].(string); return s }

// postToken sends a raw token request, authenticating as web-app
// (client_secret_basic) or as a public client (client_id in the body).
func postToken(t *testing.T, clientID, secret string, form url.Values) tokenResult {
	t.Helper()
	if secret == "" {
		form.Set("client_id", clientID)
	}
	req, err := http.NewRequest(http.MethodPost, issuer(t)+"/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(clientID, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var res tokenResult
	res.status = resp.StatusCode
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&res.body))
	return res
}

// jwks fetches the provider's signing keys.
func jwks(t *testing.T) *jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(issuer(t) + "/jwks")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var set jose.JSONWebKeySet
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	require.NotEmpty(t, set.Keys)
	return &set
}

// verifyAccessToken checks a JWT access token's signature against the
// provider's JWKS and its header (ES384, typ at+jwt), and returns its
// payload.
func verifyAccessToken(t *testing.T, raw string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES384})
	require.NoError(t, err, "access token must be an ES384 JWS")
	require.Len(t, jws.Signatures, 1)
	h := jws.Signatures[0].Protected
	require.Equal(t, "ES384", h.Algorithm)
	require.Equal(t, "at+jwt", h.ExtraHeaders[jose.HeaderType])
	payload, err := jws.Verify(jwks(t))
	require.NoError(t, err, "access token signature")
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	return claims
}

var (
	formActionRE = regexp.MustCompile(`<form[^>]*id="op\.logoutForm"[^>]*action="([^"]+)"|<form[^>]*action="([^"]+)"[^>]*id="op\.logoutForm"`)
	hiddenRE     = regexp.MustCompile(`<input[^>]*type="hidden"[^>]*>`)
	nameRE       = regexp.MustCompile(`name="([^"]*)"`)
	valueRE      = regexp.MustCompile(`value="([^"]*)"`)
)

// logoutForm reads the action and the hidden fields of the end-session page.
func logoutForm(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := formActionRE.FindStringSubmatch(page)
	require.NotNilf(t, m, "no op.logoutForm in the end-session page:\n%s", page)
	action := html.UnescapeString(m[1] + m[2])
	fields := url.Values{}
	for _, input := range hiddenRE.FindAllString(page, -1) {
		n := nameRE.FindStringSubmatch(input)
		v := valueRE.FindStringSubmatch(input)
		if n != nil && v != nil {
			fields.Add(html.UnescapeString(n[1]), html.UnescapeString(v[1]))
		}
	}
	return action, fields
}
