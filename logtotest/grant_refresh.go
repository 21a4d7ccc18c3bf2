package logtotest

import (
	"net/http"
	"net/url"
)

// refreshGrantLocked handles grant_type=refresh_token, including Logto's
// organization tokens (organization_id) and API resource tokens (resource).
// The checks come in Logto's order: the organization ones before a
// rotating refresh token is consumed, the resource ones after it, so that
// a request refused with invalid_target has used up the refresh token
// without returning its successor (its next use is a reuse).
func (s *Server) refreshGrantLocked(app *App, form url.Values) (*issued, *oauthError) {
	value := form.Get("refresh_token")
	if value == "" {
		return nil, missingParam("refresh_token")
	}
	rt, g := s.liveRefreshTokenLocked(value)
	if rt == nil || rt.clientID != app.ID {
		return nil, invalidGrant()
	}
	var requested []string
	if sc := form.Get("scope"); sc != "" {
		requested = scopeList(sc)
		var missing []string
		for _, v := range requested {
			if !contains(rt.scopes, v) {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			desc := "refresh token missing requested scope"
			if len(missing) > 1 {
				desc += "s"
			}
			return nil, errorf(http.StatusBadRequest, "invalid_scope", desc).withScope(joinScopes(missing))
		}
	}
	u := s.users[g.userID]
	if u == nil || u.Suspended {
		return nil, invalidGrant()
	}
	if !s.reusableLocked(rt) {
		// Reuse of a rotated-away token: revoke the whole grant.
		s.revokeGrantLocked(g.id)
		return nil, invalidGrant()
	}

	orgID := form.Get("organization_id")
	var member Membership
	if orgID != "" {
		var ok bool
		if member, ok = u.membership(orgID); !ok {
			return nil, accessDenied("user is not a member of the organization")
		}
		if !contains(rt.scopes, scopeOrganizations) {
			return nil, errorf(http.StatusForbidden, "insufficient_scope", "refresh token missing required scope").withScope(scopeOrganizations)
		}
	}
	out := &issued{refreshToken: value}
	if s.rotatesLocked(app, rt) {
		if rt.consumedAt.IsZero() {
			rt.consumedAt = s.nowLocked()
		}
		out.refreshToken = s.rotateRefreshTokenLocked(app, rt).value
	}

	resource, e := singleResource(form, multipleResources)
	if e != nil {
		return nil, e
	}
	if resource == organizationsResource && orgID != "" {
		resource = ""
	}
	if resource != "" && (!contains(g.resources, resource) || s.resources[resource] == nil) {
		return nil, invalidTarget("")
	}
	effective := requested
	if effective == nil {
		effective = rt.scopes
	}
	switch {
	case orgID != "" && resource == "":
		scopes := intersect(effective, s.orgScopesLocked(member.Roles))
		out.atClaims = s.jwtAccessTokenClaimsLocked(u.ID, app.ID, organizationAudience(orgID), scopes, organizationTokenTTL)
		out.expiresIn = int64(organizationTokenTTL.Seconds())
		out.scope = joinScopes(scopes)
	case resource != "":
		scopes := g.grantedFor(resource, intersect(effective, s.userResourceScopesLocked(u, resource, orgID)))
		ttl := s.resourceTTLLocked(resource)
		out.atClaims = s.jwtAccessTokenClaimsLocked(u.ID, app.ID, resource, scopes, ttl)
		if orgID != "" {
			out.atClaims["organization_id"] = orgID
		}
		out.expiresIn = int64(ttl.Seconds())
		out.scope = joinScopes(scopes)
	default:
		at := s.opaqueAccessTokenLocked(g, effective)
		out.opaqueAT = at.value
		out.expiresIn = int64(s.opts.accessTTL.Seconds())
		out.scope = joinScopes(at.scopes)
	}
	if contains(effective, "openid") {
		out.idClaims = s.idTokenClaimsLocked(u, g, effective)
	}
	return out, nil
}
