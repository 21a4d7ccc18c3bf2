package logtotest_test

import (
	"net/http"
	"net/url"
	"testing"

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
