package logto

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of the device flow against an in-memory provider (no sockets):
// what the SDK accepts from the device authorization endpoint, what it
// sends, and what it refuses from the token endpoint, with the session
// left as it was. The polling loop itself is tested against logtotest
// (device_test.go).

// deviceProvider answers discovery, keys, device authorization and token
// requests through http.RoundTripper, and records the requests.
type deviceProvider struct {
	mu        sync.Mutex
	discovery map[string]any
	device    func() (int, []byte)
	token     func(poll int) (int, []byte)
	requests  []*http.Request
	forms     []url.Values
	polls     int
}

func fuzzDeviceAuthBody() []byte {
	b, _ := json.Marshal(map[string]any{
		"device_code": "the-device-code", "user_code": "WDJB-MJHT",
		"verification_uri":          fuzzEndpoint + "/device",
		"verification_uri_complete": fuzzEndpoint + "/device?user_code=WDJB-MJHT",
		"expires_in":                600,
	})
	return b
}

// deviceTokenBody is a device_code grant response: an ID token without
// nonce, unless claims change it.
func deviceTokenBody(change func(claims map[string]any)) []byte {
	claims := fuzzIDClaims()
	delete(claims, "nonce")
	if change != nil {
		change(claims)
	}
	b, _ := json.Marshal(map[string]any{
		"access_token": "opaque-access-token", "token_type": "Bearer", "expires_in": 3600,
		"refresh_token": "device-refresh-token", "scope": "openid offline_access profile",
		"id_token": fuzzSign(claims),
	})
	return b
}

func newDeviceProvider() *deviceProvider {
	var doc map[string]any
	_ = json.Unmarshal(fuzzDiscoveryDoc(), &doc)
	doc["device_authorization_endpoint"] = fuzzIssuer + "/device/auth"
	return &deviceProvider{
		discovery: doc,
		device:    func() (int, []byte) { return 200, fuzzDeviceAuthBody() },
		token:     func(int) (int, []byte) { return 200, deviceTokenBody(nil) },
	}
}

func (p *deviceProvider) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	form, _ := url.ParseQuery(string(body))
	p.mu.Lock()
	p.requests = append(p.requests, r)
	p.forms = append(p.forms, form)
	status, out := 404, []byte(`{"error":"not_found"}`)
	switch r.URL.Path {
	case "/oidc/.well-known/openid-configuration":
		out, _ = json.Marshal(p.discovery)
		status = 200
	case "/oidc/jwks":
		status, out = 200, fuzzJWKSDoc()
	case "/oidc/device/auth":
		status, out = p.device()
	case "/oidc/token":
		p.polls++
		status, out = p.token(p.polls)
	}
	p.mu.Unlock()
	return &http.Response{
		StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(out)), ContentLength: int64(len(out)), Request: r,
	}, nil
}

// sent returns the requests to path and their form bodies.
func (p *deviceProvider) sent(path string) ([]*http.Request, []url.Values) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var reqs []*http.Request
	var forms []url.Values
	for i, r := range p.requests {
		if r.URL.Path == path {
			reqs = append(reqs, r)
			forms = append(forms, p.forms[i])
		}
	}
	return reqs, forms
}

// newDeviceClient is a client of the in-memory provider on the fixed
// clock; its waits return at once (the fixed clock does not move).
func newDeviceClient(t testing.TB, p *deviceProvider, secret string, opts ...Option) (*LogtoClient, *MemoryStorage) {
	t.Helper()
	store := NewMemoryStorage()
	opts = append([]Option{
		WithHTTPClient(&http.Client{Transport: p}), WithClock(func() time.Time { return fuzzNow }),
		WithSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() }),
	}, opts...)
	c, err := NewLogtoClient(LogtoConfig{Endpoint: fuzzEndpoint, AppId: fuzzApp, AppSecret: secret, Resources: []string{fuzzAPI}}, store, opts...)
	require.NoError(t, err)
	return c, store
}

