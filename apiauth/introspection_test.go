package apiauth_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/logtotest"
)

// introspectionFixture is a logtotest tenant with a web app whose user
// signed in (so it holds an opaque default token), a public native app
// signed in too, and the API's machine-to-machine app, whose credentials
// the API introspects with.
type introspectionFixture struct {
	srv         *logtotest.Server
	web, native *logto.LogtoClient
}

func newIntrospectionFixture(t *testing.T) introspectionFixture {
	t.Helper()
	ctx := context.Background()
	srv := logtotest.NewServer(t)
	srv.AddApp(logtotest.App{ID: "web", Secret: "web-secret", Type: logtotest.AppTraditional, RedirectURIs: []string{"https://app.example/cb"}})
	srv.AddApp(logtotest.App{ID: "native", Type: logtotest.AppNative, RedirectURIs: []string{"io.example://cb"}})
	srv.AddApp(logtotest.App{ID: "api-m2m", Secret: "m2m-secret", Type: logtotest.AppMachineToMachine})
	srv.AddResource(logtotest.Resource{Indicator: api, Scopes: []string{"read:data"}})
	srv.AddRole("reader", api, "read:data")
	srv.AddUser(logtotest.User{ID: "u1", Roles: []string{"reader"}})
	signIn := func(cfg logto.LogtoConfig, redirect string) *logto.LogtoClient {
		cfg.Endpoint = srv.URL()
		c, err := logto.NewLogtoClient(cfg, nil, logto.WithClock(srv.Now))
		require.NoError(t, err)
		u, err := c.SignIn(ctx, logto.SignInOptions{RedirectURI: redirect})
		require.NoError(t, err)
		cb, err := srv.Authorize(u, "u1")
		require.NoError(t, err)
		require.NoError(t, c.HandleCallback(ctx, cb))
		return c
	}
	return introspectionFixture{
		srv: srv,
		web: signIn(logto.LogtoConfig{AppId: "web", AppSecret: "web-secret", Scopes: []string{"read:data"}, Resources: []string{api}},
			"https://app.example/cb"),
		native: signIn(logto.LogtoConfig{AppId: "native"}, "io.example://cb"),
	}
}

// verifier accepts opaque tokens of the web app, introspected as api-m2m.
func (f introspectionFixture) verifier(t *testing.T, edit func(*apiauth.Introspection)) *apiauth.Verifier {
	in := &apiauth.Introspection{ClientID: "api-m2m", ClientSecret: "m2m-secret", Clients: []string{"web"}}
	if edit != nil {
		edit(in)
	}
	return newVerifier(t, f.srv, func(c *apiauth.Config) { c.Introspection = in })
}

func (f introspectionFixture) token(t *testing.T, c *logto.LogtoClient) string {
	t.Helper()
	tok, err := c.GetAccessToken(context.Background(), "")
	require.NoError(t, err)
	require.NotContains(t, tok, ".", "the default token is opaque")
	return tok
}

func TestIntrospectedOpaqueToken(t *testing.T) {
	ctx := context.Background()
	f := newIntrospectionFixture(t)
	v := f.verifier(t, nil)
	tok := f.token(t, f.web)

	c, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.True(t, c.Introspected())
	assert.Equal(t, "u1", c.Subject)
	assert.Equal(t, "web", c.ClientID)
	assert.Equal(t, f.srv.Issuer(), c.Issuer)
	assert.True(t, c.HasScope(logto.ScopeOpenID))
	assert.False(t, c.Expiry.Time().IsZero())
	var raw map[string]any
	require.NoError(t, c.Claims(&raw))
	assert.Equal(t, true, raw["active"], "Claims decodes the introspection answer")

	reqs := f.srv.Requests(logtotest.EndpointIntrospection)
	require.Len(t, reqs, 1)
	assert.Equal(t, tok, reqs[0].Form.Get("token"))
	assert.Equal(t, "access_token", reqs[0].Form.Get("token_type_hint"))
	basic := (&http.Request{Header: reqs[0].Header})
	id, secret, ok := basic.BasicAuth()
	require.True(t, ok, "client_secret_basic")
	assert.Equal(t, []string{"api-m2m", "m2m-secret"}, []string{id, secret})

	// Requirements apply as to JWTs: the default token holds no API scope.
	_, err = v.Verify(ctx, tok, apiauth.RequireScopes("read:data"))
	assert.ErrorIs(t, err, apiauth.ErrInsufficientScope)
	assert.Len(t, f.srv.Requests(logtotest.EndpointIntrospection), 1, "the answer is cached")

	// JWT access tokens are still verified locally, never introspected.
	jwt, err := f.web.GetAccessToken(ctx, api)
	require.NoError(t, err)
	c, err = v.Verify(ctx, jwt, apiauth.RequireScopes("read:data"))
	require.NoError(t, err)
	assert.False(t, c.Introspected())
	assert.Len(t, f.srv.Requests(logtotest.EndpointIntrospection), 1)
}

