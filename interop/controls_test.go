package interop

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// Short-lived API resources of the provider (interop/README.md): their
// access tokens live 2 s and 4 s, whatever ACCESS_TOKEN_TTL says.
const (
	ttl2sResource = "https://ttl-2s.example.com"
	ttl4sResource = "https://ttl-4s.example.com"

	// nativeAppID is a public client whose refreshes keep Logto's order:
	// the resource is checked after the refresh token was rotated.
	nativeAppID = "native-app"
)

// Paths of the provider's endpoints, as requestLog records them.
const (
	tokenPath = "/oidc/token"
	jwksPath  = "/oidc/jwks"
)

// nativeConfig is the public native-app with every scope and the API.
func nativeConfig(t *testing.T) logto.LogtoConfig {
	t.Helper()
	cfg := spaConfig(t)
	cfg.AppId = nativeAppID
	return cfg
}

// countingTransport counts the requests that leave through it, by URL
// path, so that a test can tell a cached token from a fetched one, and
// count an SDK component's JWKS fetches.
type countingTransport struct {
	next http.RoundTripper

	mu    sync.Mutex
	paths map[string]int
	last  map[string]time.Time
}

func newCountingTransport() *countingTransport {
	return &countingTransport{next: http.DefaultTransport, paths: map[string]int{}, last: map[string]time.Time{}}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.paths[r.URL.Path]++
	c.last[r.URL.Path] = time.Now()
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// client returns an HTTP client whose requests are counted.
func (c *countingTransport) client() *http.Client {
	return &http.Client{Transport: c, Timeout: 15 * time.Second}
}

// count returns how many requests went to path.
func (c *countingTransport) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paths[path]
}

// total returns how many requests went anywhere.
func (c *countingTransport) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.paths {
		n += v
	}
	return n
}

// lastSent returns when the latest request to path was sent (zero if none).
func (c *countingTransport) lastSent(path string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last[path]
}

// tokenRequests counts the requests to the provider's token endpoint.
func (c *countingTransport) tokenRequests() int { return c.count(tokenPath) }

// sleepUntil waits for the wall clock to reach at.
func sleepUntil(at time.Time) { time.Sleep(time.Until(at)) }

// jwtTimes returns the iat and exp claims of a JWT, unverified.
func jwtTimes(t *testing.T, raw string) (iat, exp int64) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES384})
	require.NoError(t, err, "a JWT access token")
	var c struct {
		IssuedAt int64 `json:"iat"`
		Expiry   int64 `json:"exp"`
	}
	require.NoError(t, json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c))
	require.NotZero(t, c.Expiry)
	return c.IssuedAt, c.Expiry
}

// jwtKeyID returns the kid of a JWT's protected header.
func jwtKeyID(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES384})
	require.NoError(t, err)
	require.Len(t, jws.Signatures, 1)
	return jws.Signatures[0].Protected.KeyID
}

// requireUnexpired fails unless the JWT's exp is still ahead of the wall
// clock: a token is expired from its exp second on (RFC 7519 4.1.4).
func requireUnexpired(t *testing.T, raw, msg string) {
	t.Helper()
	_, exp := jwtTimes(t, raw)
	now := time.Now()
	require.Truef(t, now.Before(time.Unix(exp, 0)), "%s: the token expired at %s, it is now %s", msg,
		time.Unix(exp, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339Nano))
}

// keyState is the provider's key ring (GET /debug/keys).
type keyState struct {
	Signing      string   `json:"signing"`
	Published    []string `json:"published"`
	Keys         []string `json:"keys"`
	CacheControl string   `json:"cache_control"`
}

// providerKeys reads the provider's key ring.
func providerKeys(t *testing.T) keyState {
	t.Helper()
	resp, err := http.Get(endpoint(t) + "/debug/keys")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var s keyState
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	return s
}

// keyControl runs one of the provider's key controls (POST
// /debug/keys/<action>) and returns the key ring after it.
func keyControl(t *testing.T, action string, body map[string]any) keyState {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(endpoint(t)+"/debug/keys/"+action, "application/json", bytes.NewReader(raw))
	require.NoError(t, err)
	defer resp.Body.Close()
	var s keyState
	require.Equalf(t, http.StatusOK, resp.StatusCode, "key control %s", action)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	return s
}

// rotateKey makes the provider sign with a new key and publish only it,
// and returns its kid. When the test ends the provider is left the same
// way with another new key, so that each test starts from a plain state.
func rotateKey(t *testing.T) string {
	t.Helper()
	t.Cleanup(func() { resetKeys(t) })
	return resetKeys(t)
}

// resetKeys makes the provider sign with a new key and publish only it.
func resetKeys(t *testing.T) string {
	t.Helper()
	s := keyControl(t, "rotate", nil)
	for _, kid := range s.Published[1:] {
		keyControl(t, "unpublish", map[string]any{"kid": kid})
	}
	got := providerKeys(t)
	require.Equal(t, []string{s.Signing}, got.Published)
	require.Equal(t, s.Signing, got.Signing)
	return s.Signing
}

// publishedKeyIDs fetches the provider's JWKS as any client would.
func publishedKeyIDs(t *testing.T) []string {
	t.Helper()
	set := jwks(t)
	kids := make([]string, 0, len(set.Keys))
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}