func TestStartDeviceSignInAnswers(t *testing.T) {
	valid := func(change func(m map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(fuzzDeviceAuthBody(), &m)
		change(m)
		b, _ := json.Marshal(m)
		return b
	}
	tests := []struct {
		name         string
		status       int
		body         []byte
		wantErr      error
		wantCode     string // an *OAuthError's code
		wantInterval time.Duration
		wantExpires  time.Duration
		wantComplete string
	}{
		{name: "Logto's answer (no interval)", status: 200, body: fuzzDeviceAuthBody(),
			wantInterval: 5 * time.Second, wantExpires: 600 * time.Second, wantComplete: fuzzEndpoint + "/device?user_code=WDJB-MJHT"},
		{name: "announced interval", status: 200, body: valid(func(m map[string]any) { m["interval"] = 7 }),
			wantInterval: 7 * time.Second, wantExpires: 600 * time.Second, wantComplete: fuzzEndpoint + "/device?user_code=WDJB-MJHT"},
		{name: "numbers as strings", status: 200, body: valid(func(m map[string]any) { m["interval"] = "3"; m["expires_in"] = "900" }),
			wantInterval: 3 * time.Second, wantExpires: 900 * time.Second, wantComplete: fuzzEndpoint + "/device?user_code=WDJB-MJHT"},
		{name: "interval 0 is the default", status: 200, body: valid(func(m map[string]any) { m["interval"] = 0 }),
			wantInterval: 5 * time.Second, wantExpires: 600 * time.Second, wantComplete: fuzzEndpoint + "/device?user_code=WDJB-MJHT"},
		{name: "interval beyond the lifetime is cut to it", status: 200, body: valid(func(m map[string]any) { m["interval"] = 1e12 }),
			wantInterval: 600 * time.Second, wantExpires: 600 * time.Second, wantComplete: fuzzEndpoint + "/device?user_code=WDJB-MJHT"},
		{name: "default interval beyond a short lifetime is cut to it", status: 200, body: valid(func(m map[string]any) { m["expires_in"] = 1 }),
			wantInterval: time.Second, wantExpires: time.Second, wantComplete: fuzzEndpoint + "/device?user_code=WDJB-MJHT"},
		{name: "no verification_uri_complete", status: 200, body: valid(func(m map[string]any) { delete(m, "verification_uri_complete") }),
			wantInterval: 5 * time.Second, wantExpires: 600 * time.Second},
		{name: "no device_code", status: 200, body: valid(func(m map[string]any) { delete(m, "device_code") }), wantErr: ErrInvalidResponse},
		{name: "no user_code", status: 200, body: valid(func(m map[string]any) { m["user_code"] = "" }), wantErr: ErrInvalidResponse},
		{name: "no verification_uri", status: 200, body: valid(func(m map[string]any) { delete(m, "verification_uri") }), wantErr: ErrInvalidResponse},
		{name: "script verification_uri", status: 200, body: valid(func(m map[string]any) { m["verification_uri"] = "javascript:alert(1)" }), wantErr: ErrInvalidResponse},
		{name: "relative verification_uri", status: 200, body: valid(func(m map[string]any) { m["verification_uri"] = "/device" }), wantErr: ErrInvalidResponse},
		{name: "plain http verification_uri", status: 200, body: valid(func(m map[string]any) { m["verification_uri"] = "http://logto.test/device" }), wantErr: ErrInvalidResponse},
		{name: "bad verification_uri_complete", status: 200, body: valid(func(m map[string]any) { m["verification_uri_complete"] = "data:text/html,x" }), wantErr: ErrInvalidResponse},
		{name: "no expires_in", status: 200, body: valid(func(m map[string]any) { delete(m, "expires_in") }), wantErr: ErrInvalidResponse},
		{name: "negative expires_in", status: 200, body: valid(func(m map[string]any) { m["expires_in"] = -1 }), wantErr: ErrInvalidResponse},
		{name: "expires_in beyond 68 years", status: 200, body: valid(func(m map[string]any) { m["expires_in"] = 1e12 }), wantErr: ErrInvalidResponse},
		{name: "expires_in not a number", status: 200, body: valid(func(m map[string]any) { m["expires_in"] = "soon" }), wantErr: ErrInvalidResponse},
		{name: "not JSON", status: 200, body: []byte(`<html>`), wantErr: ErrInvalidResponse},
		{name: "OAuth error", status: 400, body: []byte(`{"error":"invalid_request","error_description":"urn:ietf:params:oauth:grant-type:device_code is not allowed for this client"}`), wantCode: "invalid_request"},
		{name: "OAuth error with status 200", status: 200, body: []byte(`{"error":"invalid_client"}`), wantCode: "invalid_client"},
		{name: "server error without body", status: 502, body: nil, wantErr: ErrInvalidResponse},
		{name: "body over the cap", status: 200, body: valid(func(m map[string]any) { m["pad"] = strings.Repeat("x", 5000) }), wantErr: ErrResponseTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newDeviceProvider()
			p.device = func() (int, []byte) { return tt.status, tt.body }
			c, store := newDeviceClient(t, p, "", WithMaxResponseBytes(4096))
			da, err := c.StartDeviceSignIn(context.Background())
			assert.Empty(t, memDump(store), "nothing is stored")
			switch {
			case tt.wantCode != "":
				var oe *OAuthError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, tt.wantCode, oe.Code)
				assert.Equal(t, "device_authorization", oe.Endpoint)
				assert.Equal(t, tt.status, oe.StatusCode)
				return
			case tt.wantErr != nil:
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, da)
				assert.NotContains(t, err.Error(), "the-device-code", "the device code is a secret")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, &DeviceAuthorization{
				DeviceCode: "the-device-code", UserCode: "WDJB-MJHT",
				VerificationURI: fuzzEndpoint + "/device", VerificationURIComplete: tt.wantComplete,
				ExpiresAt: fuzzNow.Add(tt.wantExpires), Interval: tt.wantInterval,
			}, da)
		})
	}
}

