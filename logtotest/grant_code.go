package logtotest

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
)

// codeGrantLocked handles grant_type=authorization_code.
func (s *Server) codeGrantLocked(app *App, form url.Values) (*issued, *oauthError) {
	value, redirectURI := form.Get("code"), form.Get("redirect_uri")
	if value == "" {
		return nil, missingParam("code")
	}
	if redirectURI == "" {
		return nil, missingParam("redirect_uri")
	}
	if v := form.Get("code_verifier"); v != "" {
		if e := checkPKCEFormat(v, "code_verifier"); e != nil {
			return nil, e
		}
	}
	now := s.nowLocked()
	c := s.codes[value]
	switch {
	case c == nil, c.clientID != app.ID, !now.Before(c.expiresAt),
		redirectURI != c.redirectURI, !pkceMatches(form.Get("code_verifier"), c.challenge):
		return nil, invalidGrant()
	}
	u := s.users[c.userID]
	if u == nil || u.Suspended {
		return nil, invalidGrant()
	}
	if c.consumed {
		// Reuse: revoke what the code issued (RFC 6749 4.1.2).
		s.revokeGrantLocked(c.grantID)
		return nil, invalidGrant()
	}
	resource, e := singleResource(form, multipleResources)
	if e != nil {
		return nil, e
	}
	if resource != "" && (!contains(c.resources, resource) || s.resources[resource] == nil) {
		return nil, invalidTarget("")
	}
	c.consumed = true
	g := &grant{
		id:              randomToken(16),
		clientID:        app.ID,
		userID:          u.ID,
		sessionID:       c.sessionID,
		sid:             c.sid,
		nonce:           c.nonce,
		authTime:        c.authTime,
		includeAuthTime: c.includeAuthTime,
		scopes:          c.scopes,
		resources:       c.resources,
		resourceScopes:  c.resourceScopes,
		rtExpiry:        now.Add(s.opts.refreshTTL),
	}
	s.grants[g.id] = g
	c.grantID = g.id

	out := &issued{}
	if resource != "" {
		scopes := g.grantedFor(resource, intersect(c.scopes, s.userResourceScopesLocked(u, resource, "")))
		ttl := s.resourceTTLLocked(resource)
		out.atClaims = s.jwtAccessTokenClaimsLocked(u.ID, app.ID, resource, scopes, ttl)
		out.expiresIn = int64(ttl.Seconds())
		out.scope = joinScopes(scopes)
	} else {
		at := s.opaqueAccessTokenLocked(g, c.scopes)
		out.opaqueAT = at.value
		out.expiresIn = int64(s.opts.accessTTL.Seconds())
		out.scope = joinScopes(at.scopes)
	}
	if contains(c.scopes, "openid") {
		out.idClaims = s.idTokenClaimsLocked(u, g, c.scopes)
	}
	if contains(c.scopes, "offline_access") {
		out.refreshToken = s.newRefreshTokenLocked(g, c.scopes).value
	}
	return out, nil
}

// pkceMatches checks a code_verifier against the code's S256 challenge.
func pkceMatches(verifier, challenge string) bool {
	if challenge == "" && verifier == "" {
		return true
	}
	if challenge == "" || verifier == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}
