package logto_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/logtotest"
)

func newM2MProvider(t testing.TB) *logtotest.Server {
	srv := newProvider(t)
	srv.AddApp(logtotest.App{
		ID: "m2m-app", Secret: "m2m-secret", Type: logtotest.AppMachineToMachine,
		ResourceScopes:    map[string][]string{apiResource: {"read:data"}},
		Organizations:     []string{memberOrg},
		OrganizationRoles: map[string][]string{memberOrg: {"member"}},
	})
	return srv
}

func TestM2MClient(t *testing.T) {
	ctx := context.Background()
	srv := newM2MProvider(t)
	m, err := logto.NewM2MClient(logto.M2MConfig{
		Endpoint: srv.URL(), AppId: "m2m-app", AppSecret: "m2m-secret",
		Resource: apiResource, Scopes: []string{"read:data"},
	}, logto.WithClock(srv.Now))
	require.NoError(t, err)

	tok, err := m.AccessToken(ctx)
	require.NoError(t, err)
	req := srv.Requests(logtotest.EndpointToken)[0]
	assert.Equal(t, "client_credentials", req.Form.Get("grant_type"))
	assert.Equal(t, apiResource, req.Form.Get("resource"))
	assert.Equal(t, "read:data", req.Form.Get("scope"))
	_, _, basicAuth := (&http.Request{Header: req.Header}).BasicAuth()
	assert.True(t, basicAuth)

	// The token is a JWT for the API, with the app as subject.
	v, err := apiauth.NewVerifier(apiauth.Config{Endpoint: srv.URL(), Audience: apiResource, Now: srv.Now})
	require.NoError(t, err)
	claims, err := v.Verify(ctx, tok, apiauth.RequireScopes("read:data"))
	require.NoError(t, err)
	assert.Equal(t, "m2m-app", claims.Subject)

	// Cached until the early-expiry window, shared by concurrent callers.
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.AccessToken(ctx)
			assert.NoError(t, err)
			assert.Equal(t, tok, got)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken))

	srv.Advance(59 * time.Minute) // within the default one-minute window
	srv.ResetRequests()
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.AccessToken(ctx)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken), "one refetch for all callers")
}

func TestM2MOrganizationToken(t *testing.T) {
	srv := newM2MProvider(t)
	m, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: "m2m-app", AppSecret: "m2m-secret", OrganizationID: memberOrg, Scopes: []string{"read:org"}}, logto.WithClock(srv.Now))
	require.NoError(t, err)
	tok, err := m.AccessToken(context.Background())
	require.NoError(t, err)
	v, err := apiauth.NewVerifier(apiauth.Config{Endpoint: srv.URL(), AcceptOrganizationTokens: true, Now: srv.Now})
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), tok, apiauth.RequireOrganization(memberOrg), apiauth.RequireScopes("read:org"))
	require.NoError(t, err)

	other, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: "m2m-app", AppSecret: "m2m-secret", OrganizationID: nonMemberOrg})
	require.NoError(t, err)
	_, err = other.AccessToken(context.Background())
	var oe *logto.OAuthError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "access_denied", oe.Code)
}

func TestM2MErrors(t *testing.T) {
	srv := newM2MProvider(t)
	_, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: "m2m-app", AppSecret: "m2m-secret"})
	assert.ErrorIs(t, err, logto.ErrInvalidConfig, "a resource or an organization is required")
	_, err = logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: "m2m-app", Resource: apiResource})
	assert.ErrorIs(t, err, logto.ErrInvalidConfig, "a secret is required")

	m, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: "m2m-app", AppSecret: "nope", Resource: apiResource})
	require.NoError(t, err)
	_, err = m.AccessToken(context.Background())
	var oe *logto.OAuthError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "invalid_client", oe.Code)
	assert.NotContains(t, err.Error(), "nope")

	// A caller whose context is done gives up without a request.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv.ResetRequests()
	_, err = m.AccessToken(ctx)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
}

// TestTokenSourcesCallAPIs uses the oauth2 adapters of the M2M client and
// of a signed-in user's client to call an API protected by apiauth.
func TestTokenSourcesCallAPIs(t *testing.T) {
	ctx := context.Background()
	srv := newM2MProvider(t)
	v, err := apiauth.NewVerifier(apiauth.Config{Endpoint: srv.URL(), Audience: apiResource, AcceptOrganizationTokens: true})
	require.NoError(t, err)
	api := httptest.NewServer(v.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := apiauth.FromContext(r.Context())
		_, _ = io.WriteString(w, c.Subject+" "+c.Scope)
	})))
	t.Cleanup(api.Close)
	get := func(hc *http.Client) string {
		resp, err := hc.Get(api.URL)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, 200, resp.StatusCode, string(b))
		return string(b)
	}

	m, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: "m2m-app", AppSecret: "m2m-secret", Resource: apiResource, Scopes: []string{"read:data"}})
	require.NoError(t, err)
	assert.Equal(t, "m2m-app read:data", get(m.HTTPClient(ctx)))

	f := newFixtureWith(t, srv, logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret, Scopes: allScopes(), Resources: []string{apiResource},
	})
	f.signIn(t, aliceID)
	assert.Equal(t, aliceID+" read:data write:data", get(oauth2.NewClient(ctx, f.client.TokenSource(ctx, apiResource))))
	assert.Equal(t, aliceID+" read:org", get(oauth2.NewClient(ctx, f.client.OrganizationTokenSource(ctx, memberOrg))))
	assert.Equal(t, aliceID+" read:data write:data", get(oauth2.NewClient(ctx, f.client.OrganizationAccessTokenSource(ctx, memberOrg, apiResource))), "global-role plus organization-role scopes, as in Logto")

	tok, err := f.client.TokenSource(ctx, apiResource).Token()
	require.NoError(t, err)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.WithinDuration(t, srv.Now().Add(59*time.Minute), tok.Expiry, 2*time.Second, "expiry moved earlier by the early-expiry window")
}
