package logto_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// This file holds the plumbing of the conformance suite
// (conformance_*_test.go): fixtures built from provider and client
// options, exact per-endpoint request counts, storage snapshots, JWT
// surgery and a Storage that fails on demand.

// countedEndpoints are the endpoints whose request counts every case
// asserts, so that "no token request" or "no userinfo request" is checked,
// not assumed.
var countedEndpoints = []logtotest.Endpoint{
	logtotest.EndpointDiscovery, logtotest.EndpointJWKS, logtotest.EndpointAuth,
	logtotest.EndpointToken, logtotest.EndpointUserInfo, logtotest.EndpointRevocation,
	logtotest.EndpointEndSession, logtotest.EndpointEndSessionConfirm, logtotest.EndpointEndSessionSuccess,
	logtotest.EndpointIntrospection, logtotest.EndpointUnknown,
}

// reqs are the expected request counts per endpoint; absent means zero.
type reqs map[logtotest.Endpoint]int

// assertRequests checks the request count of every endpoint since the last
// ResetRequests.
func assertRequests(t testing.TB, srv *logtotest.Server, want reqs) {
	t.Helper()
	got := reqs{}
	for _, e := range countedEndpoints {
		if n := srv.RequestCount(e); n != 0 {
			got[e] = n
		}
	}
	for e, n := range want {
		if n == 0 {
			delete(want, e)
		}
	}
	assert.Equal(t, want, got, "requests that reached each endpoint")
}

// signInReqs are the requests of one sign-in on a client that already has
// the provider's configuration and keys: the authorization request (made
// by the test's "browser") and the code exchange.
var signInReqs = reqs{logtotest.EndpointAuth: 1, logtotest.EndpointToken: 1}

// staleKeys is the one JWKS refetch of a refresh made after the fake
// clock jumped past the key set's maximum age (DefaultJWKSMaxAge): the
// refreshed ID token is verified with freshly fetched keys.
var staleKeys = reqs{logtotest.EndpointJWKS: 1}

// plus returns a copy of r with more requests.
func (r reqs) plus(more reqs) reqs {
	out := reqs{}
	for e, n := range r {
		out[e] += n
	}
	for e, n := range more {
		out[e] += n
	}
	return out
}

// coldSignInReqs are the requests of the first sign-in of a new client:
// discovery and keys are fetched once.
var coldSignInReqs = signInReqs.plus(reqs{logtotest.EndpointDiscovery: 1, logtotest.EndpointJWKS: 1})

// newConformanceFixture builds a provider with provOpts (see newProvider)
// and a client of the confidential web app.
func newConformanceFixture(t testing.TB, provOpts []logtotest.Option, clientOpts ...logto.Option) *fixture {
	t.Helper()
	srv := newProvider(t, provOpts...)
	return newFixtureWith(t, srv, logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret,
		Scopes: allScopes(), Resources: []string{apiResource},
	}, clientOpts...)
}

// newSPAFixture is newConformanceFixture for the public SPA, whose refresh
// tokens rotate at every use.
func newSPAFixture(t testing.TB, provOpts []logtotest.Option, clientOpts ...logto.Option) *fixture {
	t.Helper()
	srv := newProvider(t, provOpts...)
	return newFixtureWith(t, srv, logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: spaID,
		Scopes: allScopes(), Resources: []string{apiResource},
	}, clientOpts...)
}

// signInAs completes a sign-in of user on client c (a view of f.client or
// another client of the same provider).
func signInAs(t testing.TB, srv *logtotest.Server, c *logto.LogtoClient, user string) {
	t.Helper()
	u, err := c.SignIn(context.Background(), logto.SignInOptions{RedirectURI: redirectURI})
	require.NoError(t, err)
	cb, err := srv.Authorize(u, user)
	require.NoError(t, err)
	require.NoError(t, c.HandleCallback(context.Background(), cb))
}

// storedTokens returns the token keys of a snapshot (the pending sign-ins
// left out).
func storedTokens(s map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range s {
		if k != logto.StorageKeySignInSession {
			out[k] = v
		}
	}
	return out
}

// assertNoSecrets checks that err's message holds none of the secrets.
func assertNoSecrets(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" {
			assert.NotContains(t, err.Error(), s, "an error message leaks a secret")
		}
	}
}

// sessionSecrets lists the credentials a session holds, for leak checks.
func sessionSecrets(f *fixture) []string {
	s := f.snapshot()
	out := []string{appSecret, s[logto.StorageKeyIDToken], s[logto.StorageKeyRefreshToken]}
	var entries map[string]struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal([]byte(s[logto.StorageKeyAccessTokens]), &entries)
	for _, e := range entries {
		out = append(out, e.Token)
	}
	return out
}