func TestStartDeviceSignInRequest(t *testing.T) {
	for _, secret := range []string{"", "s3cr:t/+"} {
		t.Run("secret "+secret, func(t *testing.T) {
			p := newDeviceProvider()
			c, _ := newDeviceClient(t, p, secret)
			_, err := c.StartDeviceSignIn(context.Background())
			require.NoError(t, err)
			reqs, forms := p.sent("/oidc/device/auth")
			require.Len(t, reqs, 1)
			assert.Equal(t, http.MethodPost, reqs[0].Method)
			assert.Equal(t, "application/x-www-form-urlencoded", reqs[0].Header.Get("Content-Type"))
			assert.Equal(t, []string{"openid offline_access profile"}, forms[0]["scope"])
			assert.Equal(t, []string{fuzzAPI}, forms[0]["resource"])
			assert.NotContains(t, forms[0], "nonce")
			id, pw, basic := reqs[0].BasicAuth()
			if secret == "" {
				assert.False(t, basic, "a public client sends no Authorization")
				assert.Equal(t, []string{fuzzApp}, forms[0]["client_id"])
				return
			}
			// client_secret_basic, as at the token endpoint (RFC 6749 2.3.1).
			assert.True(t, basic)
			assert.Equal(t, url.QueryEscape(fuzzApp), id)
			assert.Equal(t, url.QueryEscape(secret), pw)
			assert.NotContains(t, forms[0], "client_id")
		})
	}
}

func TestStartDeviceSignInDiscovery(t *testing.T) {
	t.Run("no device_authorization_endpoint", func(t *testing.T) {
		p := newDeviceProvider()
		delete(p.discovery, "device_authorization_endpoint")
		c, _ := newDeviceClient(t, p, "")
		_, err := c.StartDeviceSignIn(context.Background())
		require.ErrorIs(t, err, ErrNoDeviceAuthorizationEndpoint)
		reqs, _ := p.sent("/oidc/device/auth")
		assert.Empty(t, reqs)
	})
	t.Run("plain http device_authorization_endpoint", func(t *testing.T) {
		p := newDeviceProvider()
		p.discovery["device_authorization_endpoint"] = "http://logto.test/oidc/device/auth"
		c, _ := newDeviceClient(t, p, "")
		_, err := c.StartDeviceSignIn(context.Background())
		require.ErrorIs(t, err, ErrDiscovery)
	})
}