// TestIntrospectionRefusals: what an opaque token can be refused for, and
// that the refusal is the RFC 6750 one the middleware answers with.
func TestIntrospectionRefusals(t *testing.T) {
	ctx := context.Background()
	f := newIntrospectionFixture(t)
	webTok := f.token(t, f.web)
	rt, err := f.web.GetRefreshToken(ctx)
	require.NoError(t, err)
	tests := []struct {
		name   string
		v      *apiauth.Verifier
		token  string
		want   error
		status int
	}{
		{"no introspection configured", newVerifier(t, f.srv, nil), webTok, apiauth.ErrInvalidToken, http.StatusUnauthorized},
		{"an app not accepted", f.verifier(t, nil), f.token(t, f.native), apiauth.ErrInvalidToken, http.StatusUnauthorized},
		{"a refresh token", f.verifier(t, func(in *apiauth.Introspection) { in.Clients = []string{"web", "native"} }), rt,
			apiauth.ErrInvalidToken, http.StatusUnauthorized},
		{"an unknown token", f.verifier(t, nil), "not-a-token-logto-issued", apiauth.ErrInvalidToken, http.StatusUnauthorized},
		{"wrong API credentials", f.verifier(t, func(in *apiauth.Introspection) { in.ClientSecret = "wrong" }), webTok,
			apiauth.ErrUnavailable, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.v.Verify(ctx, tt.token)
			require.ErrorIs(t, err, tt.want)
			assert.Equal(t, tt.status, call(protected(tt.v), "Bearer "+tt.token).Code)
			assert.Zero(t, tt.v.CacheLen(), "refusals are not cached")
		})
	}
}

// TestIntrospectionCacheAge: an answer is reused for MaxCacheAge at most,
// so a token revoked at Logto is refused within it, and never past the
// token's expiry.
func TestIntrospectionCacheAge(t *testing.T) {
	ctx := context.Background()
	f := newIntrospectionFixture(t)
	v := f.verifier(t, func(in *apiauth.Introspection) { in.MaxCacheAge = 30 * time.Second })
	tok := f.token(t, f.web)
	_, err := v.Verify(ctx, tok)
	require.NoError(t, err)

	f.srv.RevokeGrantsOf("u1")
	f.srv.Advance(29 * time.Second)
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err, "within MaxCacheAge the cached answer stands")
	assert.Len(t, f.srv.Requests(logtotest.EndpointIntrospection), 1)
	f.srv.Advance(2 * time.Second)
	_, err = v.Verify(ctx, tok)
	require.ErrorIs(t, err, apiauth.ErrInvalidToken, "past MaxCacheAge Logto is asked again")
	assert.Len(t, f.srv.Requests(logtotest.EndpointIntrospection), 2)

	t.Run("never past exp", func(t *testing.T) {
		f := newIntrospectionFixture(t)
		v := f.verifier(t, func(in *apiauth.Introspection) { in.MaxCacheAge = 24 * time.Hour })
		tok := f.token(t, f.web)
		c, err := v.Verify(ctx, tok)
		require.NoError(t, err)
		f.srv.SetNow(c.Expiry.Time().Add(time.Second))
		_, err = v.Verify(ctx, tok)
		require.ErrorIs(t, err, apiauth.ErrInvalidToken)
		assert.Len(t, f.srv.Requests(logtotest.EndpointIntrospection), 2)
	})
	t.Run("negative: every request", func(t *testing.T) {
		f := newIntrospectionFixture(t)
		v := f.verifier(t, func(in *apiauth.Introspection) { in.MaxCacheAge = -1 })
		tok := f.token(t, f.web)
		for range 3 {
			_, err := v.Verify(ctx, tok)
			require.NoError(t, err)
		}
		assert.Len(t, f.srv.Requests(logtotest.EndpointIntrospection), 3)
	})
}

// TestIntrospectionShared: concurrent verifications of one opaque token
// send one introspection request.
func TestIntrospectionShared(t *testing.T) {
	f := newIntrospectionFixture(t)
	v := f.verifier(t, nil)
	tok := f.token(t, f.web)
	f.srv.Stall(logtotest.EndpointIntrospection)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = v.Verify(context.Background(), tok)
		}()
	}
	require.Eventually(t, func() bool { return f.srv.RequestCount(logtotest.EndpointIntrospection) == 1 },
		5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // let the others join the flight
	f.srv.Resume(logtotest.EndpointIntrospection)
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, 1, f.srv.RequestCount(logtotest.EndpointIntrospection))
}

// TestIntrospectionHonoursContext: a caller whose context ends stops
// waiting; another caller still gets its answer with a request of its own.
func TestIntrospectionHonoursContext(t *testing.T) {
	f := newIntrospectionFixture(t)
	v := f.verifier(t, nil)
	tok := f.token(t, f.web)
	f.srv.Stall(logtotest.EndpointIntrospection)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := v.Verify(ctx, tok)
	require.ErrorIs(t, err, apiauth.ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	f.srv.Resume(logtotest.EndpointIntrospection)
	_, err = v.Verify(context.Background(), tok)
	require.NoError(t, err)
}

func TestIntrospectionConfigValidated(t *testing.T) {
	srv := logtotest.NewServer(t)
	for name, in := range map[string]apiauth.Introspection{
		"no client id":      {ClientSecret: "s", Clients: []string{"web"}},
		"no secret":         {ClientID: "m", Clients: []string{"web"}},
		"no clients":        {ClientID: "m", ClientSecret: "s"},
		"empty client name": {ClientID: "m", ClientSecret: "s", Clients: []string{""}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := apiauth.NewVerifier(apiauth.Config{Endpoint: srv.URL(), Audience: api, Introspection: &in})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "Introspection.")
		})
	}
	t.Run("the caller's struct is left as it was", func(t *testing.T) {
		in := apiauth.Introspection{ClientID: "m", ClientSecret: "s", Clients: []string{"web"}}
		_, err := apiauth.NewVerifier(apiauth.Config{Endpoint: srv.URL(), Audience: api, Introspection: &in})
		require.NoError(t, err)
		assert.Zero(t, in.MaxCacheAge)
	})
}
