package reallogto

import (
	"testing"
	"time"
)

// target is a Logto the scenarios run against: the real server built from
// source (realTarget) or the SDK's fake, logtotest (fakeTarget). Both are
// set up alike: an API https://api.example.com with read:data and
// write:data, an organization whose member role grants read:org and the
// API's read:data, a Traditional web app, a Native app and an M2M app with
// both API scopes that belongs to the organization.
type target interface {
	// name is "real" or "logtotest"; the subtest names.
	name() string
	endpoint() string
	issuer() string
	webApp() app
	nativeApp() app
	m2mApp() app
	// api is the fixture API's indicator.
	api() string
	// org is the fixture organization.
	org() string

	// newUser creates a user that signs in with a password.
	newUser(t *testing.T, spec userSpec) user
	// newResource creates an API resource and grants its scopes to the
	// users through a new global role.
	newResource(t *testing.T, spec resourceSpec) string
	// grantAPIScopes gives an existing user scopes of the fixture API
	// through a new global role, as an administrator would, and returns
	// what takes that role away from the user again.
	grantAPIScopes(t *testing.T, u user, scopes ...string) (revoke func())
	// newOrganization creates an organization; members join with the
	// fixture member role.
	newOrganization(t *testing.T, members ...user) string
	// newApp registers an application.
	newApp(t *testing.T, spec appSpec) app

	// signIn completes an authorization request in b as u, the way
	// Logto's sign-in page would, and returns the redirect to the app
	// (with code or error, state and iss).
	signIn(t *testing.T, b *browser, authURL string, u user) string
	// authorizeOnly follows authURL without signing in, and returns the
	// first Location that leaves the provider's OIDC endpoints (a sign-in
	// page, or the app's redirect URI).
	authorizeOnly(t *testing.T, b *browser, authURL string) string

	// rotateSigningKey makes a new key the signing key (the old one stays
	// published) and returns both key ids.
	rotateSigningKey(t *testing.T) (newKID, oldKID string)
	// removeSigningKey unpublishes a key that is no longer the signing key.
	removeSigningKey(t *testing.T, kid string)
}

// app is a registered application.
type app struct {
	ID, Secret            string
	RedirectURI           string
	PostLogoutRedirectURI string
}

// userSpec shapes newUser.
type userSpec struct {
	// Email gives the user a primary email; without it the email claim is
	// null.
	Email bool
	// CustomData is the user's custom_data.
	CustomData map[string]any
	// Identities are social identities, by connector target, with a user id.
	Identities map[string]string
	// APIScopes of the fixture API, granted through a new global role.
	APIScopes []string
	// Organizations the user joins with the fixture member role.
	Organizations []string
}

// user is a user who can sign in.
type user struct {
	ID, Username, Password, Email, Name string
	// RoleName is the global role created for APIScopes ("" without).
	RoleName string
}

// resourceSpec shapes newResource.
type resourceSpec struct {
	TTL     time.Duration
	Scopes  []string
	GrantTo []user
}

// appSpec shapes newApp.
type appSpec struct {
	// Native makes a public client (PKCE, no secret); else Traditional.
	Native bool
	// RedirectURI and PostLogoutRedirectURI default to the fixtures'.
	RedirectURI, PostLogoutRedirectURI string
	// BackchannelLogoutURI, when set, receives logout tokens;
	// BackchannelSessionRequired asks for sid in them.
	BackchannelLogoutURI       string
	BackchannelSessionRequired bool
}

// Fixture values both targets share.
const (
	apiIndicator    = "https://api.example.com"
	appRedirectURI  = "http://127.0.0.1:3000/callback"
	appPostLogout   = "http://127.0.0.1:3000/"
	orgScope        = "read:org"
	orgMemberRole   = "org-member"
	userPassword    = "Go-SDK-pass-2026!"
	readData        = "read:data"
	writeData       = "write:data"
	organizationURN = "urn:logto:organization:"
)

// forTargets runs fn as parallel subtests against every target: the real
// server ("real") and a fresh logtotest ("logtotest"). The calling test
// becomes parallel too: only TestSigningKeyRotation, which changes the
// whole tenant's keys, runs alone before the others.
func forTargets(t *testing.T, fn func(t *testing.T, tg target)) {
	t.Helper()
	t.Parallel()
	t.Run("real", func(t *testing.T) {
		t.Parallel()
		fn(t, newRealTarget(t))
	})
	t.Run("logtotest", func(t *testing.T) {
		t.Parallel()
		fn(t, newFakeTarget(t))
	})
}
