package logto_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

const (
	apiResource  = "https://api.example.com"
	redirectURI  = "https://app.example/callback"
	postLogout   = "https://app.example/"
	appID        = "web-app"
	appSecret    = "web-secret"
	spaID        = "spa-app"
	aliceID      = "user-alice"
	bobID        = "user-bob"
	memberOrg    = "org-1"
	nonMemberOrg = "org-2"
)

// fixture is a fake Logto with one traditional app, one SPA, two users, an
// API resource and two organizations, and a client for the web app.
type fixture struct {
	srv    *logtotest.Server
	client *logto.LogtoClient
	store  *logto.MemoryStorage
	cfg    logto.LogtoConfig
}

func allScopes() []string {
	return []string{
		logto.ScopeEmail, logto.ScopePhone, logto.ScopeRoles, logto.ScopeCustomData,
		logto.ScopeIdentities, logto.ScopeOrganizations, logto.ScopeOrganizationRoles,
		// API and organization scopes are granted only when requested.
		"read:data", "write:data", "read:org",
	}
}

func newProvider(t testing.TB, opts ...logtotest.Option) *logtotest.Server {
	t.Helper()
	srv := logtotest.NewServer(t, opts...)
	srv.AddApp(logtotest.App{
		ID: appID, Secret: appSecret, Type: logtotest.AppTraditional,
		RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{postLogout},
	})
	srv.AddApp(logtotest.App{
		ID: spaID, Type: logtotest.AppSPA,
		RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{postLogout},
	})
	srv.AddResource(logtotest.Resource{Indicator: apiResource, Scopes: []string{"read:data", "write:data"}})
	srv.AddRole("admin", apiResource, "read:data", "write:data")
	srv.AddOrganization(logtotest.Organization{ID: memberOrg, Name: "High Table"})
	srv.AddOrganization(logtotest.Organization{ID: nonMemberOrg, Name: "Other"})
	srv.AddOrganizationRole("member", "read:org")
	srv.AddOrganizationRoleResourceScopes("member", apiResource, "read:data")
	srv.AddUser(logtotest.User{
		ID: aliceID, Username: "alice", Name: "Alice Liddell", Email: "alice@example.com",
		CustomData:    map[string]any{"plan": "pro"},
		Identities:    map[string]logtotest.Identity{"github": {UserID: "gh-1"}},
		Roles:         []string{"admin"},
		Organizations: []logtotest.Membership{{OrganizationID: memberOrg, Roles: []string{"member"}}},
		CreatedAt:     time.UnixMilli(1700000000123),
		UpdatedAt:     time.UnixMilli(1700000500456),
	})
	srv.AddUser(logtotest.User{ID: bobID, Username: "bob"})
	return srv
}

func newFixture(t testing.TB, opts ...logto.Option) *fixture {
	t.Helper()
	srv := newProvider(t)
	return newFixtureWith(t, srv, logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret,
		Scopes: allScopes(), Resources: []string{apiResource},
	}, opts...)
}

func newFixtureWith(t testing.TB, srv *logtotest.Server, cfg logto.LogtoConfig, opts ...logto.Option) *fixture {
	t.Helper()
	store := logto.NewMemoryStorage()
	opts = append([]logto.Option{logto.WithClock(srv.Now)}, opts...)
	c, err := logto.NewLogtoClient(cfg, store, opts...)
	require.NoError(t, err)
	return &fixture{srv: srv, client: c, store: store, cfg: cfg}
}

// callbackFor starts a sign-in and lets the provider answer it for user.
func (f *fixture) callbackFor(t testing.TB, user string) string {
	t.Helper()
	u, err := f.client.SignIn(context.Background(), logto.SignInOptions{RedirectURI: redirectURI})
	require.NoError(t, err)
	cb, err := f.srv.Authorize(u, user)
	require.NoError(t, err)
	return cb
}

// signIn completes a whole sign-in for user.
func (f *fixture) signIn(t testing.TB, user string) {
	t.Helper()
	require.NoError(t, f.client.HandleCallback(context.Background(), f.callbackFor(t, user)))
}

// snapshot copies what the session storage holds.
func (f *fixture) snapshot() map[string]string {
	ctx := context.Background()
	out := map[string]string{}
	for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens, logto.StorageKeySignInSession} {
		if v, _ := f.store.Get(ctx, k); v != "" {
			out[k] = v
		}
	}
	return out
}