func TestWaitDeviceSignInRefusesTokens(t *testing.T) {
	prior := map[string]string{
		StorageKeyIDToken:      "prior-id-token",
		StorageKeyRefreshToken: "prior-refresh-token",
		StorageKeyAccessTokens: `{"":{"token":"prior","expiresAt":1700003600}}`,
	}
	tests := []struct {
		name    string
		status  int
		body    []byte
		wantErr error
		code    string
	}{
		{name: "ID token with a nonce", status: 200, body: deviceTokenBody(func(c map[string]any) { c["nonce"] = "injected" }), wantErr: ErrInvalidIDToken},
		{name: "ID token for another app", status: 200, body: deviceTokenBody(func(c map[string]any) { c["aud"] = "other-app" }), wantErr: ErrInvalidIDToken},
		{name: "ID token from another issuer", status: 200, body: deviceTokenBody(func(c map[string]any) { c["iss"] = "https://evil.test/oidc" }), wantErr: ErrInvalidIDToken},
		{name: "expired ID token", status: 200, body: deviceTokenBody(func(c map[string]any) { c["exp"] = fuzzNow.Add(-time.Hour).Unix() }), wantErr: ErrInvalidIDToken},
		{name: "no ID token", status: 200, body: []byte(`{"access_token":"a","token_type":"Bearer","expires_in":3600}`), wantErr: ErrInvalidResponse},
		{name: "no expires_in", status: 200, body: []byte(`{"access_token":"a","token_type":"Bearer","id_token":"x.y.z"}`), wantErr: ErrInvalidResponse},
		{name: "invalid_grant", status: 400, body: []byte(`{"error":"invalid_grant","error_description":"grant request is invalid"}`), code: "invalid_grant"},
		{name: "unknown OAuth error", status: 400, body: []byte(`{"error":"unauthorized_client"}`), code: "unauthorized_client"},
		{name: "server error", status: 500, body: []byte(`oops`), wantErr: ErrInvalidResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newDeviceProvider()
			p.token = func(int) (int, []byte) { return tt.status, tt.body }
			c, store := newDeviceClient(t, p, "")
			for k, v := range prior {
				require.NoError(t, store.Set(context.Background(), k, v))
			}
			err := c.WaitDeviceSignIn(context.Background(), &DeviceAuthorization{DeviceCode: "dc", ExpiresAt: fuzzNow.Add(time.Minute)})
			if tt.code != "" {
				var oe *OAuthError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, tt.code, oe.Code)
				assert.False(t, errors.Is(err, ErrDeviceAccessDenied) || errors.Is(err, ErrDeviceCodeExpired))
			} else {
				require.ErrorIs(t, err, tt.wantErr)
			}
			assert.Equal(t, prior, memDump(store), "the session is left as it was")
			assert.Equal(t, 1, p.polls, "no further poll after a refusal")
		})
	}
}

// memDump copies what a MemoryStorage holds under the SDK's keys.
func memDump(s *MemoryStorage) map[string]string {
	out := map[string]string{}
	for _, k := range []string{StorageKeyIDToken, StorageKeyRefreshToken, StorageKeyAccessTokens, StorageKeySignInSession} {
		if v, _ := s.Get(context.Background(), k); v != "" {
			out[k] = v
		}
	}
	return out
}

// failingSetStorage fails every Set of one key.
type failingSetStorage struct {
	*MemoryStorage
	key string
}

func (s failingSetStorage) Set(ctx context.Context, key, value string) error {
	if key == s.key {
		return errors.New("disk full")
	}
	return s.MemoryStorage.Set(ctx, key, value)
}

func TestWaitDeviceSignInStorageFailure(t *testing.T) {
	p := newDeviceProvider()
	c, store := newDeviceClient(t, p, "")
	require.NoError(t, store.Set(context.Background(), StorageKeyRefreshToken, "prior-refresh-token"))
	require.NoError(t, store.Set(context.Background(), StorageKeyIDToken, "prior-id-token"))
	v := c.WithStorage(failingSetStorage{MemoryStorage: store, key: StorageKeyIDToken})
	err := v.WaitDeviceSignIn(context.Background(), &DeviceAuthorization{DeviceCode: "dc", ExpiresAt: fuzzNow.Add(time.Minute)})
	require.ErrorIs(t, err, ErrStorage)
	assert.Equal(t, map[string]string{StorageKeyRefreshToken: "prior-refresh-token", StorageKeyIDToken: "prior-id-token"}, memDump(store),
		"the written keys are restored")
}

