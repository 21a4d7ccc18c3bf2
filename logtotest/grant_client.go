package logtotest

import (
	"net/url"
	"time"
)

// clientCredentialsLocked handles grant_type=client_credentials for
// machine-to-machine apps: API resource tokens and organization tokens.
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
	scopes := intersect(avail, avail) // a de-duplicated copy
	if sc := form.Get("scope"); sc != "" {
		scopes = intersect(scopeList(sc), avail)
	}
	claims := s.jwtAccessTokenClaimsLocked(app.ID, app.ID, aud, scopes, ttl)
	if orgID != "" && resource != "" {
		claims["organization_id"] = orgID
	}
	return &issued{atClaims: claims, expiresIn: int64(ttl.Seconds()), scope: joinScopes(scopes)}, nil
}
