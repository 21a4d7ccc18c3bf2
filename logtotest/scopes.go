package logtotest

import "time"

// organizationTokenTTL is the lifetime of organization tokens (Logto's
// reserved-resource TTL).
const organizationTokenTTL = time.Hour

// organizationAudience is the aud of organization tokens.
func organizationAudience(orgID string) string { return "urn:logto:organization:" + orgID }

// userResourceScopesLocked returns the scopes of resource available to the
// user, as Logto's findUserScopesForResourceIndicator finds them: those of
// the user's global roles plus those the user's organization roles grant
// for the resource, in the organization orgID only, or in every
// organization of the user when orgID is empty (a token without
// organization_id). An organization-scoped API token is therefore not
// narrowed to the organization's role: it keeps the global-role scopes.
func (s *Server) userResourceScopesLocked(u *User, resource, orgID string) []string {
	var out []string
	for _, role := range u.Roles {
		out = appendUnique(out, s.roles[role][resource]...)
	}
	for _, m := range u.Organizations {
		if orgID == "" || m.OrganizationID == orgID {
			out = appendUnique(out, s.orgResourceScopesLocked(m.Roles, resource)...)
		}
	}
	return out
}

// orgScopesLocked returns the organization scopes of organization roles.
func (s *Server) orgScopesLocked(roles []string) []string {
	var out []string
	for _, role := range roles {
		if r := s.orgRoles[role]; r != nil {
			out = appendUnique(out, r.scopes...)
		}
	}
	return out
}

// orgResourceScopesLocked returns the scopes of resource granted by
// organization roles.
func (s *Server) orgResourceScopesLocked(roles []string, resource string) []string {
	var out []string
	for _, role := range roles {
		if r := s.orgRoles[role]; r != nil {
			out = appendUnique(out, r.resourceScopes[resource]...)
		}
	}
	return out
}

// resourceTTLLocked returns the access token lifetime for a resource.
func (s *Server) resourceTTLLocked(indicator string) time.Duration {
	if r := s.resources[indicator]; r != nil && r.AccessTokenTTL > 0 {
		return r.AccessTokenTTL
	}
	return s.opts.accessTTL
}

// maxRotatingLifetime is the total lifetime of a refresh token chain from
// which oidc-provider's default policy stops rotating (one year).
const maxRotatingLifetime = 36525 * 24 * time.Hour / 100

// rotatesLocked reports whether refreshing rt with app rotates the refresh
// token (see Rotation).
func (s *Server) rotatesLocked(app *App, rt *refreshToken) bool {
	switch app.RefreshTokenRotation {
	case RotateAlways:
		return true
	case RotateNever:
		return false
	}
	if rt.expiresAt.Sub(rt.iiat) >= maxRotatingLifetime {
		return false
	}
	if app.public() {
		return true
	}
	// oidc-provider: floor(elapsed / ttl * 100) >= 70, in whole seconds.
	iat := rt.issuedAt.Unix()
	ttl := rt.expiresAt.Unix() - iat
	if ttl <= 0 {
		return true
	}
	return (s.nowLocked().Unix()-iat)*100/ttl >= 70
}