func TestWaitDeviceSignInArguments(t *testing.T) {
	p := newDeviceProvider()
	c, _ := newDeviceClient(t, p, "")
	ctx := context.Background()
	require.ErrorIs(t, c.WaitDeviceSignIn(ctx, nil), ErrInvalidConfig)
	require.ErrorIs(t, c.WaitDeviceSignIn(ctx, &DeviceAuthorization{}), ErrInvalidConfig)
	err := c.WaitDeviceSignIn(ctx, &DeviceAuthorization{DeviceCode: "dc", ExpiresAt: fuzzNow})
	require.ErrorIs(t, err, ErrDeviceCodeExpired, "expired by the client's clock")
	assert.Zero(t, p.polls, "an expired code is not polled")

	// A zero Interval (a DeviceAuthorization built by hand) waits the
	// default.
	var waited []time.Duration
	c2, _ := newDeviceClient(t, p, "", WithSleep(func(ctx context.Context, d time.Duration) error {
		waited = append(waited, d)
		return nil
	}))
	da := &DeviceAuthorization{DeviceCode: "dc", ExpiresAt: fuzzNow.Add(time.Minute)}
	require.NoError(t, c2.WaitDeviceSignIn(ctx, da))
	assert.Equal(t, []time.Duration{DefaultDeviceInterval}, waited)

	// The spent code is never sent again.
	assert.Empty(t, da.DeviceCode)
	polls := p.polls
	require.ErrorIs(t, c2.WaitDeviceSignIn(ctx, da), ErrInvalidConfig)
	assert.Equal(t, polls, p.polls)
	require.ErrorIs(t, func() error {
		_, err := NewLogtoClient(LogtoConfig{Endpoint: fuzzEndpoint, AppId: "a"}, nil, WithSleep(nil))
		return err
	}(), ErrInvalidConfig)
}

// TestWaitDeviceSignInRealTimer checks the default timer: a cancelled or
// expired context ends the wait at once, before the first poll (which
// comes only after the five-second interval).
func TestWaitDeviceSignInRealTimer(t *testing.T) {
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newDeviceProvider()
			c, err := NewLogtoClient(LogtoConfig{Endpoint: fuzzEndpoint, AppId: fuzzApp}, nil,
				WithHTTPClient(&http.Client{Transport: p}))
			require.NoError(t, err)
			ctx, cancel := tt.ctx()
			defer cancel()
			err = c.WaitDeviceSignIn(ctx, &DeviceAuthorization{DeviceCode: "dc", ExpiresAt: time.Now().Add(time.Minute), Interval: time.Hour})
			require.ErrorIs(t, err, tt.want)
			assert.Zero(t, p.polls, "the wait ended before the interval")
		})
	}
}

// FuzzDeviceAuthorization feeds the device authorization endpoint's answer:
// it never panics, an error is one the SDK documents, and an accepted
// answer is usable (codes, an allowed verification URI, a positive
// interval, an expiry ahead).
func FuzzDeviceAuthorization(f *testing.F) {
	f.Add(200, fuzzDeviceAuthBody())
	f.Add(200, []byte(`{"device_code":"d","user_code":"u","verification_uri":"https://logto.test/device","expires_in":"1e3","interval":-4}`))
	f.Add(400, []byte(`{"error":"invalid_request"}`))
	f.Add(200, []byte(`{"device_code":"d","user_code":"u","verification_uri":"https://logto.test/device","expires_in":5,"interval":9007199254740993}`))
	f.Add(200, []byte(`null`))
	f.Add(200, []byte(`{"device_code":"0","user_code":"0","verification_uri":"https://logto.test/device","expires_in":1}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		da, err := parseDeviceAuthorization(answer{status: status, header: http.Header{}, body: body}, fuzzNow, false)
		if err != nil {
			if !knownError(err) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		if da.DeviceCode == "" || da.UserCode == "" || da.Interval <= 0 || !da.ExpiresAt.After(fuzzNow) ||
			da.Interval > da.ExpiresAt.Sub(fuzzNow) {
			t.Fatalf("unusable answer accepted: %+v", da)
		}
		if u, err := url.Parse(da.VerificationURI); err != nil || u.Scheme != "https" {
			t.Fatalf("verification_uri %q accepted", da.VerificationURI)
		}
	})
}
