package logtotest

import (
	"net/url"
	"time"
)

// clientCredentialsLocked handles grant_type=client_credentials for
// machine-to-machine apps: API resource tokens and organization tokens,
// with the requested scopes that the app's roles allow (no scope requested,
// none granted, and the answer then has no scope member, as in Logto).
func (s *Server) clientCredentialsLocked(app *App, form url.Values) (*issued, *oauthError) {
	resource, e := singleResource(form, multipleResourcesCC)
	if e != nil {
		return nil, e
	}
	orgID := form.Get("organization_id")
	if resource == "" && orgID == "" {
		return nil, invalidTarget("both `resource` and `organization_id` are not provided")
	}
	if orgID != "" && !contains(app.Organizations, orgID) {
		return nil, accessDenied("app has not associated with the organization")
	}
	var (
		avail []string
		aud   string
		ttl   time.Duration
	)
	if resource != "" {
		if s.resources[resource] == nil {
			return nil, invalidTarget("")
		}
		avail = app.ResourceScopes[resource]
		if orgID != "" {
			avail = s.orgResourceScopesLocked(app.OrganizationRoles[orgID], resource)
		}
		aud, ttl = resource, s.resourceTTLLocked(resource)
	} else {
		avail = s.orgScopesLocked(app.OrganizationRoles[orgID])
		aud, ttl = organizationAudience(orgID), organizationTokenTTL
	}
	// As in Logto, only requested scopes are granted: none without scope.
	scopes := intersect(scopeList(form.Get("scope")), avail)
	claims := s.jwtAccessTokenClaimsLocked(app.ID, app.ID, aud, scopes, ttl)
	if orgID != "" && resource != "" {
		claims["organization_id"] = orgID
	}
	return &issued{atClaims: claims, expiresIn: int64(ttl.Seconds()), scope: joinScopes(scopes), omitEmptyScope: true}, nil
}
