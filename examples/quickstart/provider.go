package main

import (
	"github.com/gologto/logto"
	"github.com/gologto/logto/examples/internal/demoapi"
	"github.com/gologto/logto/logtotest"
)

// The embedded provider's demo application, user and API.
const (
	demoAppID     = "quickstart"
	demoAppSecret = "quickstart-secret"
	demoUserID    = "demo-user"
	demoUsername  = "demo"
	demoOrgID     = "org-demo"
	demoAPI       = demoapi.Resource
)

// signInHint is the line the embedded provider's sign-in page shows.
const signInHint = `Demo: enter the username "` + demoUsername + `" (there is no password).`

// seedProvider registers the demo application (for an app served at
// baseURL), user, organization and API in the embedded provider.
func seedProvider(p *logtotest.Server, baseURL string) {
	p.AddApp(logtotest.App{
		ID:                     demoAppID,
		Secret:                 demoAppSecret,
		Type:                   logtotest.AppTraditional,
		RedirectURIs:           []string{baseURL + "/callback"},
		PostLogoutRedirectURIs: []string{baseURL + "/"},
	})
	p.AddResource(logtotest.Resource{Indicator: demoAPI, Scopes: []string{demoapi.Scope}})
	p.AddRole("reader", demoAPI, demoapi.Scope)
	p.AddOrganization(logtotest.Organization{ID: demoOrgID, Name: "Demo Org"})
	p.AddOrganizationRole("member", "read:members")
	p.AddOrganizationRoleResourceScopes("member", demoAPI, demoapi.Scope)
	p.AddUser(logtotest.User{
		ID:            demoUserID,
		Username:      demoUsername,
		Name:          "Demo User",
		Email:         "demo@example.com",
		Roles:         []string{"reader"},
		Organizations: []logtotest.Membership{{OrganizationID: demoOrgID, Roles: []string{"member"}}},
		CustomData:    map[string]any{"plan": "free"},
	})
}

// demoLogtoConfig is the configuration of the demo application.
func demoLogtoConfig(endpoint string) logto.LogtoConfig {
	return logto.LogtoConfig{
		Endpoint:  endpoint,
		AppId:     demoAppID,
		AppSecret: demoAppSecret,
		// Permissions are granted only when requested: the API's and the
		// organization role's.
		Scopes:    []string{demoapi.Scope, "read:members"},
		Resources: []string{demoAPI},
	}
}