// callbackParam returns one query parameter of a callback URL.
func callbackParam(t testing.TB, cb, key string) string {
	t.Helper()
	u, err := url.Parse(cb)
	require.NoError(t, err)
	return u.Query().Get(key)
}

// jwtPart decodes the header (0) or payload (1) of a compact JWS.
func jwtPart(t testing.TB, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3, "compact JWS")
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// signJWT signs claims with key under alg, with exactly the given extra
// header fields (go-jose adds alg; kid only when header names one). key is
// a crypto.Signer for asymmetric algorithms or a []byte for HMAC.
func signJWT(t testing.TB, alg jose.SignatureAlgorithm, key any, header, claims map[string]any) string {
	t.Helper()
	extra := map[jose.HeaderKey]any{"typ": "JWT"}
	for k, v := range header {
		extra[jose.HeaderKey(k)] = v
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, &jose.SignerOptions{ExtraHeaders: extra})
	require.NoError(t, err)
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	jws, err := signer.Sign(payload)
	require.NoError(t, err)
	out, err := jws.CompactSerialize()
	require.NoError(t, err)
	return out
}

// attackerKey is an ES384 key the provider never published.
func attackerKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	return k
}

// publicJWK renders the public half of key as a JSON-like map.
func publicJWK(t testing.TB, key crypto.Signer, kid, alg string) map[string]any {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key.Public(), KeyID: kid, Algorithm: alg, Use: "sig"})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// replaceIDToken makes the token endpoint answer with the ID token that
// forge builds from the genuine one's header and claims.
func replaceIDToken(t testing.TB, srv *logtotest.Server, forge func(header, claims map[string]any) string) {
	srv.MutateTokenResponses(func(resp map[string]any) {
		raw, _ := resp["id_token"].(string)
		if raw == "" {
			return
		}
		resp["id_token"] = forge(jwtPart(t, raw, 0), jwtPart(t, raw, 1))
	})
}

// counter is an HTTP server that only counts the requests it receives (an
// attacker's server a misbehaving provider points the client to).
type counter struct {
	*httptest.Server
	hits atomic.Int64
}

func newCounter(t testing.TB) *counter {
	t.Helper()
	c := &counter{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"stolen","token_type":"Bearer","expires_in":3600,"keys":[]}`))
	}))
	t.Cleanup(c.Close)
	return c
}

// faultyStorage wraps a MemoryStorage and fails the operations on the keys
// a test names, with errInjected.
type faultyStorage struct {
	*logto.MemoryStorage
	mu       sync.Mutex
	failGet  map[string]bool
	failSet  map[string]bool
	failDel  map[string]bool
	setCalls map[string]int
}

var errInjected = errors.New("injected storage failure")

func newFaultyStorage() *faultyStorage {
	return &faultyStorage{
		MemoryStorage: logto.NewMemoryStorage(),
		failGet:       map[string]bool{}, failSet: map[string]bool{}, failDel: map[string]bool{},
		setCalls: map[string]int{},
	}
}

func (s *faultyStorage) fail(get, set, del []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range get {
		s.failGet[k] = true
	}
	for _, k := range set {
		s.failSet[k] = true
	}
	for _, k := range del {
		s.failDel[k] = true
	}
}

func (s *faultyStorage) heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.failGet)
	clear(s.failSet)
	clear(s.failDel)
}

func (s *faultyStorage) Get(ctx context.Context, key string) (string, error) {
	s.mu.Lock()
	bad := s.failGet[key]
	s.mu.Unlock()
	if bad {
		return "", errInjected
	}
	return s.MemoryStorage.Get(ctx, key)
}

func (s *faultyStorage) Set(ctx context.Context, key, value string) error {
	s.mu.Lock()
	bad := s.failSet[key]
	s.setCalls[key]++
	s.mu.Unlock()
	if bad {
		return errInjected
	}
	return s.MemoryStorage.Set(ctx, key, value)
}

func (s *faultyStorage) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	bad := s.failDel[key]
	s.mu.Unlock()
	if bad {
		return errInjected
	}
	return s.MemoryStorage.Delete(ctx, key)
}

// snapshotOf copies the SDK's keys of any Storage.
func snapshotOf(s logto.Storage) map[string]string {
	ctx := context.Background()
	out := map[string]string{}
	for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens, logto.StorageKeySignInSession} {
		if v, _ := s.Get(ctx, k); v != "" {
			out[k] = v
		}
	}
	return out
}

// logBuffer is a concurrency-safe sink for the SDK's logger.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
