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

// consentLocked is what Logto's consent grants a sign-in of u that
// requested scopes for resources: per resource, the requested scopes the
// resource offers the user now (the user's roles for an API resource,
// every organization scope for the organizations resource), and in all
// the requested OIDC scopes and the scopes granted for some resource.
// Refresh tokens carry the latter, and a scope outside them cannot be
// asked for at refresh (invalid_scope); tokens for a resource never
// carry more than its granted scopes, so a role the user gains after
// signing in adds to them only the scopes that were granted then.
func (s *Server) consentLocked(u *User, scopes, resources []string) ([]string, map[string][]string) {
	per := make(map[string][]string, len(resources))
	for _, r := range resources {
		var offered []string
		if r == organizationsResource {
			for _, role := range s.orgRoles {
				offered = appendUnique(offered, role.scopes...)
			}
		} else {
			offered = s.userResourceScopesLocked(u, r, "")
		}
		per[r] = intersect(scopes, offered)
	}
	granted := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		ok := contains(oidcScopes, sc)
		for _, r := range resources {
			ok = ok || contains(per[r], sc)
		}
		if ok {
			granted = append(granted, sc)
		}
	}
	return granted, per
}

// grantedFor limits scopes of a token for resource to what g granted for
// it at sign-in.
func (g *grant) grantedFor(resource string, scopes []string) []string {
	if g.resourceScopes == nil {
		return scopes
	}
	return intersect(scopes, g.resourceScopes[resource])
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
