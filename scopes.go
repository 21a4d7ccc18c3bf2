package logto

import "fmt"

// Scopes that Logto understands. The reserved ones (openid, profile,
// offline_access) are always requested, whatever LogtoConfig.Scopes holds.
const (
	// ScopeOpenID asks for an ID token; reserved.
	ScopeOpenID = "openid"
	// ScopeProfile asks for name, username, picture and the other profile
	// claims; reserved.
	ScopeProfile = "profile"
	// ScopeOfflineAccess asks for a refresh token; reserved.
	ScopeOfflineAccess = "offline_access"
	// ScopeEmail asks for email and email_verified.
	ScopeEmail = "email"
	// ScopePhone asks for phone_number and phone_number_verified.
	ScopePhone = "phone"
	// ScopeAddress asks for address.
	ScopeAddress = "address"
	// ScopeCustomData asks for custom_data (user info only).
	ScopeCustomData = "custom_data"
	// ScopeIdentities asks for identities and sso_identities (user info only).
	ScopeIdentities = "identities"
	// ScopeRoles asks for roles.
	ScopeRoles = "roles"
	// ScopeOrganizations asks for organizations and organization_data and
	// enables organization tokens.
	ScopeOrganizations = "urn:logto:scope:organizations"
	// ScopeOrganizationRoles asks for organization_roles.
	ScopeOrganizationRoles = "urn:logto:scope:organization_roles"
	// ScopeSessions lets the default (opaque) access token manage the
	// user's sessions and grants through Logto's Account API
	// (/api/my-account/sessions, /api/my-account/grants); it adds no claims.
	ScopeSessions = "urn:logto:scope:sessions"
	// ScopeTrustedDevices lets the default (opaque) access token manage
	// the user's trusted devices (MFA "remember this device") through
	// Logto's Account API; it adds no claims.
	ScopeTrustedDevices = "urn:logto:scope:trusted_devices"
)

// ResourceOrganizations is the reserved API resource the SDK requests with
// ScopeOrganizations, so that organization tokens can be fetched later.
const ResourceOrganizations = "urn:logto:resource:organizations"

// reservedScopes are sent with every sign-in, in this order, after the
// user's own scopes.
var reservedScopes = [...]string{ScopeOpenID, ScopeOfflineAccess, ScopeProfile}

// mergeScopes returns the user's scopes followed by the reserved ones,
// without duplicates or empty values, in a stable order.
func mergeScopes(user []string) []string {
	out := make([]string, 0, len(user)+len(reservedScopes))
	seen := make(map[string]bool, len(user)+len(reservedScopes))
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range user {
		add(s)
	}
	for _, s := range reservedScopes {
		add(s)
	}
	return out
}

// mergeResources returns the configured resources, plus the reserved
// organizations resource when the organizations scope is among scopes,
// without duplicates, in a stable order.
func mergeResources(resources, scopes []string) []string {
	out := make([]string, 0, len(resources)+1)
	seen := make(map[string]bool, len(resources)+1)
	for _, r := range resources {
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	if contains(scopes, ScopeOrganizations) && !seen[ResourceOrganizations] {
		out = append(out, ResourceOrganizations)
	}
	return out
}

// checkResource refuses an API resource that is not among the configured
// ones before anything is sent: Logto spends (and for a public client
// rotates) the refresh token before it checks the resource, and answers
// invalid_target without the new refresh token, so asking for an
// unconfigured resource would end the session. "" (the opaque token for
// the user info endpoint) is always allowed.
func (c *core) checkResource(resource string) error {
	if resource == "" || contains(c.cfg.Resources, resource) {
		return nil
	}
	return fmt.Errorf("%w: %q (add it to LogtoConfig.Resources, and sign in again so that the grant includes it)", ErrResourceNotConfigured, resource)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
