package logtotest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// TestResourceTokenScopesFromAllRoles follows Logto 1.42's
// findUserScopesForResourceIndicator: an API token carries the requested
// scopes the user holds through global roles plus those of organization
// roles, every organization's for a plain token and only the named one's
// for an organization-scoped API token (resource + organization_id), which
// keeps the global-role scopes: it is not narrowed to the organization.
func TestResourceTokenScopesFromAllRoles(t *testing.T) {
	srv := logtotest.NewServer(t)
	srv.AddApp(logtotest.App{ID: webID, Secret: webSecret, RedirectURIs: []string{redirectURI}})
	srv.AddResource(logtotest.Resource{Indicator: apiA, Scopes: []string{"read", "write", "admin", "audit"}})
	srv.AddRole("reader", apiA, "read")
	srv.AddOrganization(logtotest.Organization{ID: "org1", Name: "One"})
	srv.AddOrganization(logtotest.Organization{ID: "org2", Name: "Two"})
	srv.AddOrganization(logtotest.Organization{ID: "org3", Name: "Three"})
	srv.AddOrganizationRole("writer")
	srv.AddOrganizationRoleResourceScopes("writer", apiA, "write")
	srv.AddOrganizationRole("admin")
	srv.AddOrganizationRoleResourceScopes("admin", apiA, "admin")
	srv.AddOrganizationRole("auditor")
	srv.AddOrganizationRoleResourceScopes("auditor", apiA, "audit")
	srv.AddUser(logtotest.User{ID: "u1", Roles: []string{"reader"}, Organizations: []logtotest.Membership{
		{OrganizationID: "org1", Roles: []string{"writer"}},
		{OrganizationID: "org2", Roles: []string{"admin"}},
		{OrganizationID: "org3"},
	}})
	srv.AddUser(logtotest.User{ID: "u2", Organizations: []logtotest.Membership{{OrganizationID: "org1", Roles: []string{"writer"}}}})
	// auditor is held by nobody; audit is requested but never granted.
	scope := "openid offline_access urn:logto:scope:organizations read write admin audit"
	signIn := func(user string) map[string]any {
		t.Helper()
		p := authParams(webID, scope)
		p["resource"] = []string{apiA, "urn:logto:resource:organizations"}
		q := authorize(t, srv, user, p)
		status, body := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"},
			"code": {q.Get("code")}, "redirect_uri": {redirectURI}, "resource": {apiA}}, webID, webSecret)
		require.Equal(t, http.StatusOK, status, body)
		return body
	}
	u1, u2 := signIn("u1"), signIn("u2")
	assert.Equal(t, "read write admin", u1["scope"], "code exchange with resource: global and every organization's roles")

	tests := []struct {
		name  string
		body  map[string]any
		extra url.Values
		want  string
		org   any
	}{
		{"plain API token: global and every organization's roles", u1, url.Values{"resource": {apiA}}, "read write admin", nil},
		{"organization 1: global roles and its role", u1, url.Values{"resource": {apiA}, "organization_id": {"org1"}}, "read write", "org1"},
		{"organization 2: global roles and its role", u1, url.Values{"resource": {apiA}, "organization_id": {"org2"}}, "read admin", "org2"},
		{"organization without a role: global roles alone", u1, url.Values{"resource": {apiA}, "organization_id": {"org3"}}, "read", "org3"},
		{"narrowed by the scope parameter", u1, url.Values{"resource": {apiA}, "organization_id": {"org1"}, "scope": {"write admin"}}, "write", "org1"},
		{"no global role", u2, url.Values{"resource": {apiA}, "organization_id": {"org1"}}, "write", "org1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := refresh(t, srv, false, str(tt.body["refresh_token"]), tt.extra)
			require.Equal(t, http.StatusOK, status, body)
			assert.Equal(t, tt.want, body["scope"])
			_, claims := verifyJWT(t, srv, str(body["access_token"]))
			assert.Equal(t, apiA, claims["aud"])
			assert.Equal(t, tt.want, claims["scope"])
			assert.Equal(t, tt.org, claims["organization_id"])
		})
	}
}

