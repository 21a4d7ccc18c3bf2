package demoapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/logtotest"
)

// TestAPIWithUserTokens signs a user in at a fake Logto, then calls the API
// with the SDK's token sources: an API token, an organization-scoped API
// token and an organization token; and without a token.
func TestAPIWithUserTokens(t *testing.T) {
	ctx := context.Background()
	srv := logtotest.NewServer(t)
	const resource = "https://api.example.com"
	srv.AddApp(logtotest.App{ID: "app", Secret: "s", Type: logtotest.AppTraditional, RedirectURIs: []string{"http://app.test/callback"}})
	srv.AddResource(logtotest.Resource{Indicator: resource, Scopes: []string{"read:data"}})
	srv.AddRole("reader", resource, "read:data")
	srv.AddOrganization(logtotest.Organization{ID: "org-1", Name: "One"})
	srv.AddOrganizationRole("member", "read:members")
	srv.AddOrganizationRoleResourceScopes("member", resource, "read:data")
	srv.AddUser(logtotest.User{ID: "u1", Roles: []string{"reader"}, Organizations: []logtotest.Membership{{OrganizationID: "org-1", Roles: []string{"member"}}}})

	h, err := New(apiauth.Config{Endpoint: srv.URL(), Audience: resource, AcceptOrganizationTokens: true})
	require.NoError(t, err)
	api := httptest.NewServer(h)
	t.Cleanup(api.Close)

	client, err := logto.NewLogtoClient(logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: "app", AppSecret: "s",
		Scopes:    []string{logto.ScopeOrganizations, "read:data", "read:members"},
		Resources: []string{resource},
	}, nil)
	require.NoError(t, err)
	u, err := client.SignIn(ctx, logto.SignInOptions{RedirectURI: "http://app.test/callback"})
	require.NoError(t, err)
	cb, err := srv.Authorize(u, "u1")
	require.NoError(t, err)
	require.NoError(t, client.HandleCallback(ctx, cb))

	get := func(hc *http.Client, path string) (int, map[string]any) {
		resp, err := hc.Get(api.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}

	status, body := get(oauth2.NewClient(ctx, client.TokenSource(ctx, resource)), "/api/data")
	assert.Equal(t, 200, status)
	assert.Equal(t, "u1", body["owner"])

	orgAPI := oauth2.NewClient(ctx, client.OrganizationAccessTokenSource(ctx, "org-1", resource))
	status, body = get(orgAPI, "/api/organizations/org-1/data")
	assert.Equal(t, 200, status)
	assert.Equal(t, "org-1", body["organization"])
	status, _ = get(orgAPI, "/api/organizations/org-2/data")
	assert.Equal(t, 403, status, "a token bound to org-1 does not open org-2")

	status, _ = get(oauth2.NewClient(ctx, client.OrganizationTokenSource(ctx, "org-1")), "/api/organizations/org-1/data")
	assert.Equal(t, 200, status)
	status, _ = get(oauth2.NewClient(ctx, client.OrganizationTokenSource(ctx, "org-1")), "/api/data")
	assert.Equal(t, 403, status, "an organization token lacks read:data")

	status, body = get(http.DefaultClient, "/api/data")
	assert.Equal(t, 401, status)
	assert.Equal(t, "unauthorized", body["error"])
}