// TestUnrequestedResourceSpendsRotatingRefreshToken reproduces Logto 1.42
// (issue 9 item 3): for a public app, whose refresh token rotates on every
// use, a refresh with a resource that was not requested at sign-in is
// refused with invalid_target after the refresh token has been consumed,
// and the answer carries no new one. The client still holds the old token;
// once the reuse interval has passed, using it counts as a reuse and
// revokes the whole grant.
func TestUnrequestedResourceSpendsRotatingRefreshToken(t *testing.T) {
	tests := []struct {
		name  string
		reuse time.Duration
	}{
		{"no reuse interval (oidc-provider)", 0},
		{"Logto's 3 s reuse interval", 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFixture(t, logtotest.WithRefreshTokenReuseInterval(tt.reuse))
			body := signInSPA(t, srv, "u-alice", "openid offline_access read", url.Values{"resource": {apiA}})
			rt := str(body["refresh_token"])

			status, refused := refresh(t, srv, true, rt, url.Values{"resource": {apiB}})
			require.Equal(t, http.StatusBadRequest, status, refused)
			assert.Equal(t, "invalid_target", refused["error"])
			assert.Equal(t, "resource indicator is missing, or unknown", refused["error_description"])
			assert.Equal(t, "Invalid resource indicator.", refused["message"])
			assert.NotContains(t, refused, "refresh_token", "the successor is not handed out")

			latest := rt
			if tt.reuse > 0 {
				// Within the interval the old token still works...
				status, again := refresh(t, srv, true, rt, nil)
				require.Equal(t, http.StatusOK, status, again)
				latest = str(again["refresh_token"])
				require.NotEmpty(t, latest)
				srv.Advance(tt.reuse + time.Second)
			}
			// ...after it, its use is a reuse: the grant is revoked.
			assert.False(t, srv.RefreshTokenActive(rt))
			status, reused := refresh(t, srv, true, rt, nil)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "invalid_grant", reused["error"])
			assert.False(t, srv.RefreshTokenActive(latest), "the grant is gone, with every token of it")
			status, _ = refresh(t, srv, true, latest, url.Values{"resource": {apiA}})
			assert.Equal(t, http.StatusBadRequest, status)
		})
	}
}

// TestGrantLimitsScopesAfterSignIn follows Logto 1.42's consent and
// refresh grant (as observed on the real server): the grant made at sign-in
// holds the requested API scopes the user had then and every requested
// organization scope. The refresh token carries only those; asking for
// another at refresh is invalid_scope, before the refresh token is spent;
// tokens for the API never carry more, whatever roles the user gains
// later, but lose a scope as soon as its role is gone, and get it back
// with the role. Organization scopes follow the user's organization roles
// at every refresh.
func TestGrantLimitsScopesAfterSignIn(t *testing.T) {
	srv := newFixture(t, logtotest.WithRefreshTokenReuseInterval(0))
	srv.AddRole("writer", apiA, "write")
	p := url.Values{"resource": {apiA, "urn:logto:resource:organizations"}}
	// Bob has no role and no organization; Alice reads through "reader".
	bob := signInSPA(t, srv, "u-bob", "openid offline_access urn:logto:scope:organizations read write read:org", p)
	alice := signIn(t, srv, "u-alice", "openid offline_access urn:logto:scope:organizations read write read:org", p)
	introspectScope := func(rt string) any {
		_, got := postForm(t, srv, "/oidc/token/introspection", url.Values{"token": {rt}}, webID, webSecret)
		return got["scope"]
	}
	assert.Equal(t, "openid offline_access urn:logto:scope:organizations read:org", introspectScope(str(bob["refresh_token"])))
	assert.Equal(t, "openid offline_access urn:logto:scope:organizations read write read:org", introspectScope(str(alice["refresh_token"])),
		"write comes from Alice's organization role")

	// Bob gains both API roles and organization 1 after signing in.
	srv.UpdateUser("u-bob", func(u *logtotest.User) {
		u.Roles = []string{"reader", "writer"}
		u.Organizations = []logtotest.Membership{{OrganizationID: "org1", Roles: []string{"member"}}}
	})
	rt := str(bob["refresh_token"])
	status, refused := refresh(t, srv, true, rt, url.Values{"resource": {apiA}, "scope": {"read write"}})
	require.Equal(t, http.StatusBadRequest, status, refused)
	assert.Equal(t, map[string]any{"error": "invalid_scope", "error_description": "refresh token missing requested scopes",
		"scope": "read write", "code": "oidc.invalid_scope", "message": "Invalid scope: {{error_description}}."}, refused)
	assert.True(t, srv.RefreshTokenActive(rt), "refused before the refresh token is spent")
	status, body := refresh(t, srv, true, rt, url.Values{"resource": {apiA}})
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "", body["scope"], "API scopes the grant lacks are not added by new roles")
	status, body = refresh(t, srv, true, str(body["refresh_token"]), url.Values{"organization_id": {"org1"}})
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "read:org", body["scope"], "organization scopes follow the roles")

	// Alice loses her global role, then gets it back.
	rt = str(alice["refresh_token"])
	srv.UpdateUser("u-alice", func(u *logtotest.User) { u.Roles = nil })
	status, body = refresh(t, srv, false, rt, url.Values{"resource": {apiA}, "scope": {"read write"}})
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "write", body["scope"], "a removed role shows at the next refresh")
	srv.UpdateUser("u-alice", func(u *logtotest.User) { u.Roles = []string{"reader"} })
	status, body = refresh(t, srv, false, rt, url.Values{"resource": {apiA}, "scope": {"read"}})
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "read", body["scope"], "narrowed, and back with the role")
	_, claims := verifyJWT(t, srv, str(body["access_token"]))
	assert.Equal(t, "read", claims["scope"])
	assert.NotContains(t, body, "id_token", "no openid in the narrowed scope: no ID token")
}
